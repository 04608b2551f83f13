// berth-oci ps [--format table|json] ID: the container's processes (host pids), from its cgroups.
import { readFileSync, writeSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { cgroupPids } from '../host/cgroups.ts';
import { cgroupDirs, mustRecord } from './container.ts';
import { type OciGlobal, parseFlags } from './main.ts';

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('ps', args, ['format', 'f'], [], true);
  if (positionals.length < 1) throw new BerthError('BAD_SYNTAX', 'ps: takes a container id');
  const r = mustRecord(g, positionals[0]);
  const pids = cgroupPids(cgroupDirs(r)).sort((a, b) => a - b);
  const format = flags.get('format')?.at(-1) ?? flags.get('f')?.at(-1) ?? 'table';
  if (format === 'json') {
    writeSync(1, `${JSON.stringify(pids)}\n`);
    return 0;
  }
  const cmd = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return '';
    }
  };
  writeSync(1, `PID     CMD\n${pids.map((p) => `${String(p).padEnd(7)} ${cmd(p)}\n`).join('')}`);
  return 0;
}
