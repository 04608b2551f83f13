// berth migrate CTID DEST [--online [--lazy-pages | --no-lazy-pages]] [--json] | berth migrate --abort CTID [--json]
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { abortMigration, migrateContainer } from '../../ops/migrate.ts';
import { type Command, parse } from '../command.ts';
import { remoteDest } from '../migrate-dest.ts';

const OPTIONS = {
  abort: { type: 'boolean' },
  online: { type: 'boolean' },
  'lazy-pages': { type: 'boolean' },
  'no-lazy-pages': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'move a container to another host (offline, or --online with its processes)',
  progress: true,
  usage:
    'berth migrate CTID DEST [--online [--lazy-pages | --no-lazy-pages]] [--json]\n       berth migrate --abort CTID [--json]',
  help: `Moves the container to DEST, a remote berthd (berth remote add DEST URL; its admin
trusts this user's client certificate with berth trust add), as vzmigrate does offline: stops
it here, backs it up, uploads the archive to DEST's backup store, restores it there under the
same CTID, starts it there if it ran here, then destroys it here and removes the archive.
An overlay container sends only its own files: DEST needs the same template version.

Nothing changes when DEST is unreachable, already has CTID, lacks the template layer, or the
container has snapshots (a migration does not carry them). Each step is recorded first in a
journal (/var/lib/berth/migrate/CTID.json): a failure or a kill at any point leaves the
container running on exactly one host, or stopped and whole here. While the journal exists,
the container's other verbs (start, set, destroy, backup, snapshot, clone...) refuse with exit
9, naming DEST and the phase; list -o migrating shows it.

  --abort    give the container back to this host: removes the uploaded archive and starts
             it here if it ran, while DEST does not have it (if DEST has it, destroy it there
             first: berth -r DEST destroy CTID; never done automatically)
  --online   live migration (vzmigrate --online): checkpoints it here with CRIU (berth
             chkpnt), sends the archive and the checkpoint, restores the files there with
             the same id range (refused before anything changes if DEST cannot give it),
             then its processes from the checkpoint; TCP sessions and routed addresses
             move along. --abort after the dump restores the checkpoint here. A stopped
             container is migrated offline. CRIU must be on both hosts (docs/migration.md)
  --lazy-pages
             with --online, post-copy: the checkpoint goes without the memory CRIU can
             restore on demand; the processes resume on DEST at once and take their
             pages from this host as they touch them (userfaultfd, through DEST's berthd),
             the rest following in the background. The container is removed here only
             once DEST has every page; if the stream breaks first, DEST stops it and a
             resume restores it there again from the whole checkpoint kept here. Refused
             before anything changes if DEST cannot (it needs /dev/userfaultfd, Linux
             6.1+, and setup's CRIU)
  --no-lazy-pages
             with --online, never post-copy. Without either, post-copy is chosen once
             the checkpoint is made if it holds at least 32 MB of such memory and DEST
             can: below that the pause is shorter without it (figures in
             docs/migration.md)
  --json     print the result as JSON

Run again, berth migrate CTID DEST resumes from what DEST has: nothing, the whole move again;
the container stopped, start it (if it ran) and finish; running, finish.

Examples:
  berth migrate 101 web2
  berth migrate --abort 101

Exit codes: 14 no such container, 44 DEST has CTID, 47 DEST lacks the template, 9 a
migration is under way, 21 unknown DEST or DEST cannot keep the id range (--online), 16
the checkpoint failed or is refused (nothing changed: it still runs here), 3 DEST unreachable; a failed step
answers its own code and leaves the journal (resume or abort).`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('migrate', args, OPTIONS, 2);
    const id = parseCtId(positionals[0]);
    const closers: Array<() => void> = [];
    const open = (name: string) => {
      const d = remoteDest(name);
      closers.push(d.close);
      return d;
    };
    try {
      if (values.abort) {
        if (positionals.length > 1) throw new BerthError('BAD_SYNTAX', 'migrate --abort takes CTID only');
        const r = await abortMigration(ctx, id, open);
        if (values.json) io.out(JSON.stringify({ ...r, aborted: true }, null, 2));
        io.err(`Migration of ${id} to ${r.dest} aborted: ${id} is here${r.running ? ' and running' : ', stopped'}`);
        return 0;
      }
      const dest = positionals[1];
      if (!dest) throw new BerthError('BAD_SYNTAX', `migrate ${id}: missing DEST`, { hint: 'berth remote list' });
      const yes = values['lazy-pages'] === true;
      const no = values['no-lazy-pages'] === true;
      if ((yes || no) && !values.online)
        throw new BerthError('BAD_SYNTAX', `migrate ${id}: --lazy-pages and --no-lazy-pages go with --online`, {
          hint: `berth migrate ${id} ${dest} --online --lazy-pages`,
        });
      if (yes && no) throw new BerthError('BAD_SYNTAX', `migrate ${id}: --lazy-pages or --no-lazy-pages, not both`);
      const r = await migrateContainer(ctx, id, dest, open, {
        online: values.online === true,
        lazy: yes ? true : no ? false : 'auto',
      });
      if (values.json) io.out(JSON.stringify(r, null, 2));
      io.err(`Container ${id} migrated to ${dest}${r.running ? ' and running there' : ' (stopped)'} in ${r.ms} ms`);
      return 0;
    } finally {
      for (const c of closers) c();
    }
  },
};
