// The seccomp policy names every twin of each syscall it refuses: the other entry points (the
// i386 ABI's own, newer variants) that reach the same kernel code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DENY_ENOSYS, DENY_EPERM, seccompPolicy } from '../../../src/core/seccomp.ts';

/**
 * For each syscall the policy may name, the syscalls that reach the same kernel operation by
 * another door (arch/x86/entry/syscalls/syscall_32.tbl and syscall_64.tbl, Linux 6.x). Every
 * named syscall must have an entry here, so that a name added to the policy is checked too;
 * an empty list says "looked at: no twin" (with why).
 */
const TWINS: Record<string, readonly string[]> = {
  // the clock: i386 has stime (whole seconds) and the time64 entry points 404/405 beside its
  // time32 ones; adjtimex and clock_adjtime reach the same do_adjtimex
  settimeofday: ['stime', 'clock_settime', 'clock_settime64'],
  stime: ['settimeofday'],
  clock_settime: ['clock_settime64', 'settimeofday'],
  clock_settime64: ['clock_settime'],
  clock_adjtime: ['clock_adjtime64', 'adjtimex'],
  clock_adjtime64: ['clock_adjtime'],
  adjtimex: ['clock_adjtime', 'clock_adjtime64'],
  // kernel code and images
  kexec_load: ['kexec_file_load'],
  kexec_file_load: ['kexec_load'],
  init_module: ['finit_module', 'delete_module'],
  finit_module: ['init_module', 'delete_module'],
  delete_module: ['init_module', 'finit_module'],
  // create_module, query_module, get_kernel_syms: in the tables but sys_ni_syscall (ENOSYS)
  // hardware access: i386's vm86 and vm86old are the way to port I/O iopl gives on x86_64
  iopl: ['ioperm', 'vm86', 'vm86old'],
  ioperm: ['iopl'],
  vm86: ['vm86old', 'iopl'],
  vm86old: ['vm86', 'iopl'],
  swapon: ['swapoff'],
  swapoff: ['swapon'],
  // quotactl_fd (Linux 5.14) does quotactl's operations on an fd of the filesystem
  quotactl: ['quotactl_fd'],
  quotactl_fd: ['quotactl'],
  // a file handle opens any inode of the filesystem; name_to_handle_at only makes one (no twin)
  open_by_handle_at: [],
  // fanotify_mark needs the fd fanotify_init gives
  fanotify_init: [],
  bpf: [],
  perf_event_open: [],
  acct: [],
  lookup_dcookie: [],
  nfsservctl: [],
  userfaultfd: [],
  syslog: [],
  uselib: [],
  // the keyring: one family, refused together
  add_key: ['keyctl', 'request_key'],
  keyctl: ['add_key', 'request_key'],
  request_key: ['add_key', 'keyctl'],
  // io_uring: enter and register need the ring setup makes; refused together all the same
  io_uring_setup: ['io_uring_enter', 'io_uring_register'],
  io_uring_enter: ['io_uring_setup', 'io_uring_register'],
  io_uring_register: ['io_uring_setup', 'io_uring_enter'],
};

/** name -> the errno the policy gives it */
function named(policy: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of policy.split('\n')) {
    const r = /^errno (\d+) (\S+)$/.exec(line);
    if (r) m.set(r[2] ?? '', Number(r[1]));
  }
  return m;
}

test('every syscall the policy refuses has its twins refused the same way', () => {
  const m = named(seccompPolicy('x64'));
  const missing: string[] = [];
  for (const [name, errno] of m) {
    const twins = TWINS[name];
    if (!twins) {
      missing.push(`${name}: not in the twin table (look its twins up and add it)`);
      continue;
    }
    for (const t of twins) {
      if (m.get(t) !== errno)
        missing.push(`${name} (errno ${errno}): twin ${t} is ${m.has(t) ? `errno ${m.get(t)}` : 'not named'}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('the 32-bit clock entry points are named; the policy lists each syscall once', () => {
  const m = named(seccompPolicy('x64'));
  for (const s of ['stime', 'clock_settime64', 'clock_adjtime64', 'quotactl_fd']) assert.equal(m.get(s), 1, s);
  const all = [...DENY_EPERM, ...DENY_ENOSYS];
  assert.equal(new Set(all).size, all.length);
  assert.equal(m.size, all.length);
});

test('the i386 and x32 ABIs are filtered on x86_64 only', () => {
  assert.match(seccompPolicy('x64'), /^# .*\ndefault allow\narch x86\narch x32\n/);
  assert.doesNotMatch(seccompPolicy('arm64'), /^arch /m);
});

test('without nesting: no new UTS or IPC namespace by clone or unshare, clone3 answered ENOSYS', () => {
  const p = seccompPolicy('x64', { nesting: false });
  for (const call of ['unshare', 'clone']) {
    assert.match(p, new RegExp(`^errno 1 ${call} 0 masked_eq 67108864 67108864$`, 'm'));
    assert.match(p, new RegExp(`^errno 1 ${call} 0 masked_eq 134217728 134217728$`, 'm'));
  }
  assert.match(p, /^errno 38 clone3$/m);
  for (const opts of [{}, { nesting: true }]) assert.doesNotMatch(seccompPolicy('x64', opts), /clone|unshare/);
});
