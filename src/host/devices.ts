// The host's device nodes a container's DEVNODES names: their type and numbers, read once at
// start (the container then gets a bind of the node and a devices cgroup rule for it).
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import type { DevNode, HostDevice } from '../core/devices.ts';
import { BerthError } from '../core/errors.ts';
import type { HostNode } from '../core/oci-devices.ts';
import type { Host } from './host.ts';
import type { Paths } from './paths.ts';

export function hostDevices(nodes: readonly DevNode[], what: string): HostDevice[] {
  const out: HostDevice[] = [];
  for (const n of nodes) {
    if (n.perm === 'none') continue;
    const path = `/dev/${n.name}`;
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(path);
    } catch {}
    if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) {
      throw new BerthError('BAD_VALUE', `${what}: ${path} (DEVNODES or FEATURES) is not a device node on this host`, {
        hint: `load its driver (modprobe), or take it back: berth set CTID --devnodes ${n.name}:none (or --features NAME:off) --save`,
      });
    }
    out.push({
      name: n.name,
      type: st.isCharacterDevice() ? 'c' : 'b',
      ...deviceNumbers(Number(st.rdev)),
      perm: n.perm,
      mode: Number(st.mode) & 0o777,
      source: path,
    });
  }
  return out;
}

/** the kernel's new_encode_dev split: 12 bits of major, 20 of minor */
const deviceNumbers = (rdev: number) => ({
  major: (rdev >> 8) & 0xfff,
  minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
});

/** The node at PATH (a link followed, as a bind of it would), or null: none, or no node. */
export function hostNode(path: string): HostNode | null {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : null;
  return type && { type, ...deviceNumbers(Number(st.rdev)) };
}

/** Where an unprivileged container's own device nodes are made: not /run, which is nodev. */
export const ownNodesDir = (p: Paths, id: CtId) => join(p.lib, 'devices', id);

/**
 * An unprivileged container's root does not own the host's nodes (root's, often 0600: the host's
 * /dev/net/tun is root-only here), so it gets nodes of its own: made afresh at each start, owned by
 * its root (idBase), with the host node's mode. The devices cgroup still decides what it opens.
 */
export function ownDeviceNodes(host: Host, p: Paths, id: CtId, idBase: number, devices: HostDevice[]): HostDevice[] {
  const dir = ownNodesDir(p, id);
  removeOwnNodes(p, id);
  if (devices.length === 0) return devices;
  return devices.map((d) => {
    const node = join(dir, d.name);
    mkdirSync(dirname(node), { recursive: true, mode: 0o700 });
    const r = host.tool('mknod', [node, d.type, String(d.major), String(d.minor)]);
    if (r.status !== 0) throw new BerthError('SYSTEM', `start ${id}: mknod ${node}: ${r.stderr.trim()}`);
    chmodSync(node, d.mode);
    host.chown(node, idBase, idBase);
    return { ...d, source: node };
  });
}

export function removeOwnNodes(p: Paths, id: CtId): void {
  rmSync(ownNodesDir(p, id), { recursive: true, force: true });
}
