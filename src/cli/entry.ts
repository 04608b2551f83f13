// The shipped executable's entry (`bun build --compile`, docs/performance.md): the binary is
// <package>/bin/berth, also when run through a symlink, so the helper is found beside it.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { main } from './berth.ts';

// main turns every error into a message and an exit code: it does not reject
void main(process.argv.slice(2), undefined, join(dirname(realpathSync(process.execPath)), '..')).then((code) => {
  process.exitCode = code;
});
