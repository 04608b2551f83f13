// An HTTP upload's body written to a new file (host/backup-store.ts: a backup is kept as the
// archive it is; host/dump-store.ts unpacks a checkpoint as it arrives instead).
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { BerthError } from '../core/errors.ts';

/**
 * Writes BODY to the new FILE (0600, made exclusively); resolves with its size once it is all
 * on disk. A body that ends early, fails, or passes MAX bytes is rejected with REFUSE(why); past
 * MAX, the rest is read and dropped so that the client still gets its answer. The caller
 * removes FILE after a failure.
 */
export function receiveUpload(
  body: Readable,
  file: string,
  refuse: (why: string) => BerthError,
  max = Number.POSITIVE_INFINITY,
): Promise<number> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let n = 0;
  return new Promise<number>((resolve, reject) => {
    const fail = (err: Error) => {
      body.unpipe(out);
      body.resume();
      out.destroy();
      reject(err);
    };
    body.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) fail(refuse(`larger than ${max} bytes`));
    });
    body.on('error', fail);
    body.on('aborted', () => fail(refuse('the upload ended early')));
    out.on('error', fail);
    out.on('finish', () => resolve(n));
    body.pipe(out);
  });
}
