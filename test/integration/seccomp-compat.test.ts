// The seccomp policy on every x86 entry point: the filter a container's init runs under (read
// back from the kernel with PTRACE_SECCOMP_GET_FILTER and run here on each syscall of the
// x86_64, i386 and x32 ABIs), and live calls of the clock-setting syscalls from inside an
// unprivileged container and a privileged one granted CAP_SYS_TIME, where only seccomp stands
// in the way. The live probe (test/escape/clock32.c) passes unmapped pointers: a call that got
// past seccomp fails with EFAULT before it could change anything, so the clock is never at risk
// and the errno tells seccomp's refusal (EPERM) from a hole (EFAULT). The host clock is compared
// before and after anyway.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seccompPolicy } from '../../src/core/seccomp.ts';
import { REPO, ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const AUDIT_ARCH = { x86_64: 0xc000003e, x86: 0x40000003, x32: 0xc000003e } as const;
type Abi = keyof typeof AUDIT_ARCH;
const ABIS = Object.keys(AUDIT_ARCH) as Abi[];

/** Every way to set the clock, whether or not the policy names it. */
const CLOCK = [
  'settimeofday',
  'stime',
  'clock_settime',
  'clock_settime64',
  'adjtimex',
  'clock_adjtime',
  'clock_adjtime64',
];

// prints "NAME x86_64=N x86=N x32=N" as this machine's libseccomp (the helper's) resolves them:
// a negative number is not a syscall of that ABI, and -1 on all three an unknown name
const RESOLVE_C = `
#include <seccomp.h>
#include <stdio.h>
int main(int argc, char **argv) {
  const char *abi[] = {"x86_64", "x86", "x32"};
  for (int i = 1; i < argc; i++) {
    printf("%s", argv[i]);
    for (int k = 0; k < 3; k++)
      printf(" %s=%d", abi[k], seccomp_syscall_resolve_name_arch(seccomp_arch_resolve_name(abi[k]), argv[i]));
    printf("\\n");
  }
  return 0;
}
`;

const X64 = process.arch === 'x64';
const GCC = spawnSync('gcc', ['--version']).status === 0;

function gcc(dir: string, name: string, src: string, extra: string[] = []): string {
  const out = join(dir, name);
  const r = spawnSync('gcc', ['-O1', '-o', out, src, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${src}: ${r.stderr}`);
  return out;
}

/** name -> ABI -> number, from libseccomp */
function resolve(dir: string, names: string[]): Map<string, Record<Abi, number>> {
  writeFileSync(join(dir, 'resolve.c'), RESOLVE_C);
  const bin = gcc(dir, 'resolve', join(dir, 'resolve.c'), ['-lseccomp']);
  const out = spawnSync(bin, names, { encoding: 'utf8' }).stdout;
  const m = new Map<string, Record<Abi, number>>();
  for (const line of out.trim().split('\n')) {
    const [name = '', ...rest] = line.split(' ');
    m.set(
      name,
      Object.fromEntries(rest.map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])) as Record<Abi, number>,
    );
  }
  return m;
}

/** name -> errno, as the policy says */
function policyNames(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of seccompPolicy(process.arch).matchAll(/^errno (\d+) (\S+)$/gm)) m.set(r[2] ?? '', Number(r[1]));
  return m;
}

test('every syscall the policy names is one the helper can resolve (libseccomp skips none silently)', {
  skip: !GCC ? 'needs gcc and libseccomp-dev (the setup installs them)' : !X64 ? 'checked on x86_64' : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  try {
    const names = [...policyNames().keys()];
    const nums = resolve(dir, names);
    const unknown = names.filter((n) => !ABIS.some((a) => (nums.get(n)?.[a] ?? -1) >= 0));
    // berth-nsexec skips a name its libseccomp does not know: a typo, or a syscall newer than it
    assert.deepEqual(unknown, [], 'names no ABI knows (the helper would skip them without a word)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Runs one classic BPF seccomp program on seccomp_data {nr, arch} (args 0). */
function runBpf(prog: Insn[], nr: number, arch: number): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc] as Insn;
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20 && (code & 0x18) === 0) a = data.readUInt32LE(k);
        else if ((code & 0xe0) === 0x00) a = k >>> 0;
        else if ((code & 0xe0) === 0x60) a = mem[k] ?? 0;
        else throw new Error(`bpf: load ${code.toString(16)}`);
        break;
      case 0x01: // LDX
        if ((code & 0xe0) === 0x00) x = k >>> 0;
        else if ((code & 0xe0) === 0x60) x = mem[k] ?? 0;
        else throw new Error(`bpf: ldx ${code.toString(16)}`);
        break;
      case 0x02:
        mem[k] = a;
        break;
      case 0x03:
        mem[k] = x;
        break;
      case 0x04: {
        const ops: Record<number, (v: number) => number> = {
          0: (v) => a + v,
          16: (v) => a - v,
          64: (v) => a | v,
          80: (v) => a & v,
          96: (v) => a << v,
          112: (v) => a >>> v,
          160: (v) => a ^ v,
        };
        const op = ops[code & 0xf0];
        if (!op) throw new Error(`bpf: alu ${code.toString(16)}`);
        a = op(src) >>> 0;
        break;
      }
      case 0x05: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const cond = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : (a & src) !== 0;
        if (op > 0x40) throw new Error(`bpf: jmp ${code.toString(16)}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06:
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      default:
        if (code === 0x07) x = a;
        else if (code === 0x87) a = x;
        else throw new Error(`bpf: misc ${code.toString(16)}`);
    }
  }
  throw new Error('bpf: ran off the end');
}

/** What all of a process's filters make of one syscall: the kernel takes the strictest action. */
function verdict(filters: Insn[][], nr: number, arch: number): string {
  const rets = filters.map((f) => runBpf(f, nr, arch));
  const ret = rets.reduce((m, r) => (((r & 0xffff0000) | 0) < ((m & 0xffff0000) | 0) ? r : m), 0x7fff0000);
  const action = (ret & 0xffff0000) >>> 0;
  if (action === 0x00050000) return `errno ${ret & 0xffff}`;
  const names: Record<number, string> = {
    2147418112: 'allow',
    2147483648: 'kill process',
    0: 'kill thread',
    196608: 'trap',
    2147221504: 'log',
    2146435072: 'trace',
    2143289344: 'notify',
  };
  return names[action] ?? `0x${action.toString(16)}`;
}

function dumpFilters(dump: string, pid: number): Insn[][] {
  const r = spawnSync(dump, [String(pid)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `seccomp-dump ${pid}: ${r.stderr}`);
  const filters: Insn[][] = [];
  for (const line of r.stdout.trim().split('\n')) {
    if (line.startsWith('filter')) filters.push([]);
    else if (line) {
      const [code = 0, jt = 0, jf = 0, k = 0] = line.split(' ').map(Number);
      filters.at(-1)?.push({ code, jt, jf, k });
    }
  }
  return filters;
}

function initPid(s: Sandbox, ct: string): number {
  return (JSON.parse(readFileSync(join(s.root, 'run/berth', ct, 'state.json'), 'utf8')) as { pid: number }).pid;
}

/** CLOCK_REALTIME minus CLOCK_MONOTONIC, in ms: it moves only when someone sets the clock. */
const clockOffset = () => Date.now() - Number(process.hrtime.bigint() / 1_000_000n);

/** ABI <TAB> NAME <TAB> result lines of the probe; null when it was killed (no such ABI). */
function probeRun(cmd: string[]): Map<string, string> | null {
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8' });
  if (r.signal || r.status !== 0) return null;
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([, name = '', res = '']) => [name, res]),
  );
}

