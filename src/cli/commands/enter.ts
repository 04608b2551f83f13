// berth enter [--attach N [-e CHAR]] CTID
import { DEFAULT_ESCAPE, parseEscape } from '../../core/console.ts';
import { MAX_SESSIONS } from '../../core/criu.ts';
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { attachConsole } from '../../ops/console.ts';
import { enterContainer } from '../../ops/enter.ts';
import { type Command, parse, parseFd } from '../command.ts';

const OPTIONS = {
  attach: { type: 'string' },
  escape: { type: 'string', short: 'e' },
  'winsize-fd': { type: 'string' },
} as const;

export const command: Command = {
  summary: 'open an interactive root shell inside a container',
  usage: 'berth enter CTID\n       berth enter --attach N [-e CHAR] [--winsize-fd N] CTID',
  help: `Starts a login shell (bash if the container has it, else sh) as root on a new pty of the
container's own devpts, and connects it to your terminal. Leave with "exit" or Ctrl-D.
Needs a terminal on stdin; for scripts use "berth exec".

A checkpoint carries the session (berth chkpnt, berth migrate --online): the shell goes on in
the checkpoint, and this enter ends saying so. Once the container is restored (here, or on the
host it migrated to), "berth enter --attach N CTID" attaches your terminal to that shell again;
N is the number the message gave. Detach with Esc then "." (the shell goes on, and you may
attach again); the attach ends when the shell does.

Options:
  --attach N          attach to carried-over session N instead of starting a shell
  -e, --escape CHAR   with --attach: the detach prefix instead of Esc (see berth console)
  --winsize-fd N      with --attach: window sizes from fd N, as berth console takes them

Exit codes: the shell's own (0 once a checkpoint took the session); 2 no terminal, 9 session
already attached, 21 no such session, 31 not running.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('enter', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const tty = await io.isTty(0);
    if (values.attach !== undefined) {
      const n = Number(values.attach);
      if (!/^\d+$/.test(values.attach) || n < 1 || n > MAX_SESSIONS) {
        throw new BerthError(
          'BAD_VALUE',
          `enter ${id}: --attach ${JSON.stringify(values.attach.slice(0, 20))}: a session number, 1 to ${MAX_SESSIONS}`,
        );
      }
      const key = values.escape === undefined ? DEFAULT_ESCAPE : parseEscape(values.escape);
      const winsizeFd = values['winsize-fd'] === undefined ? undefined : parseFd(values['winsize-fd']);
      // the keeper holds a carried session's pty as it holds the console's
      return attachConsole(ctx, id, { escape: key, tty, session: n, winsizeFd });
    }
    if (values.escape !== undefined || values['winsize-fd'] !== undefined)
      throw new BerthError('BAD_SYNTAX', 'enter: -e and --winsize-fd go with --attach');
    return enterContainer(ctx, id, tty);
  },
};
