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

/** CLONE_NEWUTS and CLONE_NEWIPC (linux/sched.h) */
export const NEW_UTS_IPC = [0x04000000, 0x08000000] as const;

/**
 * Refusing new UTS and IPC namespaces keeps a container checkpointable: CRIU dumps nested mount
 * and network namespaces but not nested UTS or IPC ones, and systemd makes one for every unit
 * with ProtectHostname= (systemd-logind, -hostnamed, -timesyncd...). systemd takes an EPERM as
 * "container manager forbids it" and runs the unit without it (its seccomp sethostname guard
 * stays). clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libc fall back
 * to clone, as under Docker's default profile. FEATURES nesting lifts this (nested container
 * managers need those namespaces) and gives up checkpoints.
 */
function nestedNsRules(): string[] {
  const rules: string[] = [];
  for (const flag of NEW_UTS_IPC) {
    // clone's and unshare's flags are argument 0 on every ABI the filter covers (x86, x32, arm64)
    for (const call of ['unshare', 'clone']) rules.push(`errno ${EPERM} ${call} 0 masked_eq ${flag} ${flag}`);
  }
  rules.push(`errno ${ENOSYS} clone3`);
  return rules;
}

/** Answered by the container's keeper (SYSINFO="yes"): the container's figures, not the host's. */
export const NOTIFY = ['sysinfo'] as const;

/**
 * Compat architectures are listed so the same rules also cover 32-bit entry points (without
 * them, a call through another ABI is killed with SIGSYS, libseccomp's default). A name that
 * is not a syscall of one ABI (stime on x86_64) applies to the others only. notify rules need a
 * supervisor: the helper skips them where there is no keeper to answer. nesting: false adds
 * the refusal of new UTS and IPC namespaces (berth's containers without FEATURES nesting).
 */
export function seccompPolicy(arch: string, opts: { sysinfo?: boolean; nesting?: boolean } = {}): string {
  const lines = ['# berth default seccomp policy', 'default allow'];
  if (arch === 'x64') lines.push('arch x86', 'arch x32');
  for (const s of DENY_EPERM) lines.push(`errno ${EPERM} ${s}`);
  for (const s of DENY_ENOSYS) lines.push(`errno ${ENOSYS} ${s}`);
  if (opts.nesting === false) lines.push(...nestedNsRules());
  if (opts.sysinfo) for (const s of NOTIFY) lines.push(`notify ${s}`);
  return `${lines.join('\n')}\n`;
}
