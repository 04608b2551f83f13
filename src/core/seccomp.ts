// The default seccomp policy, as the text format berth-nsexec reads on --seccomp-fd.

/** System calls that act on the whole host (or leak it); they fail with EPERM. */
export const DENY_EPERM = [
  'kexec_load',
  'kexec_file_load',
  'open_by_handle_at',
  'init_module',
  'finit_module',
  'delete_module',
  'iopl',
  'ioperm',
  'swapon',
  'swapoff',
  'bpf',
  'perf_event_open',
  'acct',
  'lookup_dcookie',
  'quotactl',
  'nfsservctl',
  'userfaultfd',
  'fanotify_init',
  'syslog',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'vm86',
  'vm86old',
  'uselib',
] as const;

/** The kernel keyring is not namespaced; ENOSYS makes systemd and friends fall back quietly. */
export const DENY_ENOSYS = ['add_key', 'keyctl', 'request_key'] as const;

const EPERM = 1;
const ENOSYS = 38;

/** Compat architectures are listed so the same rules also cover 32-bit entry points. */
export function seccompPolicy(arch: string): string {
  const lines = ['# berth default seccomp policy', 'default allow'];
  if (arch === 'x64') lines.push('arch x86', 'arch x32');
  for (const s of DENY_EPERM) lines.push(`errno ${EPERM} ${s}`);
  for (const s of DENY_ENOSYS) lines.push(`errno ${ENOSYS} ${s}`);
  return `${lines.join('\n')}\n`;
}
