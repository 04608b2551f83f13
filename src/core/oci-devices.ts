// linux.devices and linux.resources.devices: the nodes a spec gives its container (Docker's
// --device, a device plugin's) and the devices-cgroup lines that let it open them. Pure: the
// host's nodes come in as facts.
import { BerthError } from './errors.ts';
import type { MountOp } from './mounts.ts';
import type { OciDevice } from './oci-spec.ts';

/** A node as stat saw it on the host: its type and numbers. */
export interface HostNode {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
}

/** type u is an unbuffered character device: to the kernel, a character one */
const nodeType = (d: OciDevice): HostNode['type'] => (d.type === 'u' ? 'c' : (d.type as HostNode['type']));

/**
 * Each node as the helper makes it. In a user namespace the kernel refuses mknod of a device,
 * so the host's node of that path is bound in when it is that very device (runc does the same),
 * keeping the host's mode and owner; without one, the node is made with the spec's mode (0666
 * when none) and owner. A FIFO is made in either case (mknod allows it).
 */
export function ociDeviceOps(
  devices: readonly OciDevice[],
  f: { userns: boolean; hostNodes: Readonly<Record<string, HostNode | null>> },
): MountOp[] {
  return devices.map((d, i): MountOp => {
    const type = nodeType(d);
    const host = f.hostNodes[d.path] ?? null;
    if (f.userns && type !== 'p') {
      if (!host || host.type !== type || host.major !== d.major || host.minor !== d.minor) {
        throw new BerthError(
          'BAD_VALUE',
          `config.json: linux.devices[${i}]: ${d.path} (${type} ${d.major}:${d.minor}) is not that device on the host`,
          {
            hint: 'a container with a user namespace (a system container) gets the host node of the same path bound in; give the host path, or annotate berth.io/system: "false"',
          },
        );
      }
      return { op: 'bind', source: d.path, dest: d.path, options: 'nosuid,noexec' };
    }
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    const numbers = type === 'p' ? '0 0' : `${d.major} ${d.minor}`;
    return { op: 'mknod', dest: d.path, node: `${type} ${numbers} ${mode.toString(8)} ${d.uid} ${d.gid}` };
  });
}

const badRule = (i: number, why: string) =>
  new BerthError('BAD_VALUE', `config.json: linux.resources.devices[${i}]: ${why}`);

/**
 * The devices-cgroup lines (v1 devices.allow) the spec adds to berth's own: one per node it
 * gives, and its allow rules (Docker's --device-cgroup-rule; type "a" is every device, a
 * privileged container's). Its deny rules are berth's already: the list starts from deny-all.
 */
export function ociDeviceRules(devices: readonly OciDevice[], resources: Record<string, unknown>): string[] {
  const nodes = devices.flatMap((d) => {
    const type = nodeType(d);
    return type === 'p' ? [] : [`${type} ${d.major}:${d.minor} rwm`];
  });
  const rules = resources['devices'] ?? [];
  if (!Array.isArray(rules)) throw badRule(0, 'linux.resources.devices must be a list');
  const allowed = rules.flatMap((r: unknown, i): string[] => {
    if (typeof r !== 'object' || r === null) throw badRule(i, 'must be an object');
    const o = r as Record<string, unknown>;
    if (typeof o['allow'] !== 'boolean') throw badRule(i, 'allow must be true or false');
    if (!o['allow']) return [];
    const type = o['type'] ?? 'a';
    if (type !== 'a' && type !== 'b' && type !== 'c') throw badRule(i, 'type must be a, b or c');
    const num = (k: string): string => {
      const v = o[k];
      if (v === undefined || v === null || v === -1) return '*';
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffff) throw badRule(i, `${k}: not a number`);
      return String(v);
    };
    const access = o['access'] ?? 'rwm';
    if (typeof access !== 'string' || !/^[rwm]{1,3}$/.test(access)) throw badRule(i, 'access must be of r, w and m');
    return [`${type} ${num('major')}:${num('minor')} ${access}`];
  });
  return [...new Set([...nodes, ...allowed])];
}
