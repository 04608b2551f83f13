// The host's device nodes a container's DEVNODES names: their type and numbers, read once at
// start (the container then gets a bind of the node and a devices cgroup rule for it).
import { statSync } from 'node:fs';
import type { DevNode, HostDevice } from '../core/devices.ts';
import { BerthError } from '../core/errors.ts';

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
      throw new BerthError('BAD_VALUE', `${what}: DEVNODES names ${path}, which is not a device node on this host`, {
        hint: `load its driver (modprobe), or remove it: berth set CTID --devnodes ${n.name}:none --save`,
      });
    }
    const rdev = Number(st.rdev);
    out.push({
      name: n.name,
      type: st.isCharacterDevice() ? 'c' : 'b',
      // the kernel's new_encode_dev split: 12 bits of major, 20 of minor
      major: (rdev >> 8) & 0xfff,
      minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
      perm: n.perm,
    });
  }
  return out;
}
