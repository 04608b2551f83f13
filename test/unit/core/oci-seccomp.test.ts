// linux.seccomp as berth-nsexec's policy text (core/oci-seccomp.ts), and which policy applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { defaultSpec } from '../../../src/core/oci-default.ts';
import { ociSeccompPolicy, parseSeccomp, profilePolicy } from '../../../src/core/oci-seccomp.ts';
import { parseSpec } from '../../../src/core/oci-spec.ts';
import { systemSpec } from '../../../src/core/oci-system.ts';
import { DENY_ENOSYS, DENY_EPERM, seccompPolicy } from '../../../src/core/seccomp.ts';
import { DOCKER_SECCOMP } from './docker-seccomp.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test edits the JSON freely
type Config = any;
const policy = (seccomp: Config) => profilePolicy(parseSeccomp(seccomp));
const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
const spec = (edit: (c: Config) => void = () => {}) => {
  const c: Config = defaultSpec();
  c.linux.seccomp = structuredClone(DOCKER_SECCOMP);
  edit(c);
  return parseSpec(JSON.stringify(c));
};

test("Docker's default profile: its allow list, personality's and clone's argument rules, clone3's ENOSYS", () => {
  const l = lines(policy(structuredClone(DOCKER_SECCOMP)));
  assert.deepEqual(l.slice(0, 4), ['default errno 1', 'arch x86_64', 'arch x86', 'arch x32']);
  const allowed = DOCKER_SECCOMP.syscalls[0]?.names ?? [];
  assert.ok(allowed.length > 300);
  for (const name of allowed) assert.ok(l.includes(`rule allow ${name}`), name);
  // five entries, each one value of its argument: any of them lets it through
  assert.deepEqual(
    l.filter((x) => x.includes(' personality')),
    [0, 8, 131072, 131080, 4294967295].map((v) => `rule allow personality 0 eq ${v}`),
  );
  // masked_eq: the mask (value), then the value it must give (valueTwo, 0 when absent)
  assert.ok(l.includes('rule allow clone 0 masked_eq 2114060288 0'));
  assert.ok(l.includes('rule errno 38 clone3'));
  // one rule per name of each entry (none has two conditions on one argument)
  assert.equal(l.length, 4 + DOCKER_SECCOMP.syscalls.reduce((n, s) => n + s.names.length, 0));
});

test('every action and its number; conditions on distinct arguments make one rule, all of which must hold', () => {
  const text = policy({
    defaultAction: 'SCMP_ACT_KILL_PROCESS',
    architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' },
      { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['kill'], action: 'SCMP_ACT_KILL' },
      { names: ['tkill'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['reboot'], action: 'SCMP_ACT_TRAP' },
      { names: ['uname'], action: 'SCMP_ACT_LOG' },
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 0xff, valueTwo: 1, op: 'SCMP_CMP_MASKED_EQ' },
          { index: 2, value: 9007199254740991, valueTwo: 5, op: 'SCMP_CMP_LE' },
        ],
      },
    ],
  });
  assert.deepEqual(lines(text), [
    'default kill_process',
    'arch aarch64',
    'arch arm',
    'flag log',
    'flag spec_allow',
    'rule allow read',
    'rule allow write',
    'rule errno 1 mkdir',
    'rule errno 13 mkdirat',
    'rule trace 7 ptrace',
    'rule kill_thread kill',
    'rule kill_thread tkill',
    'rule trap reboot',
    'rule log uname',
    // valueTwo only where the operator reads it
    'rule allow socket 0 eq 2 1 masked_eq 255 1 2 le 9007199254740991',
  ]);
});

