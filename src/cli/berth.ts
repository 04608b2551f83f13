// berth CLI entry: global options, the command table (loaded lazily: Node start-up is
// user-visible) and the single place where errors become messages and exit codes.
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { clip } from '../core/config.ts';
import { BerthError } from '../core/errors.ts';
import { makeCtx } from '../engine/context.ts';
import { makePaths } from '../host/paths.ts';
import { isTerminal } from '../host/terminal.ts';
import { trace } from '../host/trace.ts';
import { type Command, type Io, parse } from './command.ts';

export const VERSION = '0.1.0';

type Loader = () => Promise<Command>;
const COMMANDS: Record<string, Loader> = {
  create: async () => (await import('./commands/create.ts')).command,
  start: async () => (await import('./commands/start.ts')).command,
  stop: async () => (await import('./commands/stop.ts')).command,
  restart: async () => (await import('./commands/restart.ts')).command,
  status: async () => (await import('./commands/status.ts')).command,
  enter: async () => (await import('./commands/enter.ts')).command,
  exec: async () => (await import('./commands/exec.ts')).command,
  console: async () => (await import('./commands/console.ts')).command,
  set: async () => (await import('./commands/set.ts')).command,
  list: async () => (await import('./commands/list.ts')).command,
  destroy: async () => (await import('./commands/destroy.ts')).command,
  mount: async () => (await import('./commands/mount.ts')).mountCommand,
  umount: async () => (await import('./commands/mount.ts')).umountCommand,
  suspend: async () => (await import('./commands/suspend.ts')).suspendCommand,
  resume: async () => (await import('./commands/suspend.ts')).resumeCommand,
  chkpnt: async () => (await import('./commands/chkpnt.ts')).command,
  template: async () => (await import('./commands/template.ts')).command,
  net: async () => (await import('./commands/net.ts')).command,
  stat: async () => (await import('./commands/stat.ts')).command,
  boot: async () => (await import('./commands/boot.ts')).bootCommand,
  shutdown: async () => (await import('./commands/boot.ts')).shutdownCommand,
  clone: async () => (await import('./commands/clone.ts')).command,
  compact: async () => (await import('./commands/compact.ts')).command,
  backup: async () => (await import('./commands/backup.ts')).backupCommand,
  restore: async () => (await import('./commands/backup.ts')).restoreCommand,
  migrate: async () => (await import('./commands/migrate.ts')).command,
  snapshot: async () => (await import('./commands/snapshot.ts')).snapshotCommand,
  'snapshot-list': async () => (await import('./commands/snapshot.ts')).snapshotListCommand,
  'snapshot-switch': async () => (await import('./commands/snapshot.ts')).snapshotSwitchCommand,
  'snapshot-delete': async () => (await import('./commands/snapshot.ts')).snapshotDeleteCommand,
  'snapshot-mount': async () => (await import('./commands/snapshot.ts')).snapshotMountCommand,
  'snapshot-umount': async () => (await import('./commands/snapshot.ts')).snapshotUmountCommand,
  daemon: async () => (await import('./commands/daemon.ts')).command,
  trust: async () => (await import('./commands/trust.ts')).command,
  remote: async () => (await import('./commands/remote.ts')).command,
  version: async () => versionCommand,
  help: async () => helpCommand,
};

/** The verbs, in the order `berth help` lists them (docs/cli.md follows it). */
export const VERBS: readonly string[] = Object.keys(COMMANDS);

/** The command of a verb or alias (undefined: no such verb). */
export async function loadCommand(verb: string): Promise<Command | undefined> {
  return COMMANDS[ALIASES[verb] ?? verb]?.();
}
const ALIASES: Record<string, string> = { delete: 'destroy', ls: 'list' };

async function usage(): Promise<string> {
  const lines = [
    'berth: Linux system containers (OpenVZ-style) on a stock kernel',
    '',
    'Usage: berth [--root DIR] [-r REMOTE] [--debug] VERB [ARGS...]',
    '       berth help VERB | berth VERB --help',
    '',
    'Verbs:',
  ];
  const width = Math.max(...Object.keys(COMMANDS).map((v) => v.length));
  for (const [verb, load] of Object.entries(COMMANDS)) lines.push(`  ${verb.padEnd(width)}  ${(await load()).summary}`);
  lines.push('', 'Global options:', '  --root DIR  prefix for every berth path (also BERTH_ROOT); default /');
  lines.push('  -r NAME     run VERB on the remote berthd NAME (berth help remote)');
  lines.push(
    '  --debug     print stack traces of unexpected errors',
    '',
    'Exit codes: docs/errors.md (vzctl-compatible numbers).',
  );
  return lines.join('\n');
}

async function helpFor(verb: string): Promise<string> {
  const c = await loadCommand(verb);
  if (!c) throw new BerthError('BAD_SYNTAX', `help: unknown verb ${JSON.stringify(verb)}`, { hint: 'berth help' });
  return `Usage: ${c.usage}\n\n${c.summary}.\n\n${c.help}`;
}

const versionCommand: Command = {
  summary: 'print the version',
  usage: 'berth version',
  help: `Prints "berth VERSION". Also: berth --version.

Exit codes: 0.`,
  noRoot: true,
  async run(_ctx, args, io) {
    parse('version', args, {}, 0);
    io.out(`berth ${VERSION}`);
    return 0;
  },
};

