// The wire of berth-oci's server (docs/oci.md, "The call server"; helper/PROTOCOL.md): the
// client's one request and the frames it gets back. Pure: the server and its workers
// (src/oci/serve.ts, src/oci/worker.ts) and the unit tests share it, and helper/oci-client.c
// writes and reads the same bytes.

/** The namespaces compared, in this order (helper/oci-client.c reads the same). */
export const NAMESPACES = ['mnt', 'net', 'pid', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
/** The lines of /proc/PID/status compared (a child inherits them): ids, umask, capabilities, no_new_privs, seccomp. */
export const STATUS_KEYS = [
  'Uid',
  'Gid',
  'Groups',
  'Umask',
  'CapInh',
  'CapPrm',
  'CapEff',
  'CapBnd',
  'CapAmb',
  'NoNewPrivs',
  'Seccomp',
] as const;

/** The request's first 4 bytes; a client of another wire version gets no answer but a close. */
export const REQUEST_MAGIC = 'BOC1';
/** The payload's bound: an environment of 1 MiB is a mistake, not a caller. */
export const MAX_REQUEST = 1 << 20;
/** Bounds of argv and the environment, each (the byte bound above comes first in practice). */
const MAX_STRINGS = 65536;

/** What a client asks: to be run as berth-oci ARGV from its own cwd and environment. */
export interface OciRequest {
  /** st_dev:st_ino of the executable the client would run itself: a server of another build declines */
  exe: string;
  /** the client's own process, as it reads it: what a worker's own work must share with it */
  facts: CallerFacts;
  /** which of the client's fds 0, 1 and 2 are terminals (isatty) */
  ttys: [boolean, boolean, boolean];
  cwd: string;
  argv: string[];
  env: Record<string, string>;
}

/**
 * A frame's type byte. To the client: a worker has the call, its stdout or stderr, its exit
 * status, "run it yourself", and the worker's two requests (run the helper, send your stdin).
 * From the client: the answers to those (helper/oci-client.c).
 */
export const FRAME = {
  dispatched: 0x73,
  stdout: 0x6f,
  stderr: 0x65,
  exit: 0x78,
  fallback: 0x66,
  helper: 0x68,
  stdin: 0x69,
  helperStatus: 0x48,
  stdinData: 0x49,
} as const;

/** The request's length from its 8-byte header, or null when the magic is not ours. */
export function requestLength(header: Uint8Array): number | null {
  if (header.length < 8 || new TextDecoder().decode(header.subarray(0, 4)) !== REQUEST_MAGIC) return null;
  return new DataView(header.buffer, header.byteOffset, 8).getUint32(4, true);
}

/**
 * The payload: NUL-terminated fields, in order the exe, the namespaces, root and status lines
 * (CallerFacts), the ttys ("010": fd 1 is one), cwd, argc, argc args (argv[0] left out), envc
 * and envc NAME=VALUE strings. Throws on anything else.
 */
export function parseRequest(payload: Uint8Array): OciRequest {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(payload);
  if (!text.endsWith('\0')) throw new Error('the request is not NUL-terminated');
  const fields = text.slice(0, -1).split('\0');
  let at = 0;
  const next = (): string => {
    const f = fields[at++];
    if (f === undefined) throw new Error('the request ends early');
    return f;
  };
  const count = (what: string): number => {
    const s = next();
    const n = /^\d{1,6}$/.test(s) ? Number(s) : Number.NaN;
    if (!(n <= MAX_STRINGS)) throw new Error(`bad ${what}: ${JSON.stringify(s.slice(0, 20))}`);
    return n;
  };
  const exe = next();
  if (!/^\d+:\d+$/.test(exe)) throw new Error('bad executable identity');
  const facts: CallerFacts = { namespaces: next(), root: next(), status: next() };
  const ttys = next();
  if (!/^[01]{3}$/.test(ttys)) throw new Error('bad ttys');
  const cwd = next();
  if (!cwd.startsWith('/')) throw new Error('the working directory is not absolute');
  const argv = Array.from({ length: count('argc') }, next);
  const env: Record<string, string> = {};
  for (let i = count('envc'); i > 0; i--) {
    const e = next();
    const eq = e.indexOf('=');
    // as execve passes them: a string without "=" or with an empty name is no variable
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  if (at !== fields.length) throw new Error('the request has trailing fields');
  const tty = (i: number) => ttys[i] === '1';
  return { exe, facts, ttys: [tty(0), tty(1), tty(2)], cwd, argv, env };
}

/** The payload for REQ with its header (the client's bytes; the unit tests write requests with it). */
export function encodeRequest(req: OciRequest): Uint8Array {
  const fields = [
    req.exe,
    req.facts.namespaces,
    req.facts.root,
    req.facts.status,
    req.ttys.map((t) => (t ? '1' : '0')).join(''),
    req.cwd,
    String(req.argv.length),
    ...req.argv,
    String(Object.keys(req.env).length),
    ...Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
  ];
  const payload = new TextEncoder().encode(`${fields.join('\0')}\0`);
  const out = new Uint8Array(8 + payload.length);
  out.set(new TextEncoder().encode(REQUEST_MAGIC));
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/** One frame: its type, the data's length (u32, little-endian) and the data. */
export function frame(type: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, data.length, true);
  out.set(data, 5);
  return out;
}

/** The exit frame: the status as 4 bytes. */
export function exitFrame(code: number): Uint8Array {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, code >>> 0, true);
  return frame(FRAME.exit, data);
}

/**
 * What a worker's own work inherits from its process: the worker reads its own
 * (src/host/oci-caller.ts), the client its own, in the same form (helper/oci-client.c).
 */
export interface CallerFacts {
  /** "mnt=mnt:[4026531841] net=net:[...] ..." in NAMESPACES' order, "-" for one the kernel lacks */
  namespaces: string;
  root: string;
  /** the inherited lines of /proc/PID/status: ids, umask, capabilities, no_new_privs, seccomp */
  status: string;
}

/**
 * Why a worker may not run the call of CALLER (null: it may). What the worker does itself (the
 * bundle's and state's files, mounts, cgroups, hooks) must see what the caller sees: its
 * namespaces, root, ids and capabilities. (A container's process is the client's own child:
 * src/oci/caller.ts.)
 */
export function callerDiffers(worker: CallerFacts, caller: CallerFacts): string | null {
  for (const k of Object.keys(worker) as (keyof CallerFacts)[]) {
    if (worker[k] !== caller[k]) return `the caller's ${k} differs from the server's`;
  }
  return null;
}