test('as runc: once two conditions test the same argument, each condition is a rule of its own', () => {
  const l = lines(
    policy({
      defaultAction: 'SCMP_ACT_ALLOW',
      defaultErrnoRet: undefined,
      syscalls: [
        {
          names: ['setsockopt'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 1, value: 0, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 41, op: 'SCMP_CMP_EQ' },
            { index: 2, value: 64, op: 'SCMP_CMP_GT' },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(l.slice(1), [
    'rule errno 1 setsockopt 1 eq 0',
    'rule errno 1 setsockopt 1 eq 41',
    'rule errno 1 setsockopt 2 gt 64',
  ]);
});

test('defaultErrnoRet; a rule that does what the default does is left out (libseccomp refuses it)', () => {
  const l = lines(
    policy({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { names: ['umount2'], action: 'SCMP_ACT_ERRNO' },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
      ],
    }),
  );
  assert.deepEqual(l, ['default errno 38', 'rule errno 1 umount2', 'rule allow getpid']);
});

test('refusals name the field and say why', () => {
  const base = { defaultAction: 'SCMP_ACT_ALLOW' };
  const bad = (extra: Config, where: RegExp) =>
    assert.throws(
      () => parseSeccomp({ ...base, ...extra }),
      (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE' && where.test(e.message),
      JSON.stringify(extra),
    );
  const rule = (r: Config) => ({
    syscalls: [
      { names: ['a'], action: 'SCMP_ACT_ALLOW' },
      ...[1, 2].map(() => ({ names: ['b'], action: 'SCMP_ACT_LOG' })),
      r,
    ],
  });
  bad(
    { defaultAction: 'SCMP_ACT_MAYBE' },
    /^config\.json: linux\.seccomp\.defaultAction: "SCMP_ACT_MAYBE" is no action/,
  );
  bad({ defaultAction: undefined }, /linux\.seccomp\.defaultAction: undefined is no action/);
  bad({ defaultErrnoRet: 1 }, /linux\.seccomp\.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno/);
  bad(
    rule({ names: ['x'], action: 'SCMP_ACT_FOO' }),
    /^config\.json: linux\.seccomp\.syscalls\[3\]\.action: "SCMP_ACT_FOO"/,
  );
  bad(
    rule({ names: ['x'], action: 'SCMP_ACT_NOTIFY' }),
    /syscalls\[3\]\.action: SCMP_ACT_NOTIFY is not supported by berth-oci yet/,
  );
  bad({ listenerPath: '/run/agent.sock' }, /linux\.seccomp\.listenerPath: .* not supported by berth-oci yet/);
  bad(
    rule({ names: ['x'], action: 'SCMP_ACT_KILL', errnoRet: 1 }),
    /syscalls\[3\]\.errnoRet: SCMP_ACT_KILL takes no errno/,
  );
  bad(
    rule({ names: ['x'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }),
    /syscalls\[3\]\.errnoRet: must be a whole number from 0 to 65535/,
  );
  bad(rule({ names: [], action: 'SCMP_ACT_ALLOW' }), /syscalls\[3\]\.names: must name a syscall/);
  bad(
    rule({ names: ['ok', 'rm -rf'], action: 'SCMP_ACT_ALLOW' }),
    /syscalls\[3\]\.names\[1\]: "rm -rf" is no syscall name/,
  );
  bad(rule({ names: ['x\nrule allow y'], action: 'SCMP_ACT_ALLOW' }), /syscalls\[3\]\.names\[0\]/);
  bad(
    { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_VAX'] },
    /linux\.seccomp\.architectures\[1\]: "SCMP_ARCH_VAX" is no architecture/,
  );
  bad({ flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, /linux\.seccomp\.flags\[0\]: .* is no flag/);
  const arg = (a: Config) =>
    rule({ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, a] });
  bad(
    arg({ index: 6, value: 1, op: 'SCMP_CMP_EQ' }),
    /syscalls\[3\]\.args\[1\]\.index: must be a whole number from 0 to 5/,
  );
  bad(
    arg({ index: 1, value: 1, op: 'SCMP_CMP_SIMILAR' }),
    /syscalls\[3\]\.args\[1\]\.op: "SCMP_CMP_SIMILAR" is no operator/,
  );
  bad(arg({ index: 1, value: -1, op: 'SCMP_CMP_EQ' }), /args\[1\]\.value: must be a whole number from 0 to 2\^64-1/);
  bad(arg({ index: 1, op: 'SCMP_CMP_EQ' }), /args\[1\]\.value: must be a whole number/);
  // JSON numbers past 2^53 arrive rounded: 2^64-1 is read as 2^64, a filter of another value
  const max = JSON.parse('{"index": 1, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}');
  assert.equal(max.value, 2 ** 64);
  bad(arg(max), /args\[1\]\.value: .* past 2\^53-1/);
  bad(arg({ index: 1, value: 1, valueTwo: 2 ** 60, op: 'SCMP_CMP_MASKED_EQ' }), /args\[1\]\.valueTwo: .* past 2\^53-1/);
  bad({ syscalls: {} }, /linux\.seccomp\.syscalls: must be a list/);
  // the same conditions with two actions: libseccomp would refuse it only once the process runs
  const twice = (action: string) => ({ names: ['mkdir'], action, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] });
  bad(
    { syscalls: [twice('SCMP_ACT_LOG'), twice('SCMP_ACT_LOG'), twice('SCMP_ACT_ERRNO')] },
    /linux\.seccomp\.syscalls\[2\]: mkdir: 0 eq 1 is given another action in syscalls\[0\]/,
  );
  // config.json's parse refuses it, before anything is made
  assert.throws(
    () => spec((c) => (c.linux.seccomp.syscalls[1].action = 'SCMP_ACT_NOTIFY')),
    /linux\.seccomp\.syscalls\[1\]\.action: SCMP_ACT_NOTIFY is not supported/,
  );
});

test("which policy: berth's without linux.seccomp or where the engine's capabilities became berth's; else the spec's", () => {
  const berths = seccompPolicy('x64', { sysinfo: false });
  const docker = policy(structuredClone(DOCKER_SECCOMP));
  assert.equal(
    ociSeccompPolicy(
      spec((c) => delete c.linux.seccomp),
      false,
      'x64',
    ),
    berths,
  );
  assert.equal(
    ociSeccompPolicy(
      spec((c) => delete c.linux.seccomp),
      true,
      'x64',
    ),
    berths,
  );
  // a system container given the engine's default set: berth's capabilities, berth's policy
  const engine = systemSpec(spec(), 1048576);
  assert.ok(engine.process?.capabilities.includes('CAP_SYS_ADMIN'));
  assert.equal(engine.linux.seccomp, null);
  assert.equal(ociSeccompPolicy(engine, true, 'x64'), berths);
  // not a system container: the profile as it is
  assert.equal(ociSeccompPolicy(spec(), false, 'x64'), docker);
  // a set of its own: the spec's profile, with berth's refusals over it
  const own = systemSpec(
    spec((c) => (c.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] })),
    1048576,
  );
  assert.deepEqual(own.process?.capabilities, ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  const l = lines(ociSeccompPolicy(own, true, 'x64'));
  assert.ok(l.includes('default errno 1') && l.includes('arch x32'));
  // Docker allows the keyring and io_uring: berth's ENOSYS replaces that
  for (const name of DENY_ENOSYS)
    assert.deepEqual(
      l.filter((x) => x.endsWith(` ${name}`)),
      [`rule errno 38 ${name}`],
    );
  // berth's EPERM is Docker's default here: no rule at all, whatever the profile said of them
  for (const name of DENY_EPERM)
    assert.deepEqual(
      l.filter((x) => x.endsWith(` ${name}`)),
      [],
      name,
    );
  assert.ok(l.includes('rule allow personality 0 eq 8') && l.includes('rule allow mkdir'));
  // over a profile that allows by default, berth's EPERM rules are there
  const allowAll = systemSpec(
    spec((c) => {
      c.process.capabilities = { bounding: ['CAP_CHOWN'] };
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['bpf'], action: 'SCMP_ACT_LOG' }] };
    }),
    1048576,
  );
  const a = lines(ociSeccompPolicy(allowAll, true, 'x64'));
  assert.ok(a.includes('rule errno 1 bpf') && !a.includes('rule log bpf'));
  assert.equal(a.length, 1 + DENY_EPERM.length + DENY_ENOSYS.length);
});