const helpCommand: Command = {
  summary: 'this text, or the manual of one verb',
  usage: 'berth help [VERB]',
  help: `Without VERB: the verbs and the global options. With VERB (or an alias: delete,
ls): its manual, as docs/cli.md has it. Also: berth --help, berth VERB --help.

Example:
  berth help set

Exit codes: 0; 20 no such verb.`,
  noRoot: true,
  async run(_ctx, args, io) {
    const { positionals } = parse('help', args, {}, 1);
    io.out(positionals[0] ? await helpFor(positionals[0]) : await usage());
    return 0;
  },
};

/** `packageRoot` (where helper/berth-nsexec lives) comes from bin/berth. */
export async function main(argv: string[], io: Io = defaultIo(), packageRoot = '.'): Promise<number> {
  trace('main');
  let debug = false;
  let remote: string | null = null;
  let root = process.env['BERTH_ROOT'] || '/';
  const args = [...argv];
  try {
    while (args[0]?.startsWith('--') || args[0] === '-r') {
      if (args[0] === '-r') args[0] = '--remote';
      const opt = args.shift() as string;
      if (opt === '--debug') debug = true;
      else if (opt === '--root') root = args.shift() ?? '';
      else if (opt === '--remote') remote = args.shift() ?? '';
      else if (opt.startsWith('--root=')) root = opt.slice(7);
      else if (opt === '--help') args.unshift('help');
      else if (opt === '--version') args.unshift('version');
      else throw new BerthError('BAD_SYNTAX', `unknown option ${opt}`, { hint: 'berth help' });
    }
    if (!root.startsWith('/'))
      throw new BerthError('BAD_VALUE', `--root must be an absolute path, not ${JSON.stringify(root)}`);
    const verb = args.shift();
    if (verb === undefined) {
      io.out(await usage());
      return 20;
    }
    const cmd = await loadCommand(verb);
    if (!cmd)
      throw new BerthError('BAD_SYNTAX', `unknown verb ${JSON.stringify(verb)}`, {
        hint: 'berth help lists the verbs',
      });
    if (args.includes('--help') && !(verb === 'exec' && args.indexOf('--help') > 1)) {
      io.out(await helpFor(verb));
      return 0;
    }
    trace(`${verb} loaded`);
    if (remote !== null) return await (await import('./remote-run.ts')).runRemote(remote, verb, args, io);
    if (!cmd.noRoot && process.getuid?.() !== 0) {
      throw new BerthError('NO_ACCESS', `${verb}: berth must run as root`, { hint: `sudo berth ${verb} ...` });
    }
    const helper = process.env['BERTH_HELPER'] || resolve(packageRoot, 'helper/berth-nsexec');
    let live = false; // a status line is on screen: a message first clears it
    const ctx = makeCtx(makePaths(root, helper), (m) => {
      if (live) writeSync(2, '\r\x1b[K');
      live = false;
      io.err(m);
    });
    // a verb that berthd runs as a child for a request: its locks name the request
    const request = process.env['BERTH_REQUEST'];
    if (request) ctx.request = request.slice(0, 64);
    if (cmd.progress && process.env['BERTH_PROGRESS'] === 'lines') {
      // berthd runs the verb: each status line is a line of stderr, the operation's progress
      ctx.progress = (line) => {
        if (line !== null) writeLine(2, line.slice(0, 200));
      };
    } else if (cmd.progress && !args.includes('--json') && (await io.isTty(2))) {
      ctx.progress = (line) => {
        writeSync(2, line === null ? '\r\x1b[K' : `\r\x1b[K${line.slice(0, 200)}`);
        live = line !== null;
      };
    }
    const code = await cmd.run(ctx, args, io);
    trace('done');
    return code;
  } catch (err) {
    // the last guard: a value echoed in a message never floods or drives the terminal
    reportError(err);
    if (err instanceof BerthError) {
      io.err(`berth: ${clip(err.message, 2000)}`);
      if (err.hint) io.err(`berth: hint: ${clip(err.hint, 2000)}`);
      if (debug && err.cause) io.err(String((err.cause as Error).stack ?? err.cause));
      return err.exitCode;
    }
    io.err(`berth: unexpected error: ${clip((err as Error).message ?? String(err), 2000)}`);
    if (debug) io.err(String((err as Error).stack));
    else io.err('berth: hint: run again with --debug for details');
    return 3;
  }
}

/**
 * berthd runs each verb as a child and reads why it failed from fd BERTH_ERROR_FD (a file only
 * berth writes: the command of an exec has stdout and stderr, which a container controls).
 */
function reportError(err: unknown): void {
  const fd = Number(process.env['BERTH_ERROR_FD']);
  if (!Number.isInteger(fd) || fd < 3) return;
  const e = err instanceof BerthError ? err : null;
  const body = {
    code: e ? e.exitCode : 3,
    name: e ? e.code : 'SYSTEM',
    message: clip(e ? e.message : `unexpected error: ${(err as Error).message ?? String(err)}`, 2000),
    ...(e?.hint ? { hint: clip(e.hint, 2000) } : {}),
  };
  try {
    writeSync(fd, `${JSON.stringify(body)}\n`);
  } catch {}
}

/** Direct writes: process.stdout/stderr would build stream objects (milliseconds of start-up). */
function writeLine(fd: number, s: string): void {
  const buf = Buffer.from(`${s}\n`);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

function defaultIo(): Io {
  return {
    out: (s) => writeLine(1, s),
    err: (s) => writeLine(2, s),
    // not process.stdin: it builds a stream (~10 ms)
    isTty: isTerminal,
  };
}
