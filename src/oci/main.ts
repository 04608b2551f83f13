// berth-oci: the OCI runtime command line (runc's), so containerd's runc shim, Docker and Podman
// run berth containers. The same executable as berth, run under the name berth-oci (a symlink
// that setup makes). Global flags come before the verb, as runc takes them; each may be
// written --flag VALUE, --flag=VALUE or -flag VALUE (Go's flag package takes all three).
// Errors go to stderr and, with --log, to that file in --log-format (json: one object a line,
// which the shim reads back for its error message); runc's exit code for any failure is 1.
import { appendFileSync, writeSync } from 'node:fs';
import { clip } from '../core/config.ts';
import { BerthError } from '../core/errors.ts';
import { DEFAULT_OCI_ROOT } from '../host/oci-state.ts';
import { makePaths, type Paths } from '../host/paths.ts';
import { trace } from '../host/trace.ts';
import type { CallerSide } from './caller.ts';
import { type OciVerb, VERBS } from './verbs.ts';

export interface OciGlobal {
  root: string;
  log: string | null;
  logFormat: 'text' | 'json';
  debug: boolean;
  helper: string;
  /**
   * berth's own paths (BERTH_ROOT, as the berth command reads it; / by default): its id pool and
   * locks, its lxcfs, its policy cache and the stages, never under the caller's --root
   */
  berth: Paths;
  /** a call served by a worker of berth-oci's server: its client's side (src/oci/worker.ts) */
  caller: CallerSide | null;
}

/**
 * A served call the worker leaves to the executable (the client runs it itself), thrown before
 * the verb changed anything.
 */
export class Declined extends Error {}

/** `--name VALUE`, `--name=VALUE`, `-name VALUE`: the flag's name and inline value. */
export function flagOf(arg: string): { name: string; inline: string | null } | null {
  const m = /^--?([a-zA-Z][\w-]*)(?:=(.*))?$/s.exec(arg);
  return m ? { name: m[1] as string, inline: m[2] ?? null } : null;
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  positionals: string[];
}

/**
 * ARGS against a verb's flags: VALUED ones take a value, BOOLEAN ones none (or =true/=false).
 * A positional ends the flags (runc's `exec ID CMD ARGS...` keeps the command's own flags).
 */
export function parseFlags(
  verb: string,
  args: readonly string[],
  valued: readonly string[],
  boolean: readonly string[],
  stopAtPositional = false,
): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const f = a.startsWith('-') && a !== '-' ? flagOf(a) : null;
    if (!f) {
      positionals.push(a);
      if (stopAtPositional) {
        positionals.push(...args.slice(i + 1));
        break;
      }
      continue;
    }
    const add = (v: string) => flags.set(f.name, [...(flags.get(f.name) ?? []), v]);
    if (boolean.includes(f.name)) add(f.inline ?? 'true');
    else if (valued.includes(f.name)) {
      const v = f.inline ?? args[++i];
      if (v === undefined) throw new BerthError('BAD_SYNTAX', `${verb}: --${f.name} needs a value`);
      add(v);
    } else throw new BerthError('BAD_SYNTAX', `${verb}: unknown flag ${JSON.stringify(a.slice(0, 80))}`);
  }
  return { flags, positionals };
}

const GLOBAL_VALUED = ['root', 'log', 'log-format', 'criu', 'rootless', 'berth-root'];
const GLOBAL_BOOLEAN = ['debug', 'systemd-cgroup', 'help', 'h', 'version', 'v'];

/** Where the verb is: the first word that is neither a global flag nor a valued flag's value. */
function verbIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const f = (argv[i] as string).startsWith('-') ? flagOf(argv[i] as string) : null;
    if (!f) return i;
    if (f.inline === null && GLOBAL_VALUED.includes(f.name)) i++;
  }
  return -1;
}

