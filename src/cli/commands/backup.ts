// berth backup CTID [-o FILE] / berth restore FILE [NEWCTID] [--force] [--privileged yes|no]
// / berth restore CTID --dumpfile DIR (a checkpoint, ops/restore-dump.ts)
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { parseIdBase, parsePrivileged } from '../../core/idmap.ts';
import { formatMB } from '../../core/size.ts';
import { backupContainer, restoreBackup } from '../../ops/backup.ts';
import { restoreDump } from '../../ops/restore-dump.ts';
import { type Command, parse } from '../command.ts';

const BACKUP_OPTIONS = { output: { type: 'string', short: 'o' }, json: { type: 'boolean' } } as const;
const RESTORE_OPTIONS = {
  force: { type: 'boolean' },
  privileged: { type: 'string' },
  dumpfile: { type: 'string' },
  'lazy-pages': { type: 'boolean' },
  'id-base': { type: 'string' },
} as const;

export const backupCommand: Command = {
  summary: 'write a container to one archive (consistent while it runs)',
  progress: true,
  usage: 'berth backup CTID [-o FILE] [--json]',
  help: `Writes one tar archive holding the container's config, its own files (as a zstd
tarball that keeps owners, modes, xattrs, ACLs, device nodes, hard links and holes) and a
manifest with their checksums. A running dir or overlay container is copied while it runs,
then frozen only while berth catches up with what changed meanwhile (milliseconds, whatever
its size), so the archive holds one instant; an image is frozen for the whole archive (its
ext4 too). The time it was frozen is reported. The file appears whole (written beside it,
then renamed) or not at all, and readable by root only. Its members are built under
/var/lib/berth/backup/.work (room for the files is needed there, twice for a running
container: its copy and the archive's);
what a killed backup leaves, there and beside FILE, is removed by the next command on the
container.

  -o, --output FILE   default: /var/lib/berth/backup/CTID-YYYYMMDD-HHMMSS.tar
  --json              print the manifest

An overlay container's backup holds what it changed on its template layer, and names the
template version (sha256): restoring it elsewhere needs that template imported there.

Example:
  berth backup 101 -o /srv/backup/101.tar

On a terminal, a status line shows the copy and the archive growing (bytes and rate); not
with --json.

Exit codes: 14 no such container, 21 FILE exists.`,
  options: BACKUP_OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('backup', args, BACKUP_OPTIONS);
    const r = await backupContainer(ctx, parseCtId(positionals[0]), values.output);
    if (values.json) io.out(JSON.stringify({ file: r.file, ...r.manifest }, null, 2));
    io.err(
      `Backup of ${r.manifest.ctid} written: ${r.file} (${formatMB(r.manifest.size)}${r.manifest.running ? `, frozen ${r.frozenMs} ms` : ''})`,
    );
    return 0;
  },
};

