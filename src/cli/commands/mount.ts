// berth mount CTID / berth umount CTID
import { parseCtId } from '../../core/ctid.ts';
import { mountContainer, umountContainer } from '../../ops/mount.ts';
import { type Command, parse } from '../command.ts';

export const mountCommand: Command = {
  summary: "mount a stopped container's files at VE_ROOT",
  usage: 'berth mount CTID',
  help: `Shows the container's files at VE_ROOT (/var/lib/berth/root/CTID), so the admin can look
inside, copy files in and change them. The view shows the ids stored on disk, as under vzctl:
uid 0 is the container's root, and what root on the host creates there belongs to root
inside, in an unprivileged container too (whose running root shows ids shifted by ID_BASE).
The view is nosuid and nodev, and only root reaches it (its parent is 0700); start mounts the
root afresh. The premount and mount action scripts run around it (docs/scripts.md).
Exit codes: 41 already mounted, 43 private missing, 79 an action script failed.`,
  async run(ctx, args) {
    const { positionals } = parse('mount', args, {});
    await mountContainer(ctx, parseCtId(positionals[0]));
    return 0;
  },
};

export const umountCommand: Command = {
  summary: 'unmount VE_ROOT of a stopped container',
  usage: 'berth umount CTID',
  help: `Undoes "berth mount", with the umount and postumount action scripts around it.
Exit codes: 40 not mounted, 32 the container runs.`,
  async run(ctx, args) {
    const { positionals } = parse('umount', args, {});
    await umountContainer(ctx, parseCtId(positionals[0]));
    return 0;
  },
};