/** Runs berth-oci ARGV; the exit code. */
export async function ociMain(
  argv: readonly string[],
  helper: string,
  caller: CallerSide | null = null,
): Promise<number> {
  trace('main');
  // global flags: up to the verb
  const at = verbIndex(argv);
  const head = at < 0 ? argv : argv.slice(0, at);
  const verbName = at < 0 ? undefined : argv[at];
  const rest = at < 0 ? [] : argv.slice(at + 1);
  let g: OciGlobal = {
    root: DEFAULT_OCI_ROOT,
    log: null,
    logFormat: 'text',
    debug: false,
    helper,
    berth: makePaths(process.env['BERTH_ROOT'] || '/', helper),
    caller,
  };
  try {
    const { flags } = parseFlags('berth-oci', head, GLOBAL_VALUED, GLOBAL_BOOLEAN);
    const one = (k: string) => flags.get(k)?.at(-1);
    const format = one('log-format') ?? 'text';
    if (format !== 'text' && format !== 'json')
      throw new BerthError('BAD_VALUE', `--log-format ${JSON.stringify(format.slice(0, 40))}: text or json`);
    g = {
      root: one('root') ?? g.root,
      log: one('log') ?? null,
      logFormat: format,
      debug: one('debug') === 'true',
      helper,
      // a caller that passes no environment on (Podman) gives it as a flag: --runtime-flag berth-root=DIR
      berth: one('berth-root') ? makePaths(one('berth-root') as string, helper) : g.berth,
      caller,
    };
    if (one('systemd-cgroup') === 'true') {
      throw new BerthError('BAD_VALUE', '--systemd-cgroup: berth-oci manages cgroups itself (cgroupfs)', {
        hint: 'configure the caller for the cgroupfs driver (containerd: SystemdCgroup = false)',
      });
    }
    if (one('version') === 'true' || one('v') === 'true') {
      writeSync(1, 'berth-oci version 0.1.0\nspec: 1.1.0\n');
      return 0;
    }
    if (verbName === undefined || one('help') === 'true' || one('h') === 'true') {
      writeSync(1, usage());
      return verbName === undefined && !(one('help') || one('h')) ? 1 : 0;
    }
    const verb: OciVerb | undefined = VERBS[verbName];
    if (!verb) {
      throw new BerthError('BAD_SYNTAX', `unknown command ${JSON.stringify(verbName.slice(0, 80))}`, {
        hint: 'berth-oci --help lists the commands',
      });
    }
    const runVerb = await verb.load();
    trace(`oci ${verbName} loaded`);
    const code = await runVerb(g, rest);
    trace('done');
    return code;
  } catch (err) {
    if (err instanceof Declined) throw err;
    report(g, err);
    return 1;
  }
}

function usage(): string {
  const rows = Object.entries(VERBS).map(([n, v]) => `   ${n.padEnd(10)} ${v.summary}`);
  return `berth-oci: berth's OCI runtime (runc's command line), for containerd, Docker and Podman

Usage: berth-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--berth-root DIR] COMMAND [ARGS]

Commands:
${rows.join('\n')}

--root is the state directory (default ${DEFAULT_OCI_ROOT}). --berth-root (or BERTH_ROOT) is the
prefix of berth's own paths, as berth --root: its id ranges, lxcfs and staging (default /).
docs/oci.md has the details.
`;
}

/** The error on stderr, and as the log's last line, where the shim reads it. */
function report(g: OciGlobal, err: unknown): void {
  const e = err instanceof BerthError ? err : null;
  const msg = clip(e ? e.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`, 2000);
  try {
    writeSync(2, `berth-oci: ${msg}\n${e?.hint ? `hint: ${e.hint}\n` : ''}`);
  } catch {}
  logLine(g, 'error', msg);
}

/** A warning: the operation goes on (a failed poststart or poststop hook). */
export function warn(g: OciGlobal, msg: string): void {
  try {
    writeSync(2, `berth-oci: warning: ${clip(msg, 2000)}\n`);
  } catch {}
  logLine(g, 'warning', clip(msg, 2000));
}

function logLine(g: OciGlobal, level: 'error' | 'warning', msg: string): void {
  if (!g.log) return;
  const time = new Date().toISOString();
  const line = g.logFormat === 'json' ? JSON.stringify({ level, msg, time }) : `${time} ${level}: ${msg}`;
  try {
    appendFileSync(g.log, `${line}\n`, { mode: 0o600 });
  } catch {}
}
