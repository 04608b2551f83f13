// berth mount CTID / berth umount CTID
import { parseCtId } from '../../core/ctid.ts';
import { mountContainer, umountContainer } from '../../ops/mount.ts';
import { type Command, parse } from '../command.ts';

export const mountCommand: Command = {
  summary: "mount a stopped container's files at VE_ROOT",
  usage: 'berth mount CTID',
  help: `Bind-mounts the private area at VE_ROOT (/var/lib/berth/root/CTID), as start does, so
the admin can look inside or copy files. The view is nosuid and nodev (start mounts the
root afresh without them). Exit codes: 41 already mounted, 43 private missing.`,
  async run(ctx, args) {
    const { positionals } = parse('mount', args, {});
    await mountContainer(ctx, parseCtId(positionals[0]));
    return 0;
  },
};

export const umountCommand: Command = {
  summary: 'unmount VE_ROOT of a stopped container',
  usage: 'berth umount CTID',
  help: `Undoes "berth mount". Exit codes: 40 not mounted, 32 the container runs.`,
  async run(ctx, args) {
    const { positionals } = parse('umount', args, {});
    await umountContainer(ctx, parseCtId(positionals[0]));
    return 0;
  },
};
