// berth-oci spec [--bundle DIR] [--rootless]: writes DIR/config.json (runc spec), never over one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { defaultSpec } from '../core/oci-default.ts';
import { errCode } from '../host/fs-util.ts';
import { type OciGlobal, parseFlags } from './main.ts';

export async function run(_g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('spec', args, ['bundle', 'b'], ['rootless']);
  if (positionals.length) throw new BerthError('BAD_SYNTAX', 'spec: takes no arguments');
  const dir = flags.get('bundle')?.at(-1) ?? flags.get('b')?.at(-1) ?? '.';
  const rootless = flags.get('rootless')?.at(-1) === 'true';
  const ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const file = join(dir, 'config.json');
  try {
    writeFileSync(file, `${JSON.stringify(defaultSpec(rootless ? ids : null), null, '\t')}\n`, { flag: 'wx' });
  } catch (err) {
    if (errCode(err) === 'EEXIST') throw new BerthError('BAD_VALUE', `spec: ${file} exists: it is left as it is`);
    throw new BerthError('SYSTEM', `spec: write ${file}: ${(err as Error).message}`);
  }
  return 0;
}
