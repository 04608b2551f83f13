// berth exec CTID [--] COMMAND [ARGS...]
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { execInContainer } from '../../ops/exec.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  summary: 'run a command inside a running container',
  usage: 'berth exec CTID [--] COMMAND [ARGS...]',
  help: `Runs COMMAND directly (no shell) as root inside the container: its namespaces, cgroups,
capabilities and seccomp filter. stdin, stdout and stderr are streamed; berth exits with the
command's exit status (128+N if it died of signal N). Use "sh -c '...'" for shell syntax.

Exit codes: the command's own; 31 not running, 127 no such command, 126 not executable.`,
  async run(ctx, args) {
    const id = parseCtId(args[0]);
    const rest = args[1] === '--' ? args.slice(2) : args.slice(1);
    if (rest.length === 0) {
      throw new BerthError('BAD_SYNTAX', `exec ${id}: missing command`, { hint: `berth exec ${id} -- ps` });
    }
    return execInContainer(ctx, id, rest, { pty: false, verb: 'exec' });
  },
};
