// config.json's linux.seccomp (runtime-spec config-linux.md "Seccomp") as the policy text
// berth-nsexec compiles with libseccomp (helper/PROTOCOL.md), and which policy a berth-oci
// container gets. The profile is checked field by field here: a mistake in it is refused with
// the field's name before anything is made, never left for the C side to stumble on.
import { BerthError } from './errors.ts';
import type { OciSpec } from './oci-spec.ts';
import { DENY_ENOSYS, DENY_EPERM, ENOSYS, EPERM, seccompPolicy } from './seccomp.ts';

/** SCMP_ARCH_* as libseccomp names them (the architectures its 2.5 series knows) */
export const SECCOMP_ARCHES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
};

/** actions as the policy names them; errno and trace carry a number (errnoRet, EPERM without) */
export const SECCOMP_ACTIONS: Readonly<Record<string, string>> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  // libseccomp's SCMP_ACT_KILL is the thread's (as runc reads it)
  SCMP_ACT_KILL: 'kill_thread',
  SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_LOG: 'log',
  SCMP_ACT_TRACE: 'trace',
};

export const SECCOMP_OPERATORS: Readonly<Record<string, string>> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

/**
 * The filter flags libseccomp sets (TSYNC needs nothing: the helper has one thread);
 * WAIT_KILLABLE_RECV is for SCMP_ACT_NOTIFY, which berth-oci does not do.
 */
export const SECCOMP_FLAGS: Readonly<Record<string, string | null>> = {
  SECCOMP_FILTER_FLAG_TSYNC: null,
  SECCOMP_FILTER_FLAG_LOG: 'log',
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 'spec_allow',
};

const MAX_ENTRIES = 4096;
/** SECCOMP_RET_DATA: the 16 bits of an errno or a tracer's message */
const MAX_RET = 0xffff;
const HINT = 'see the OCI runtime spec (config-linux.md, Seccomp); Docker and Podman write valid profiles';

type Obj = Record<string, unknown>;

const bad = (where: string, why: string, hint = HINT) =>
  new BerthError('BAD_VALUE', `config.json: linux.seccomp${where}: ${why}`, { hint });
const notYet = (where: string, what: string) =>
  bad(where, `${what} is not supported by berth-oci yet`, 'leave it out, or run the container with runc');
const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);

function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(where, 'must be an object');
  return v as Obj;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(where, 'must be a list');
  if (v.length > MAX_ENTRIES) throw bad(where, `more than ${MAX_ENTRIES} entries`);
  return v;
}

function word(table: Readonly<Record<string, unknown>>, v: unknown, where: string, what: string): string {
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) {
    throw bad(where, `${shown(v)} is no ${what} berth-oci knows`, `one of ${Object.keys(table).join(', ')}`);
  }
  return v;
}

function whole(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw bad(where, `must be a whole number from 0 to ${max}`);
  return v;
}

/**
 * A 64-bit argument value as a decimal string. JSON numbers arrive as doubles: past 2^53 the
 * one read may not be the one written (18446744073709551615 reads as 2^64), and a filter
 * that compares with another value than meant is refused rather than loaded.
 */
function u64(v: unknown, where: string): string {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw bad(where, 'must be a whole number from 0 to 2^64-1');
  if (!Number.isSafeInteger(v))
    throw bad(where, `${v} is past 2^53-1, which JSON numbers do not carry exactly here`, 'write a smaller value');
  return String(v);
}

/** ACTION [N] as the policy writes it, from an action and its errnoRet */
function action(o: Obj, actKey: string, retKey: string, where: string): string {
  if (o[actKey] === 'SCMP_ACT_NOTIFY') throw notYet(`${where}.${actKey}`, 'SCMP_ACT_NOTIFY');
  const act = SECCOMP_ACTIONS[word(SECCOMP_ACTIONS, o[actKey], `${where}.${actKey}`, 'action')] as string;
  const ret = o[retKey];
  if (act === 'errno' || act === 'trace')
    return `${act} ${ret === undefined || ret === null ? EPERM : whole(ret, `${where}.${retKey}`, MAX_RET)}`;
  if (ret !== undefined && ret !== null)
    throw bad(`${where}.${retKey}`, `${o[actKey]} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`);
  return act;
}

/** one syscall argument's condition: ARG OP V, and V2 for masked_eq (V the mask, V2 the value) */
function condition(v: unknown, where: string): { index: number; text: string } {
  const a = obj(v, where);
  const index = whole(a['index'], `${where}.index`, 5);
  const op = SECCOMP_OPERATORS[word(SECCOMP_OPERATORS, a['op'], `${where}.op`, 'operator')] as string;
  const value = u64(a['value'], `${where}.value`);
  // valueTwo is read by masked_eq only (libseccomp ignores it for the others, as runc does)
  const two = a['valueTwo'] === undefined || a['valueTwo'] === null ? '0' : u64(a['valueTwo'], `${where}.valueTwo`);
  return { index, text: op === 'masked_eq' ? `${index} ${op} ${value} ${two}` : `${index} ${op} ${value}` };
}

