// berth status CTID [--json]
import { parseCtId } from '../../core/ctid.ts';
import { ctStatus, migrating as migratingOf } from '../../ops/list.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { json: { type: 'boolean' } } as const;

export const command: Command = {
  summary: 'show whether a container exists, is mounted and runs',
  usage: 'berth status CTID [--json]',
  help: `Prints "CTID <id> exist|deleted mounted|unmounted running|suspended|down", as vzctl does.
Always exits 0 for a valid CTID; read the words (or --json) to branch in scripts.

A container whose config cannot be read gets a last word "broken", and stderr says what is
wrong and where (file, line, key); --json has it as "problem" (null when the config is fine).
Its files are then looked for where berth.conf puts them for the CTID.

A container that berth migrate is moving keeps its status line; stderr says so, and --json
has "migrating": "DEST:PHASE" (null otherwise).`,
  noRoot: false,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('status', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const st = ctStatus(ctx, id);
    const exists = st?.exists ?? false;
    const mounted = st?.mounted ?? false;
    const status = !st || st.status === 'stopped' ? 'down' : st.status;
    const problem = st?.problem ?? null;
    // a container migrated away may have no config here while its journal is still there
    const migrating = st ? st.migrating : migratingOf(ctx, id);
    if (values.json) {
      io.out(JSON.stringify({ ctid: id, exist: exists, mounted, status, pid: st?.pid ?? null, problem, migrating }));
    } else {
      io.out(
        `CTID ${id} ${exists ? 'exist' : 'deleted'} ${mounted ? 'mounted' : 'unmounted'} ${status}${problem ? ' broken' : ''}`,
      );
    }
    if (problem) ctx.log(`warning: ${id}: broken config: ${problem}`);
    // the status line stays vzctl's: the migration is said beside it
    if (migrating)
      ctx.log(`${id}: being migrated (${migrating}): berth migrate ${id} DEST finishes it, --abort undoes it`);
    return 0;
  },
};
