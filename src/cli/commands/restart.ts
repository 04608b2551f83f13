// berth restart CTID [--fast]
import { parseCtId } from '../../core/ctid.ts';
import { restartContainer } from '../../ops/restart.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { fast: { type: 'boolean' } } as const;

export const command: Command = {
  summary: 'stop (if running) and start a container',
  usage: 'berth restart CTID [--fast]',
  help: `Stops the container cleanly (or at once with --fast) if it runs, then starts it.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('restart', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const pid = await restartContainer(ctx, id, values.fast ?? false);
    io.err(`Container ${id} restarted (init pid ${pid})`);
    return 0;
  },
};
