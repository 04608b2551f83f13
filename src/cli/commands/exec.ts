// berth exec [-t|-T] CTID COMMAND-LINE... | berth exec [-t|-T] CTID -- COMMAND [ARGS...]

import { parseEnvPair } from '../../core/container-plan.ts';
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { execInContainer } from '../../ops/exec.ts';
import { type Command, parseFd } from '../command.ts';

/** -t, -T and --env, read by hand: before and after CTID, and never among COMMAND's own arguments */
const FLAGS = {
  t: { type: 'boolean' },
  T: { type: 'boolean' },
  env: { type: 'string', multiple: true },
  'winsize-fd': { type: 'string' },
} as const;

/** Takes berth's own flags off the front of ARGS into FLAGS and ENV. */
function takeFlags(args: string[], flags: string[], env: string[], fds: { winsize?: number }): string[] {
  const rest = [...args];
  for (;;) {
    const a = rest[0];
    if (a === '-t' || a === '-T') flags.push(rest.shift() ?? '');
    else if (a === '--env' || a === '-e') {
      rest.shift();
      if (rest[0] === undefined) throw new BerthError('BAD_SYNTAX', 'exec: --env needs NAME=VALUE');
      env.push(parseEnvPair('exec', rest.shift() ?? ''));
    } else if (a?.startsWith('--env=')) env.push(parseEnvPair('exec', (rest.shift() ?? '').slice(6)));
    else if (a === '--winsize-fd') {
      rest.shift();
      fds.winsize = parseFd(rest.shift() ?? '');
    } else return rest;
  }
}

export const command: Command = {
  summary: 'run a command inside a running container',
  usage:
    'berth exec [-t|-T] [--env NAME=VALUE] CTID COMMAND-LINE... | berth exec [-t|-T] [--env NAME=VALUE] CTID -- COMMAND [ARGS...]',
  help: `Runs a command as root inside the container: its namespaces, cgroups, capabilities and
seccomp filter. Without "--", as vzctl exec does, the arguments are joined with spaces and run
by the container's shell (/bin/sh -c), so pipes, redirections and $VARIABLES are the
container's: berth exec 101 'ps | grep init'. After "--", COMMAND runs directly with ARGS as
they are, no shell: berth exec 101 -- ps -o pid,comm. berth exits with the command's exit
status (128+N if it died of signal N).

The command never gets berth's own file descriptors. Its stdin, stdout and stderr are pipes
that berth copies to and from yours (stdin is read as it arrives, as ssh does: in a "while
read" loop, give exec </dev/null), or, when both stdin and stdout are terminals, a new
terminal of the container's own (your terminal is never its controlling terminal, so it
cannot type into your shell). It leads a session of its own: ^C, SIGTERM and SIGHUP that
reach berth are passed to it. berth returns when the command exits, without waiting for
background processes it left.

Options:
  -t    a terminal of its own even when stdin or stdout is not a terminal
  -T    pipes, never a terminal
  -e, --env NAME=VALUE
        set NAME in the command's environment (repeatable); it wins over berth's own
        PATH, HOME, TERM and container=berth
  --winsize-fd N
        with a terminal of its own (-t), read its window sizes from fd N (two
        uint16, rows then columns, per size): berthd passes a websocket's so

Exit codes: the command's own; 31 not running, 127 no such command, 126 not executable.`,
  options: FLAGS,
  async run(ctx, args, io) {
    const flags: string[] = [];
    const env: string[] = [];
    const fds: { winsize?: number } = {};
    const front = takeFlags(args, flags, env, fds);
    const id = parseCtId(front[0]);
    let rest = takeFlags(front.slice(1), flags, env, fds);
    const direct = rest[0] === '--';
    if (direct) rest = rest.slice(1);
    if (rest.length === 0) {
      throw new BerthError('BAD_SYNTAX', `exec ${id}: missing command`, { hint: `berth exec ${id} -- ps` });
    }
    // vzctl exec's meaning: the words, joined with spaces, are a command line for the shell
    const argv = direct ? rest : ['/bin/sh', '-c', rest.join(' ')];
    const last = flags.at(-1);
    const pty = last === '-t' ? true : last === '-T' ? false : (await io.isTty(0)) && (await io.isTty(1));
    return execInContainer(ctx, id, argv, {
      pty,
      verb: 'exec',
      env,
      ...(fds.winsize ? { winsizeFd: fds.winsize } : {}),
    });
  },
};
