// The OCI runtime spec's config.json (opencontainers/runtime-spec config.md, config-linux.md) as
// berth-oci reads it: the fields berth honours, checked for type and size before anything is
// made. The file comes from an orchestrator, but what it names (the image's files) does not:
// it is read as hostile input all the same, and every refusal says which field and why.
import { BerthError } from './errors.ts';
import { parseSeccomp, type SeccompProfile } from './oci-seccomp.ts';

export const OCI_VERSION = '1.1.0';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciNamespace {
  type: NamespaceType;
  /** join this namespace (a /proc/PID/ns/... or a bind-mounted one) instead of making one */
  path: string | null;
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
const NAMESPACES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciHook {
  path: string;
  args: string[];
  env: string[];
  /** seconds; null: none */
  timeout: number | null;
}

export const HOOK_KINDS = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

export interface OciProcess {
  terminal: boolean;
  uid: number;
  gid: number;
  additionalGids: number[];
  args: string[];
  env: string[];
  cwd: string;
  /** the bounding set (berth keeps one set: runc's five are equal in every config seen) */
  capabilities: string[];
  rlimits: { type: string; soft: number; hard: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj: number | null;
}

/** linux.devices[]: a node the container gets (type u is an unbuffered character device: c) */
export interface OciDevice {
  type: string;
  path: string;
  major: number;
  minor: number;
  fileMode: number | null;
  uid: number;
  gid: number;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess | null;
  root: { path: string; readonly: boolean };
  hostname: string | null;
  mounts: OciMount[];
  hooks: Record<HookKind, OciHook[]>;
  annotations: Record<string, string>;
  linux: {
    namespaces: OciNamespace[];
    uidMappings: OciIdMapping[];
    gidMappings: OciIdMapping[];
    cgroupsPath: string | null;
    sysctl: Record<string, string>;
    maskedPaths: string[];
    readonlyPaths: string[];
    rootfsPropagation: string | null;
    /** linux.resources as given: update takes the same shape (cgroup policy reads it) */
    resources: Record<string, unknown>;
    /** linux.seccomp, checked and read once (core/oci-seccomp.ts writes the policy from it) */
    seccomp: SeccompProfile | null;
    devices: OciDevice[];
  };
}

/** config.json larger than this is refused unread (the largest seen from Docker: 20 KiB) */
export const MAX_CONFIG_BYTES = 4 << 20;
const MAX_LIST = 4096;
const MAX_TEXT = 64 << 10;

type Obj = Record<string, unknown>;

const bad = (where: string, why: string) =>
  new BerthError('BAD_VALUE', `config.json: ${where}: ${why}`, {
    hint: 'see the OCI runtime spec (config.md); berth-oci spec writes a valid one',
  });

function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(where, 'must be an object');
  return v as Obj;
}

function optObj(o: Obj, key: string, where: string): Obj | null {
  return o[key] === undefined || o[key] === null ? null : obj(o[key], `${where}${key}`);
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string') throw bad(where, 'must be a string');
  if (v.length > MAX_TEXT) throw bad(where, `longer than ${MAX_TEXT} characters`);
  if (v.includes('\0')) throw bad(where, 'holds a NUL byte');
  return v;
}

function optText(o: Obj, key: string, where: string): string | null {
  return o[key] === undefined || o[key] === null ? null : text(o[key], `${where}${key}`);
}

function list<T>(v: unknown, where: string, each: (x: unknown, at: string) => T): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(where, 'must be a list');
  if (v.length > MAX_LIST) throw bad(where, `more than ${MAX_LIST} entries`);
  return v.map((x, i) => each(x, `${where}[${i}]`));
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw bad(where, `must be a whole number from ${min} to ${max}`);
  return v;
}

const UINT32 = 0xffffffff;
/** rlimits are 64-bit; JSON numbers past 2^53 arrive rounded: RLIM_INFINITY is read as "unlimited" */
const RLIM_MAX = Number.MAX_SAFE_INTEGER;

