// The default seccomp policy, as the text format berth-nsexec reads on --seccomp-fd.

/**
 * System calls that act on the whole host (or leak it); they fail with EPERM. Each is named with
 * every entry point that reaches the same kernel code (the i386 ABI's own names included: the
 * filter covers the i386 and x32 ABIs too), so that no twin stays open; the unit test checks
 * this list against a table of those twins.
 */
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
  'quotactl_fd',
  'nfsservctl',
  'userfaultfd',
  'fanotify_init',
  'syslog',
  // the clock: stime, clock_settime64 and clock_adjtime64 are the i386 ABI's entry points
  'settimeofday',
  'stime',
  'clock_settime',
  'clock_settime64',
  'clock_adjtime',
  'clock_adjtime64',
  'adjtimex',
  'vm86',
  'vm86old',
  'uselib',
] as const;

/**
 * ENOSYS makes callers fall back quietly: the kernel keyring is not namespaced (systemd and
 * friends then do without), and io_uring is a large, often-exploited surface of the kernel
 * that containers rarely need (Docker refuses it too; liburing users fall back to epoll).
 */
export const DENY_ENOSYS = [
  'add_key',
  'keyctl',
  'request_key',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
] as const;

export const EPERM = 1;
export const ENOSYS = 38;

/** Answered by the container's keeper (SYSINFO="yes"): the container's figures, not the host's. */
export const NOTIFY = ['sysinfo'] as const;

/**
 * Compat architectures are listed so the same rules also cover 32-bit entry points (without
 * them, a call through another ABI is killed with SIGSYS, libseccomp's default). A name that
 * is not a syscall of one ABI (stime on x86_64) applies to the others only. notify rules need a
 * supervisor: the helper skips them where there is no keeper to answer.
 */
export function seccompPolicy(arch: string, opts: { sysinfo?: boolean } = {}): string {
  const lines = ['# berth default seccomp policy', 'default allow'];
  if (arch === 'x64') lines.push('arch x86', 'arch x32');
  for (const s of DENY_EPERM) lines.push(`errno ${EPERM} ${s}`);
  for (const s of DENY_ENOSYS) lines.push(`errno ${ENOSYS} ${s}`);
  if (opts.sysinfo) for (const s of NOTIFY) lines.push(`notify ${s}`);
  return `${lines.join('\n')}\n`;
}
