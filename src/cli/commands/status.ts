// berth status CTID [--json]
import { parseCtId } from '../../core/ctid.ts';
import { ctRow } from '../../ops/list.ts';
import { type Command, parse } from '../command.ts';

export const command: Command = {
  summary: 'show whether a container exists, is mounted and runs',
  usage: 'berth status CTID [--json]',
  help: `Prints "CTID <id> exist|deleted mounted|unmounted running|suspended|down", as vzctl does.
Always exits 0 for a valid CTID; read the words (or --json) to branch in scripts.`,
  noRoot: false,
  async run(ctx, args, io) {
    const { values, positionals } = parse('status', args, { json: { type: 'boolean' } });
    const id = parseCtId(positionals[0]);
    const row = ctRow(ctx, id);
    const exists = row?.exists ?? false;
    const status = row?.status === 'stopped' || !row ? 'down' : row.status;
    if (values.json) {
      io.out(
        JSON.stringify({ ctid: id, exist: exists, mounted: row?.mounted ?? false, status, pid: row?.pid ?? null }),
      );
    } else {
      io.out(`CTID ${id} ${exists ? 'exist' : 'deleted'} ${row?.mounted ? 'mounted' : 'unmounted'} ${status}`);
    }
    return 0;
  },
};