function absolute(v: unknown, where: string): string {
  const p = text(v, where);
  if (!p.startsWith('/')) throw bad(where, `${JSON.stringify(p.slice(0, 80))} is not an absolute path`);
  return p;
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = obj(v, where);
  const keys = Object.keys(o);
  if (keys.length > MAX_LIST) throw bad(where, `more than ${MAX_LIST} entries`);
  return Object.fromEntries(keys.map((k) => [text(k, where), text(o[k], `${where}.${k}`)]));
}

function hook(v: unknown, where: string): OciHook {
  const o = obj(v, where);
  const timeout = o['timeout'] === undefined ? null : int(o['timeout'], `${where}.timeout`, 1, 3600);
  return {
    path: absolute(o['path'], `${where}.path`),
    args: list(o['args'], `${where}.args`, text),
    env: list(o['env'], `${where}.env`, text),
    timeout,
  };
}

/** A process object (config.json's `process`, or `exec --process FILE`'s whole document). */
export function parseProcess(v: unknown): OciProcess {
  const o = obj(v, 'process');
  const user = obj(o['user'] ?? {}, 'process.user');
  const args = list(o['args'], 'process.args', text);
  if (args.length === 0) throw bad('process.args', 'must name the program to run');
  const caps = optObj(o, 'capabilities', 'process.') ?? {};
  const oom = o['oomScoreAdj'];
  return {
    terminal: o['terminal'] === true,
    // 2^32-1 is no id: setresuid takes it as "leave unchanged"
    uid: int(user['uid'] ?? 0, 'process.user.uid', 0, UINT32 - 1),
    gid: int(user['gid'] ?? 0, 'process.user.gid', 0, UINT32 - 1),
    additionalGids: list(user['additionalGids'], 'process.user.additionalGids', (x, at) => int(x, at, 0, UINT32 - 1)),
    args,
    env: list(o['env'], 'process.env', text),
    cwd: absolute(o['cwd'] ?? '/', 'process.cwd'),
    capabilities: list(caps['bounding'], 'process.capabilities.bounding', capName),
    rlimits: list(o['rlimits'], 'process.rlimits', (x, at) => {
      const r = obj(x, at);
      const type = text(r['type'], `${at}.type`);
      if (!/^RLIMIT_[A-Z]+$/.test(type)) throw bad(`${at}.type`, `${JSON.stringify(type.slice(0, 40))} is no rlimit`);
      const lim = (k: string) => Math.min(Number(r[k] ?? 0), RLIM_MAX);
      return {
        type,
        soft: int(lim('soft'), `${at}.soft`, 0, RLIM_MAX),
        hard: int(lim('hard'), `${at}.hard`, 0, RLIM_MAX),
      };
    }),
    noNewPrivileges: o['noNewPrivileges'] === true,
    oomScoreAdj: oom === undefined ? null : int(oom, 'process.oomScoreAdj', -1000, 1000),
  };
}

function capName(v: unknown, where: string): string {
  const c = text(v, where);
  if (!/^CAP_[A-Z_]+$/.test(c)) throw bad(where, `${JSON.stringify(c.slice(0, 40))} is no capability name`);
  return c;
}

function mount(v: unknown, where: string): OciMount {
  const o = obj(v, where);
  return {
    destination: absolute(o['destination'], `${where}.destination`),
    type: optText(o, 'type', `${where}.`) ?? 'bind',
    source: optText(o, 'source', `${where}.`) ?? '',
    options: list(o['options'], `${where}.options`, text),
  };
}

function idMapping(v: unknown, where: string): OciIdMapping {
  const o = obj(v, where);
  return {
    containerID: int(o['containerID'], `${where}.containerID`, 0, UINT32),
    hostID: int(o['hostID'], `${where}.hostID`, 0, UINT32),
    size: int(o['size'], `${where}.size`, 1, UINT32),
  };
}

