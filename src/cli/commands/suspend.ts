// berth suspend CTID / berth resume CTID
import { parseCtId } from '../../core/ctid.ts';
import { suspendContainer } from '../../ops/suspend.ts';
import { type Command, parse } from '../command.ts';

export const suspendCommand: Command = {
  summary: 'freeze every process of a container',
  usage: 'berth suspend CTID',
  help: `Freezes the container's processes with the cgroup freezer; they keep their memory and
resume where they were. Exit codes: 31 not running (or already suspended).`,
  async run(ctx, args) {
    const { positionals } = parse('suspend', args, {});
    await suspendContainer(ctx, parseCtId(positionals[0]), true);
    return 0;
  },
};

export const resumeCommand: Command = {
  summary: 'thaw a suspended container',
  usage: 'berth resume CTID',
  help: 'Undoes "berth suspend". Exit codes: 31 not suspended.',
  async run(ctx, args) {
    const { positionals } = parse('resume', args, {});
    await suspendContainer(ctx, parseCtId(positionals[0]), false);
    return 0;
  },
};
