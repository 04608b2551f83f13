// Where the benches find berth and the runtimes' empty start-ups (the floors).
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = new URL('../../', import.meta.url).pathname;
/** the berth every bench drives: the repo's own, whatever it is built as (Node shim or executable) */
export const BERTH = join(REPO, 'bin/berth');
/**
 * Bun as pinned by the npm dependency @oven/bun-linux-x64: the binary build/bun runs on this CPU,
 * resolved once, so that the floor `bun -e 0` does not include the wrapper's shell.
 */
export const BUN = spawnSync(join(REPO, 'build/bun'), ['-e', 'process.stdout.write(process.execPath)'], {
  encoding: 'utf8',
}).stdout;

/** The runtime under BERTH: 'bun' for a compiled executable (ELF) or a bun shebang, else 'node'. */
export function berthRuntime(): 'node' | 'bun' {
  const fd = openSync(BERTH, 'r');
  const head = Buffer.alloc(64);
  readSync(fd, head, 0, 64, 0);
  closeSync(fd);
  if (head.subarray(0, 4).toString('latin1') === '\x7fELF') return 'bun';
  return head.toString('latin1').split('\n')[0]?.includes('bun') ? 'bun' : 'node';
}
