// berth enter CTID
import { parseCtId } from '../../core/ctid.ts';
import { enterContainer } from '../../ops/enter.ts';
import { type Command, parse } from '../command.ts';

export const command: Command = {
  summary: 'open an interactive root shell inside a container',
  usage: 'berth enter CTID',
  help: `Starts a login shell (bash if the container has it, else sh) as root on a new pty of the
container's own devpts, and connects it to your terminal. Leave with "exit" or Ctrl-D.
Needs a terminal on stdin; for scripts use "berth exec".

Exit codes: the shell's own; 2 no terminal, 31 not running.`,
  async run(ctx, args, io) {
    const { positionals } = parse('enter', args, {});
    const id = parseCtId(positionals[0]);
    return enterContainer(ctx, id, await io.isTty(0));
  },
};
