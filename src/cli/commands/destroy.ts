// berth destroy CTID
import { parseCtId } from '../../core/ctid.ts';
import { destroyContainer } from '../../ops/destroy.ts';
import { type Command, parse } from '../command.ts';

export const command: Command = {
  summary: 'delete a stopped container and all its files',
  usage: 'berth destroy CTID',
  help: `Removes the private area, the config file (/etc/berth/ct/CTID.conf), the container's
snapshots, the console log and runtime leftovers, and says so first, snapshots by name. The
container must be stopped. This cannot be undone. Its action scripts
(/etc/berth/ct/CTID.ACTION) are kept as CTID.ACTION.destroyed, as vzctl does.

A container whose config is broken (berth status says so) is destroyed too: its files are
found where berth.conf puts them for the CTID, and paths named only by the broken file are
left alone (it says which).

Exit codes: 32 running, 14 no such container.`,
  async run(ctx, args, io) {
    const { positionals } = parse('destroy', args, {});
    const id = parseCtId(positionals[0]);
    await destroyContainer(ctx, id);
    io.err(`Container ${id} destroyed`);
    return 0;
  },
};
