// The default device policy: which nodes appear in the container's /dev and what the cgroup allows.
import { BerthError } from './errors.ts';
export interface DeviceNode {
  /** path inside the container, bind-mounted from the same host path */
  path: string;
  rule: string;
}

/** Nodes bind-mounted from the host into the container's fresh tmpfs /dev. */
export const DEFAULT_DEVICES: readonly DeviceNode[] = [
  { path: '/dev/null', rule: 'c 1:3 rwm' },
  { path: '/dev/zero', rule: 'c 1:5 rwm' },
  { path: '/dev/full', rule: 'c 1:7 rwm' },
  { path: '/dev/random', rule: 'c 1:8 rwm' },
  { path: '/dev/urandom', rule: 'c 1:9 rwm' },
  { path: '/dev/tty', rule: 'c 5:0 rwm' },
];

/**
 * The devices cgroup allow-list (v1 devices.allow lines) after a deny-all. mknod of any node is
 * allowed (udev-less distros create their own), but only these nodes can be opened.
 */
export const DEVICE_ALLOW: readonly string[] = [
  'c *:* m',
  'b *:* m',
  ...DEFAULT_DEVICES.map((d) => d.rule),
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
];

/** One DEVNODES entry (vzctl's --devnodes NAME:r|w|rw|none): a host node under /dev. */
export interface DevNode {
  /** path under /dev, e.g. "fuse" or "net/tun" */
  name: string;
  perm: 'r' | 'w' | 'rw' | 'none';
}

/** "fuse:rw net/tun:rw" (vzctl's DEVNODES). */
export function parseDevnodes(raw: string): DevNode[] {
  const out: DevNode[] = [];
  for (const word of raw.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(?:\/dev\/)?([A-Za-z0-9_][A-Za-z0-9_.+-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*):(r|w|rw|none)$/.exec(
      word,
    );
    if (!m?.[1] || !m[2] || m[1].split('/').includes('..')) {
      throw new BerthError('BAD_VALUE', `invalid device node ${JSON.stringify(word)}`, {
        hint: 'NAME:r|w|rw|none with NAME under /dev, e.g. fuse:rw or net/tun:rw',
      });
    }
    const at = out.findIndex((d) => d.name === m[1]);
    if (at >= 0) out.splice(at, 1);
    out.push({ name: m[1], perm: m[2] as DevNode['perm'] });
  }
  return out;
}

export const formatDevnodes = (list: readonly DevNode[]) => list.map((d) => `${d.name}:${d.perm}`).join(' ');

/** A host device node as berth found it (type and numbers from stat). */
export interface HostDevice {
  name: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  perm: 'r' | 'w' | 'rw';
  /** its permission bits on the host */
  mode: number;
  /** the host node bound in as /dev/NAME: /dev/NAME itself, or the container root's own copy */
  source: string;
}

/** The devices cgroup line that lets the container open it. */
export const deviceRule = (d: HostDevice) => `${d.type} ${d.major}:${d.minor} ${d.perm}m`;