const seccompOf = (o: Obj | null): SeccompProfile | null => (o ? parseSeccomp(o) : null);

/** config.json's text, parsed and checked (nothing is made before this returns). */
export function parseSpec(textIn: string): OciSpec {
  if (textIn.length > MAX_CONFIG_BYTES) throw bad('the file', `larger than ${MAX_CONFIG_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(textIn);
  } catch (err) {
    throw bad('the file', `not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const o = obj(raw, 'the document');
  const root = obj(o['root'], 'root');
  const linux = optObj(o, 'linux', '') ?? {};
  const hooks = optObj(o, 'hooks', '') ?? {};
  const namespaces = list(linux['namespaces'], 'linux.namespaces', (x, at) => {
    const n = obj(x, at);
    const type = text(n['type'], `${at}.type`) as NamespaceType;
    if (!NAMESPACES.includes(type)) throw bad(`${at}.type`, `${JSON.stringify(type.slice(0, 40))} is no namespace`);
    return { type, path: optText(n, 'path', `${at}.`) };
  });
  const seen = new Set<string>();
  for (const n of namespaces) {
    if (seen.has(n.type)) throw bad('linux.namespaces', `${n.type} is named twice`);
    seen.add(n.type);
  }
  return {
    ociVersion: text(o['ociVersion'], 'ociVersion'),
    process: o['process'] === undefined ? null : parseProcess(o['process']),
    root: { path: text(root['path'], 'root.path'), readonly: root['readonly'] === true },
    hostname: optText(o, 'hostname', ''),
    mounts: list(o['mounts'], 'mounts', mount),
    hooks: Object.fromEntries(HOOK_KINDS.map((k) => [k, list(hooks[k], `hooks.${k}`, hook)])) as Record<
      HookKind,
      OciHook[]
    >,
    annotations: stringMap(o['annotations'], 'annotations'),
    linux: {
      namespaces,
      uidMappings: list(linux['uidMappings'], 'linux.uidMappings', idMapping),
      gidMappings: list(linux['gidMappings'], 'linux.gidMappings', idMapping),
      cgroupsPath: optText(linux, 'cgroupsPath', 'linux.'),
      sysctl: stringMap(linux['sysctl'], 'linux.sysctl'),
      maskedPaths: list(linux['maskedPaths'], 'linux.maskedPaths', absolute),
      readonlyPaths: list(linux['readonlyPaths'], 'linux.readonlyPaths', absolute),
      rootfsPropagation: optText(linux, 'rootfsPropagation', 'linux.'),
      resources: optObj(linux, 'resources', 'linux.') ?? {},
      // read here: a refusal comes before anything is made
      seccomp: seccompOf(optObj(linux, 'seccomp', 'linux.')),
      devices: list(linux['devices'], 'linux.devices', (x, at) => {
        const d = obj(x, at);
        const type = text(d['type'], `${at}.type`);
        if (!['c', 'b', 'u', 'p'].includes(type)) throw bad(`${at}.type`, 'must be c, b, u or p');
        return {
          type,
          path: absolute(d['path'], `${at}.path`),
          major: int(d['major'] ?? 0, `${at}.major`, 0, UINT32),
          minor: int(d['minor'] ?? 0, `${at}.minor`, 0, UINT32),
          fileMode: d['fileMode'] === undefined ? null : int(d['fileMode'], `${at}.fileMode`, 0, 0o7777),
          uid: int(d['uid'] ?? 0, `${at}.uid`, 0, UINT32 - 1),
          gid: int(d['gid'] ?? 0, `${at}.gid`, 0, UINT32 - 1),
        };
      }),
    },
  };
}

/** `exec --process FILE`'s text: one process object. */
export function parseProcessText(text: string): OciProcess {
  if (text.length > MAX_CONFIG_BYTES) throw bad('the process file', `larger than ${MAX_CONFIG_BYTES} bytes`);
  try {
    return parseProcess(JSON.parse(text));
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw bad('the process file', `not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}
