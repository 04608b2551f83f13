// berth snapshot | snapshot-list | snapshot-switch | snapshot-delete | snapshot-mount | snapshot-umount
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import {
  snapshotCreate,
  snapshotDelete,
  snapshotList,
  snapshotMount,
  snapshotSwitch,
  snapshotUmount,
} from '../../ops/snapshot.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

/** --name N (vzctl identifies snapshots by --id; berth accepts that spelling too). */
const NAMED = { name: { type: 'string' }, id: { type: 'string' } } as const;
const MOUNT_OPTIONS = { ...NAMED, target: { type: 'string' } } as const;
const CREATE_OPTIONS = { name: { type: 'string' } } as const;
const LIST_OPTIONS = { json: { type: 'boolean' }, 'no-header': { type: 'boolean', short: 'H' } } as const;

function named(verb: string, args: string[], withTarget = false) {
  const { values, positionals } = parse(verb, args, withTarget ? MOUNT_OPTIONS : NAMED);
  const name = values.name ?? values.id;
  if (!name)
    throw new BerthError('BAD_SYNTAX', `${verb}: which snapshot? give --name NAME`, {
      hint: 'berth snapshot-list CTID',
    });
  return { id: parseCtId(positionals[0]), name, target: (values as { target?: string }).target };
}

export const snapshotCommand: Command = {
  summary: "snapshot a container's files (consistent while it runs)",
  progress: true,
  usage: 'berth snapshot CTID [--name NAME]',
  help: `Copies the container's own files and its config into
/var/lib/berth/snapshots/CTID/NAME: the whole tree (dir), what it changed on its template
layer (overlay), or its image (image). A running dir or overlay container is copied while it
runs, then frozen only while berth catches up with what changed meanwhile, so the snapshot
holds one instant; an image is frozen for the whole copy (its ext4 too). The time it was
frozen is recorded. The copy keeps owners, modes, xattrs, hard links and holes, and uses reflinks where
the filesystem has them.

  --name NAME   default: the time (20261125-231700); letters, digits, ".", "_", "-"

Example:
  berth snapshot 101 --name before-upgrade

Exit codes: 21 a snapshot of that name exists or a bad name, 14 no such container.`,
  options: CREATE_OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('snapshot', args, CREATE_OPTIONS);
    const m = await snapshotCreate(ctx, parseCtId(positionals[0]), values.name);
    io.err(`Snapshot ${m.name} of ${positionals[0]} created${m.running ? ` (frozen ${m.frozenMs} ms)` : ''}`);
    return 0;
  },
};

export const snapshotListCommand: Command = {
  summary: "list a container's snapshots",
  usage: 'berth snapshot-list CTID [-H] [--json]',
  help: `Every snapshot of the container, oldest first: its name, when it was made, the layout
of the files it holds, whether the container ran then and how long it was frozen (ms). A
snapshot is listed only once it is whole.

  -H, --no-header    omit the header line
  --json             print a JSON array of the snapshots' records

Exit codes: 14 no such container.`,
  options: LIST_OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('snapshot-list', args, LIST_OPTIONS);
    const list = snapshotList(ctx, parseCtId(positionals[0]));
    if (values.json) io.out(JSON.stringify(list, null, 2));
    else {
      const text = formatTable(
        ['NAME', 'CREATED', 'LAYOUT', 'RUNNING', 'FROZEN_MS'],
        list.map((s) => [s.name, s.created, s.layout, s.running ? 'yes' : 'no', String(s.frozenMs)]),
        !values['no-header'],
      );
      if (text) io.out(text);
    }
    return 0;
  },
};

export const snapshotSwitchCommand: Command = {
  summary: "put a snapshot's files back in place of the container's",
  usage: 'berth snapshot-switch CTID --name NAME',
  help: `Replaces the (stopped) container's files with a copy of the snapshot's; the snapshot
stays. The config's LAYOUT, LAYER, DISKSPACE and DISKINODES follow the snapshot; everything
else (addresses, limits) stays as it is now. A switch killed midway is finished, or rolled
back if the files were not yet touched, by the next command.

  --name NAME        the snapshot (see berth snapshot-list CTID)
  --id NAME          the same, in vzctl's spelling

Example:
  berth stop 101 && berth snapshot-switch 101 --name before-upgrade && berth start 101

Exit codes: 32 the container runs, 41 it is mounted, 21 no such snapshot, 14 no such
container.`,
  options: NAMED,
  async run(ctx, args, io) {
    const { id, name } = named('snapshot-switch', args);
    await snapshotSwitch(ctx, id, name);
    io.err(`Container ${id} switched to snapshot ${name}`);
    return 0;
  },
};

export const snapshotDeleteCommand: Command = {
  summary: 'delete a snapshot',
  usage: 'berth snapshot-delete CTID --name NAME',
  help: `Removes the snapshot's files and record; the container is not touched, and may run.

  --name NAME        the snapshot (see berth snapshot-list CTID)
  --id NAME          the same, in vzctl's spelling

Exit codes: 41 it is mounted (berth snapshot-umount), 21 no such snapshot, 14 no such
container.`,
  options: NAMED,
  async run(ctx, args, io) {
    const { id, name } = named('snapshot-delete', args);
    await snapshotDelete(ctx, id, name);
    io.err(`Snapshot ${name} of ${id} deleted`);
    return 0;
  },
};

export const snapshotMountCommand: Command = {
  summary: 'show a snapshot read-only at a directory',
  usage: 'berth snapshot-mount CTID --name NAME --target DIR',
  help: `Mounts the snapshot's files, as the container saw them, read-only, nosuid and nodev at
DIR (which must exist): for overlay, the snapshot on its template layer. Undo with
snapshot-umount.

  --name NAME        the snapshot (see berth snapshot-list CTID)
  --id NAME          the same, in vzctl's spelling
  --target DIR       where to show it

Example:
  mkdir -p /mnt/snap && berth snapshot-mount 101 --name before-upgrade --target /mnt/snap

Exit codes: 41 already mounted, 21 no such snapshot or target, 20 no --target.`,
  options: MOUNT_OPTIONS,
  async run(ctx, args) {
    const { id, name, target } = named('snapshot-mount', args, true);
    if (!target) throw new BerthError('BAD_SYNTAX', 'snapshot-mount: needs --target DIR');
    await snapshotMount(ctx, id, name, target);
    return 0;
  },
};

export const snapshotUmountCommand: Command = {
  summary: 'unmount a snapshot shown by snapshot-mount',
  usage: 'berth snapshot-umount CTID --name NAME',
  help: `Unmounts what snapshot-mount showed; the directory stays.

  --name NAME        the snapshot
  --id NAME          the same, in vzctl's spelling

Exit codes: 40 not mounted, 21 no such snapshot.`,
  options: NAMED,
  async run(ctx, args) {
    const { id, name } = named('snapshot-umount', args);
    await snapshotUmount(ctx, id, name);
    return 0;
  },
};