test('the filter refuses every named syscall on every x86 ABI; the 32-bit clock calls fail with EPERM', {
  skip: ROOT_SKIP || (!GCC ? 'needs gcc and libseccomp-dev (the setup installs them)' : !X64 ? 'x86_64 only' : false),
}, (t) => {
  const s = sandbox(t);
  const dir = s.root;
  let probe: string;
  let dump: string;
  try {
    probe = gcc(dir, 'clock32', join(REPO, 'test/escape/clock32.c'), ['-static']);
    dump = gcc(dir, 'seccomp-dump', join(REPO, 'test/escape/seccomp-dump.c'), ['-static']);
  } catch (err) {
    t.skip(`gcc -static could not build the probes (libc6-dev missing?): ${(err as Error).message}`);
    return;
  }
  const want = policyNames();
  for (const c of CLOCK) if (!want.has(c)) want.set(c, 1);
  const nums = resolve(dir, [...want.keys(), 'getpid']);

  // on the host, without seccomp: every call reaches the kernel (EFAULT); which ABIs it runs
  const host = Object.fromEntries(ABIS.map((a) => [a, probeRun([probe, a === 'x86' ? 'i386' : a])])) as Record<
    Abi,
    Map<string, string> | null
  >;
  const live = (a: Abi) => host[a]?.get('getpid') === 'ok';
  for (const a of ABIS.filter(live))
    for (const [name, res] of host[a] ?? []) if (name !== 'getpid') assert.equal(res, 'EFAULT', `host ${a} ${name}`);
  if (!live('x86'))
    t.diagnostic('this kernel runs no i386 code (int $0x80 faults): the i386 ABI is checked on the filter only');
  if (!live('x32')) t.diagnostic('this kernel has no x32 ABI: its calls are still checked to be refused by the filter');

  const before = clockOffset();
  const failures: string[] = [];
  const table: string[][] = [];
  for (const [ct, privileged] of [
    ['sc-u', 'no'],
    ['sc-p', 'yes'],
  ] as const) {
    const mode = privileged === 'yes' ? 'privileged, sys_time' : 'unprivileged';
    s.ok(['create', ct, '--privileged', privileged]);
    if (privileged === 'yes') s.ok(['set', ct, '--capability', 'sys_time:on', '--save']);
    s.ok(['start', ct]);
    const pid = initPid(s, ct);
    if (privileged === 'yes') {
      const bnd = BigInt(`0x${/^CapBnd:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'}`);
      assert.ok(bnd & (1n << 25n), `${ct} holds CAP_SYS_TIME: only seccomp stands in the way`);
    }

    // the filter the kernel holds for init, on every named syscall of every ABI
    const filters = dumpFilters(dump, pid);
    assert.ok(filters.length > 0, `${ct}'s init runs under a seccomp filter`);
    for (const abi of ABIS) {
      const control = verdict(filters, nums.get('getpid')?.[abi] ?? -1, AUDIT_ARCH[abi]);
      if (control !== 'allow') failures.push(`${mode}: ${abi} getpid: ${control} (the ABI is not in the filter)`);
      for (const [name, errno] of want) {
        const nr = nums.get(name)?.[abi] ?? -1;
        if (nr < 0) continue; // not a syscall of this ABI
        const got = verdict(filters, nr, AUDIT_ARCH[abi]);
        if (got !== `errno ${errno}`)
          failures.push(`${mode}: filter: ${abi} ${name} (${nr}): ${got}, not errno ${errno}`);
      }
    }

    // live: the probe from inside, on each ABI the kernel runs (x32 always: seccomp sees it first)
    s.ok(['exec', ct, '--', 'sh', '-c', 'base64 -d > /clock32 && chmod 755 /clock32'], {
      input: readFileSync(probe).toString('base64'),
    });
    for (const abi of ABIS.filter((a) => a !== 'x86' || live(a))) {
      const arg = abi === 'x86' ? 'i386' : abi;
      const r = s.berth(['exec', ct, '--', '/clock32', arg]);
      for (const line of r.out.trim().split('\n')) {
        const [, name = '', res = ''] = line.split('\t');
        if (name === 'getpid') continue;
        table.push([mode, arg, name, res]);
        if (res !== 'EPERM') failures.push(`${mode}: live ${arg} ${name}: ${res} (EFAULT: it got past seccomp)`);
      }
    }
    s.ok(['stop', '--fast', ct]);
  }
  const drift = Math.abs(clockOffset() - before);
  for (const r of table) t.diagnostic(r.join('  '));
  assert.ok(drift < 500, `the host clock did not move (${drift} ms)`);
  assert.deepEqual(failures, []);
});