export const restoreCommand: Command = {
  summary: 'restore a container from a backup archive, or from a checkpoint (--dumpfile)',
  progress: true,
  usage:
    'berth restore FILE [NEWCTID] [--force] [--privileged yes|no] [--id-base N]\n       berth restore CTID --dumpfile DIR [--lazy-pages]',
  help: `Two restores, told apart by --dumpfile: without it the first argument is a backup
archive (berth backup); with it, a container's CTID and the checkpoint directory "berth
chkpnt" wrote (vzctl's form).

Checkpoint (--dumpfile DIR): the stopped container CTID is brought back running where it was
dumped, its processes, open files, sockets and console intact (CRIU; docs/checkpoint.md). DIR's
berth-meta.json must name CTID, and the container must still have the ID_BASE and layout it
was dumped with; a missing or damaged DIR is refused before anything is made (exit 17). A
failed restore tears down what it made and leaves CRIU's log in DIR/restore.log. An address
another container took since the dump refuses it (exit 78). After a restore, sysinfo(2)
answers the host's figures until the next start (the keeper's listener cannot be restored);
/proc/meminfo and the other lxcfs files still show the container's.

  --dumpfile DIR       restore the checkpoint in DIR into CTID
  --lazy-pages         post-copy: the memory CRIU marked lazy is not in DIR but comes on
                       demand from a "criu lazy-pages" daemon already serving DIR (berth
                       migrate --online --lazy-pages runs one on the destination; see
                       docs/migration.md)

Archive (FILE): reads the whole archive and verifies every checksum before writing anything; a
truncated, damaged or foreign archive is refused (exit 152) with nothing written. The
container is restored as NEWCTID, or under the CTID it was backed up from. An existing
container is never replaced without --force (which destroys it first; it must be stopped).
Addresses and port forwards that another container holds now are left out, with a warning.
As NEWCTID it is a second machine: its first start writes a fresh /etc/machine-id (under its
own CTID it keeps its id). A restore killed midway is rolled back by the next command for
that CTID.

An archive is treated as hostile: only what berth itself writes is taken from it. Its file
entries must stay inside the tree (no absolute names, "..", entries under a symlink, hard
links out, device nodes a container does not keep on disk; an image holds only root.img,
checked with e2fsck); its config keys are checked as "set" checks them; VE_ROOT, VE_PRIVATE
and the id range come from berth.conf and the new CTID; DEVNODES, capabilities turned on
and unknown keys are left out, with a warning.

  --privileged yes|no  default no: the container gets a user namespace and a fresh id range,
                       whatever the archive's container had (yes: root inside is root on
                       the host; see docs/security.md)
  --id-base N          keep host uid N as the id range's base instead of a fresh one (berth
                       migrate --online asks this: a checkpoint holds its user namespace
                       map); refused if another container's range or /etc/subuid overlaps it

Examples:
  berth restore /srv/backup/101.tar 201
  berth chkpnt 101 && berth restore 101 --dumpfile /var/lib/berth/dump/101
  berth stop 101 && berth restore /srv/backup/101.tar --force

On a terminal, a status line shows the unpacking (bytes of the total, and the rate); not with
--json.

Exit codes: 152 bad or refused archive, 44 the CTID exists (without --force), 47 the template
layer of an overlay backup is missing here, 32 --force on a running container (or a restore
of a checkpoint into a running one), 21 bad value, 17 the checkpoint is refused or CRIU failed,
78 an address of the checkpoint is another container's now.`,
  options: RESTORE_OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('restore', args, RESTORE_OPTIONS, 2);
    if (values.dumpfile !== undefined) {
      if (positionals.length !== 1 || values.force || values.privileged !== undefined)
        throw new BerthError('BAD_SYNTAX', 'restore --dumpfile: takes one CTID and no other option', {
          hint: 'berth restore CTID --dumpfile DIR [--lazy-pages]',
        });
      const id = parseCtId(positionals[0]);
      const r = await restoreDump(ctx, id, values.dumpfile, { lazy: values['lazy-pages'] === true });
      io.err(`Container ${id} restored from ${values.dumpfile} (init pid ${r.pid}, restore ${r.ms} ms)`);
      return 0;
    }
    if (values['lazy-pages'])
      throw new BerthError('BAD_SYNTAX', 'restore: --lazy-pages goes with --dumpfile', {
        hint: 'berth restore CTID --dumpfile DIR --lazy-pages',
      });
    const file = positionals[0];
    if (!file) throw new BerthError('BAD_SYNTAX', 'restore: missing FILE', { hint: 'berth restore FILE [NEWCTID]' });
    const privileged = values.privileged === undefined ? false : parsePrivileged(values.privileged);
    const idBase = values['id-base'] === undefined ? undefined : parseIdBase(values['id-base'], '--id-base');
    if (idBase === null || (idBase !== undefined && privileged))
      throw new BerthError('BAD_VALUE', 'restore: --id-base wants a host uid, and no --privileged yes');
    const r = await restoreBackup(ctx, file, positionals[1], { force: values.force, privileged, idBase });
    io.err(`Container ${r.id} restored from ${file} (backed up ${r.manifest.created})`);
    return 0;
  },
};
