// GET /1.0/dumps/{name}/pages with `Upgrade: berth-pages`: the destination's end of a post-copy
// migration (berth migrate --online --lazy-pages, docs/migration.md). berthd starts CRIU's
// lazy-pages daemon for the uploaded dump NAME and, once it listens, answers 101; from then on
// the connection carries CRIU's page protocol between it and the source's page server. The
// restore that follows (POST .../restore-dump {lazy: true}) hands the daemon its tasks' memory.
//
// While the daemon runs, an operation holds the container (busy in GET /1.0/containers/CTID):
// its memory is not all here yet. If the daemon ends without every page (the source or the
// link went), the restored tasks would meet zero-filled pages where theirs were missing, so
// berthd stops the container at once; the source still has the whole dump, and a resumed
// migration restores it here again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.ts';
import { PAGES_PROTOCOL } from '../../core/migrate.ts';
import { isWholeDump } from '../../host/criu.ts';
import { LAZY_PAGES_LOG, LAZY_SOCKET, lazyPagesDaemon } from '../../host/criu-lazy.ts';
import { dumpCtId, dumpUploadDir } from '../../host/dump-store.ts';
import { removeFile } from '../../host/files.ts';
import type { Daemon } from '../daemon.ts';
import type { ApiRequest, Route } from '../router.ts';

/** how long the daemon may take to listen, and how long it may outlive the source's sending */
const LISTEN_MS = 10_000;
const GRACE_MS = 5_000;

async function pages(d: Daemon, r: ApiRequest): Promise<null> {
  const up = r.upgrade;
  if (!up || String(r.req.headers.upgrade ?? '').toLowerCase() !== PAGES_PROTOCOL)
    throw new BerthError('BAD_SYNTAX', `GET /1.0/dumps/{name}/pages: an upgrade to ${PAGES_PROTOCOL} is needed here`, {
      hint: 'berth migrate --online --lazy-pages opens it',
    });
  const name = r.params['name'] ?? '';
  const dir = dumpUploadDir(d.paths, name);
  const id = dumpCtId(name);
  if (!isWholeDump(dir)) throw new BerthError('NOT_FOUND', `dump ${name}: not in this host's dump store`);
  removeFile(join(dir, LAZY_SOCKET)); // an earlier daemon's
  const daemon = lazyPagesDaemon(dir, up.socket);
  let ended = false;
  void daemon.done.then(() => {
    ended = true;
  });
  for (const end = Date.now() + LISTEN_MS; !existsSync(join(dir, LAZY_SOCKET)); ) {
    if (ended || Date.now() > end) {
      daemon.kill();
      throw new BerthError('RESTORE', `dump ${name}: criu lazy-pages did not start: see ${join(dir, LAZY_PAGES_LOG)}`);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  up.socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${PAGES_PROTOCOL}\r\nconnection: Upgrade\r\n\r\n`);
  // the source stopped sending (its page server ended, or went): a daemon still there after the
  // grace waits for what will never come (a restore that was never asked for)
  const giveUp = () => setTimeout(() => daemon.kill(), GRACE_MS).unref();
  up.socket.once('end', giveUp);
  up.socket.once('close', giveUp);
  d.operations.startInProcess(`lazy pages of ${id} from ${name}`, [id], async (request) => {
    const code = await daemon.done;
    if (code === 0) return { pages: 'all' };
    const stop = d.operations.start(['stop', '--fast', id], [id]);
    await d.operations.wait(stop.id, 60_000);
    throw new BerthError(
      'RESTORE',
      `${id}: its memory stopped coming (criu lazy-pages exited with ${code ?? 'a signal'}): stopped here (${request})`,
      {
        hint: `the source still has the whole checkpoint: berth migrate ${id} DEST resumes there`,
      },
    );
  });
  return null;
}

export function pagesRoutes(d: Daemon): Route[] {
  return [{ method: 'GET', path: '/1.0/dumps/{name}/pages', handler: (r) => pages(d, r) }];
}
