// berth console [-e CHAR] CTID
import { DEFAULT_ESCAPE, parseEscape } from '../../core/console.ts';
import { parseCtId } from '../../core/ctid.ts';
import { attachConsole } from '../../ops/console.ts';
import { type Command, parse, parseFd } from '../command.ts';

const OPTIONS = { escape: { type: 'string', short: 'e' }, 'winsize-fd': { type: 'string' } } as const;

export const command: Command = {
  summary: "attach your terminal to a running container's console",
  usage: 'berth console [-e CHAR] CTID',
  help: `Attaches your terminal to the container's console (/dev/console inside), as vzctl console
does: you see what the container writes there from now on (systemd's boot messages, a
getty's login prompt; press Enter for a fresh prompt) and what you type goes to it. Detach
with Esc then "." (Esc followed by any other key is sent as typed, so a lone Esc waits for the
next key). Nothing earlier is replayed: the console's past is in
/var/log/berth/CTID.console.log (bounded by CONSOLE_LOG_SIZE).

The debian-12 template runs a getty on its console (systemd's console-getty.service), so you
get a login prompt (set a password first: berth set CTID --userpasswd root:...). The
built-in busybox template runs none (its /etc/inittab has no console entry): you see init's
boot and shutdown messages and whatever is written to /dev/console; for a shell there, add
"::askfirst:-/bin/sh" (or a getty line) to the container's /etc/inittab.

One admin at a time: a second berth console of the same container is refused (exit 9) and
told the pid of the first; attaches in turn are fine. When the container stops, its last
words are shown, berth console says so and exits 0.

Your terminal is never handed to the container or to its keeper (the host process that
holds the console): berth copies bytes, and restores your terminal on every way out. Without
a terminal on stdin, it works as a byte pipe for scripts: stdin goes to the console and its
output to stdout until stdin ends (which detaches).

Options:
  -e, --escape CHAR   the detach prefix instead of Esc: ^X for a control key (^a is Ctrl-A),
                      one character other than ".", or none (only the end of stdin detaches)
  --winsize-fd N      read the console's window sizes from fd N (two uint16, rows then
                      columns, per size) instead of a terminal: berthd passes a websocket's so

Exit codes: 0 detached or the container stopped; 9 already attached, 21 bad --escape,
31 not running.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('console', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const key = values.escape === undefined ? DEFAULT_ESCAPE : parseEscape(values.escape);
    const winsizeFd = values['winsize-fd'] === undefined ? undefined : parseFd(values['winsize-fd']);
    return attachConsole(ctx, id, { escape: key, tty: await io.isTty(0), winsizeFd });
  },
};
