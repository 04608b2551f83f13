// berth suspend CTID [--dumpfile DIR] / berth resume CTID [--dumpfile DIR]
import { parseCtId } from '../../core/ctid.ts';
import { chkpntContainer } from '../../ops/chkpnt.ts';
import { restoreDump } from '../../ops/restore-dump.ts';
import { suspendContainer } from '../../ops/suspend.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { dumpfile: { type: 'string' } } as const;

export const suspendCommand: Command = {
  summary: 'freeze every process of a container, or checkpoint it to disk (--dumpfile)',
  usage: 'berth suspend CTID [--dumpfile DIR]',
  help: `Freezes the container's processes with the cgroup freezer; they keep their memory and
resume where they were ("berth resume CTID").

  --dumpfile DIR  instead, checkpoint the container into DIR and stop it, as "berth chkpnt
                  CTID --dumpfile DIR" does (vzctl's suspend); "berth resume CTID
                  --dumpfile DIR" brings it back

Exit codes: 31 not running (or already suspended); with --dumpfile, chkpnt's.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('suspend', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    if (values.dumpfile !== undefined) {
      const r = await chkpntContainer(ctx, id, values.dumpfile);
      io.err(`Container ${id} checkpointed to ${r.dir} (dump ${r.ms} ms) and stopped`);
      return 0;
    }
    await suspendContainer(ctx, id, true);
    return 0;
  },
};

export const resumeCommand: Command = {
  summary: 'thaw a suspended container, or restore a checkpoint (--dumpfile)',
  usage: 'berth resume CTID [--dumpfile DIR]',
  help: `Undoes "berth suspend".

  --dumpfile DIR  restore the checkpoint in DIR, as "berth restore CTID --dumpfile DIR" does

Exit codes: 31 not suspended; with --dumpfile, restore's.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('resume', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    if (values.dumpfile !== undefined) {
      const r = await restoreDump(ctx, id, values.dumpfile);
      io.err(`Container ${id} restored from ${values.dumpfile} (init pid ${r.pid}, restore ${r.ms} ms)`);
      return 0;
    }
    await suspendContainer(ctx, id, false);
    return 0;
  },
};
