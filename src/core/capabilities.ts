// The default capability bounding set of a container: everything except what reaches past it.
import { BerthError } from './errors.ts';
export const ALL_CAPS = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
] as const;

export type Capability = (typeof ALL_CAPS)[number];

/** Each of these acts on the whole host, not on the container's namespaces. */
export const DEFAULT_DROP: readonly Capability[] = [
  'sys_module', // load kernel modules
  'sys_rawio', // raw I/O ports and /dev/mem
  'sys_time', // set the host clock
  'sys_pacct', // process accounting for the host
  'mac_admin', // change the host's LSM policy
  'mac_override',
  'audit_control', // host audit rules
  'syslog', // read/clear the host kernel log
  'wake_alarm',
  'block_suspend',
  'bpf', // load BPF programs into the host kernel
  'perfmon', // observe host-wide performance events
];

/**
 * The capabilities a container keeps: all but the dropped ones, and only those berth itself
 * holds (a container cannot be given what its creator lacks; capset would fail with EPERM).
 * `available` is the CapPrm mask of berth's own process.
 */
export function keptCapabilities(available: bigint, drop: readonly string[] = DEFAULT_DROP): Capability[] {
  return ALL_CAPS.filter((c, bit) => !drop.includes(c) && ((available >> BigInt(bit)) & 1n) === 1n);
}

/** One CAPABILITY entry (vzctl's --capability NAME:on|off). */
export interface CapOverride {
  cap: Capability;
  on: boolean;
}

/** "net_admin:off SYS_TIME:on" (vzctl's CAPABILITY; names with or without CAP_, any case). */
export function parseCapabilities(raw: string): CapOverride[] {
  const out: CapOverride[] = [];
  for (const word of raw.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(?:cap_)?([a-z_]+):(on|off)$/i.exec(word);
    const cap = m?.[1]?.toLowerCase() as Capability | undefined;
    if (!m || !cap || !ALL_CAPS.includes(cap)) {
      throw new BerthError('BAD_VALUE', `invalid capability ${JSON.stringify(word)}`, {
        hint: `NAME:on or NAME:off, NAME one of ${ALL_CAPS.join(' ')}`,
      });
    }
    const on = m[2]?.toLowerCase() === 'on';
    const at = out.findIndex((o) => o.cap === cap);
    if (at >= 0) out.splice(at, 1);
    out.push({ cap, on });
  }
  return out;
}

export const formatCapabilities = (list: readonly CapOverride[]) =>
  list.map((o) => `${o.cap}:${o.on ? 'on' : 'off'}`).join(' ');

/** The default drop list with a container's CAPABILITY applied. */
export function dropsWith(overrides: readonly CapOverride[]): Capability[] {
  const drop = new Set<Capability>(DEFAULT_DROP);
  for (const o of overrides) o.on ? drop.delete(o.cap) : drop.add(o.cap);
  return [...drop];
}
