// berth-oci list [--format table|json] [-q]: the containers under --root.
import { writeSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { listOciIds, readOciRecord } from '../host/oci-state.ts';
import { type OciGlobal, parseFlags } from './main.ts';
import { stateOf } from './state.ts';

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('list', args, ['format', 'f'], ['quiet', 'q']);
  if (positionals.length) throw new BerthError('BAD_SYNTAX', 'list: takes no arguments');
  const format = flags.get('format')?.at(-1) ?? flags.get('f')?.at(-1) ?? 'table';
  if (format !== 'table' && format !== 'json') throw new BerthError('BAD_VALUE', 'list: --format is table or json');
  const states = listOciIds(g.root).flatMap((id) => {
    const r = readOciRecord(g.root, id);
    return r ? [stateOf(g, r)] : [];
  });
  if (flags.has('quiet') || flags.has('q')) {
    writeSync(1, states.map((s) => `${s['id']}\n`).join(''));
  } else if (format === 'json') {
    writeSync(1, `${JSON.stringify(states)}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states)
      rows.push([s['id'], s['pid'], s['status'], s['bundle'], s['created'], s['owner']].map(String));
    const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    writeSync(
      1,
      rows
        .map(
          (r) =>
            `${r
              .map((c, i) => c.padEnd(w[i] ?? 0))
              .join('   ')
              .trimEnd()}\n`,
        )
        .join(''),
    );
  }
  return 0;
}
