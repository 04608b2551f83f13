// The default device policy: which nodes appear in the container's /dev and what the cgroup allows.
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
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
];