/** a syscall's name as libseccomp takes it: one word of the policy line */
function syscallName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !/^[a-z_][a-z0-9_]{0,63}$/.test(v)) throw bad(where, `${shown(v)} is no syscall name`);
  return v;
}

/** A rule of the policy: ACTION NAME [ARG OP V [V2]]... */
export interface SeccompRule {
  name: string;
  /** "allow", "errno 1", ... */
  action: string;
  /** its conditions as the line writes them ("" or " 0 eq 8 1 ne 0") */
  args: string;
}

/** What a profile becomes: its default action, its arch and flag lines, and its rules. */
export interface SeccompProfile {
  /** the action of every call no rule names */
  defaultAction: string;
  /** arch and flag lines */
  head: string[];
  rules: SeccompRule[];
}

/**
 * linux.seccomp, checked, as policy lines. An entry's conditions on distinct arguments make
 * one rule (all must hold); when two of them test the same argument, each condition is a rule
 * of its own (any may hold), as runc does: libseccomp takes one condition per argument.
 */
export function parseSeccomp(seccomp: Obj): SeccompProfile {
  const defaultAction = action(seccomp, 'defaultAction', 'defaultErrnoRet', '');
  if (seccomp['listenerPath'] !== undefined && seccomp['listenerPath'] !== '')
    throw notYet('.listenerPath', 'a seccomp agent (SCMP_ACT_NOTIFY)');
  const head = [
    ...list(seccomp['architectures'], '.architectures').map(
      (a, i) => `arch ${SECCOMP_ARCHES[word(SECCOMP_ARCHES, a, `.architectures[${i}]`, 'architecture')]}`,
    ),
    ...list(seccomp['flags'], '.flags').flatMap((f, i) => {
      const flag = SECCOMP_FLAGS[word(SECCOMP_FLAGS, f, `.flags[${i}]`, 'flag')];
      return flag ? [`flag ${flag}`] : [];
    }),
  ];
  const rules = list(seccomp['syscalls'], '.syscalls').flatMap((v, i) => {
    const where = `.syscalls[${i}]`;
    const s = obj(v, where);
    const names = list(s['names'], `${where}.names`).map((n, k) => syscallName(n, `${where}.names[${k}]`));
    if (names.length === 0) throw bad(`${where}.names`, 'must name a syscall');
    const act = action(s, 'action', 'errnoRet', where);
    const conds = list(s['args'], `${where}.args`).map((a, k) => condition(a, `${where}.args[${k}]`));
    const shared = new Set(conds.map((c) => c.index)).size < conds.length;
    const texts = conds.map((c) => ` ${c.text}`);
    const sets = texts.length === 0 ? [''] : shared ? texts : [texts.join('')];
    return names.flatMap((name) => sets.map((args) => ({ name, action: act, args, at: i })));
  });
  // libseccomp refuses a second action for the same conditions, in the container's process
  // after start has let it go on: said here, before anything is made
  const first = new Map<string, { action: string; at: number }>();
  for (const r of rules) {
    const key = `${r.name}${r.args}`;
    const seen = first.get(key);
    if (r.args && seen && seen.action !== r.action)
      throw bad(`.syscalls[${r.at}]`, `${r.name}:${r.args} is given another action in syscalls[${seen.at}]`);
    if (!seen) first.set(key, r);
  }
  return { defaultAction, head, rules: rules.map(({ at: _, ...r }) => r) };
}

/** The policy text of a profile, with OVER's rules replacing its own for the names they name. */
export function profilePolicy(p: SeccompProfile, over: SeccompRule[] = []): string {
  const replaced = new Set(over.map((r) => r.name));
  const rules = [...p.rules.filter((r) => !replaced.has(r.name)), ...over]
    // a rule that does what the default does changes nothing, and libseccomp refuses it (runc skips it too)
    .filter((r) => r.action !== p.defaultAction)
    .map((r) => `rule ${r.action} ${r.name}${r.args}`);
  const lines = ['# linux.seccomp of config.json', `default ${p.defaultAction}`, ...p.head, ...new Set(rules)];
  return `${lines.join('\n')}\n`;
}

/** berth's own refusals (seccomp.ts), as rules */
const DENY_RULES: SeccompRule[] = [
  ...DENY_EPERM.map((name) => ({ name, action: `errno ${EPERM}`, args: '' })),
  ...DENY_ENOSYS.map((name) => ({ name, action: `errno ${ENOSYS}`, args: '' })),
];

/**
 * The policy a berth-oci container's processes get. Without linux.seccomp, berth's own (a
 * system container whose capabilities became berth's has none left: systemSpec drops the
 * engine's profile, made for the engine's set). With one, the spec's; for a system container
 * with berth's refusals over it, since its root holds capabilities an application's does not.
 */
export function ociSeccompPolicy(spec: OciSpec, system: boolean, arch: string): string {
  const profile = spec.linux.seccomp;
  if (profile === null) return seccompPolicy(arch, { sysinfo: false });
  return profilePolicy(profile, system ? DENY_RULES : []);
}
