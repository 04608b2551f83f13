// The destination of berth migrate: a remote berthd (berth remote add NAME URL), driven over
// its HTTPS API as berth -r NAME drives it (pinned server certificate, trusted client one).
import type { ApiClient, ApiReply } from '../api/client.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { destStateOf, PAGES_PROTOCOL } from '../core/migrate.ts';
import type { MigrateDest } from '../ops/migrate.ts';
import { fail, remoteClient } from './remote-run.ts';

/** The remote NAME as a migration's destination; close() ends its connections. */
export function remoteDest(name: string): MigrateDest & { close(): void } {
  const api = remoteClient(name);
  const ask = async <T>(what: Promise<ApiReply<T>>): Promise<ApiReply<T>> => {
    try {
      return await what;
    } catch (err) {
      throw new BerthError('SYSTEM', `remote ${name}: ${(err as Error).message}`, {
        hint: `is berth daemon --listen running there? (berth remote list shows its URL)`,
        cause: err,
      });
    }
  };
  const must = async <T>(what: Promise<ApiReply<T>>): Promise<T> => {
    const r = await ask(what);
    if (r.status >= 400) fail(r);
    return r.body;
  };
  const ct = (id: CtId) => `/1.0/containers/${encodeURIComponent(id)}`;
  const archive = (n: string) => `/1.0/backups/${encodeURIComponent(n)}`;
  return {
    name,
    async container(id) {
      const r = await ask(api.call('GET', ct(id)));
      // only "no such container" is absent: a 404 of another kind (no such path) is an error
      if (r.status >= 400 && !(r.status === 404 && errorName(r) === 'NO_CT_CONFIG')) fail(r);
      return destStateOf(r.status, r.body);
    },
    templates: () => must(api.call('GET', '/1.0/templates')),
    async upload(n, file, onBytes) {
      await must(api.upload(`/1.0/backups?name=${encodeURIComponent(n)}`, file, onBytes));
    },
    async removeArchive(n) {
      const r = await ask(api.call('DELETE', archive(n)));
      if (r.status >= 400 && r.status !== 404) fail(r);
    },
    async restore(n, id, privileged, idBase) {
      const keep = idBase === null ? {} : { idBase };
      await must(api.call('POST', `${archive(n)}/restore?wait`, { ctid: id, privileged, ...keep }));
    },
    async start(id) {
      await must(api.call('PUT', `${ct(id)}/state?wait`, { action: 'start' }));
    },
    async idBaseRefusal(id, base) {
      const r = await must(api.call<{ reason?: unknown }>('GET', `${ct(id)}/id-base?base=${base}`));
      return typeof r.reason === 'string' ? r.reason : null;
    },
    async uploadDump(n, file, onBytes) {
      await must(api.upload(`/1.0/dumps?name=${encodeURIComponent(n)}`, file, onBytes));
    },
    async removeDump(n) {
      const r = await ask(api.call('DELETE', `/1.0/dumps/${encodeURIComponent(n)}`));
      if (r.status >= 400 && r.status !== 404) fail(r);
    },
    async restoreDump(id, n, lazy) {
      await must(api.call('POST', `${ct(id)}/restore-dump?wait`, { dump: n, ...(lazy ? { lazy } : {}) }));
    },
    async openPages(n) {
      try {
        return await api.upgrade(`/1.0/dumps/${encodeURIComponent(n)}/pages`, PAGES_PROTOCOL);
      } catch (err) {
        const reply = (err as { reply?: ApiReply }).reply;
        if (reply) fail(reply);
        throw new BerthError('SYSTEM', `remote ${name}: ${(err as Error).message}`, { cause: err });
      }
    },
    async lazyPages() {
      const r = await must(api.call<{ lazy_pages?: unknown }>('GET', '/1.0'));
      return r.lazy_pages === true;
    },
    close: () => closeQuietly(api),
  };
}

const errorName = (r: ApiReply): unknown => (r.body as { error?: { name?: unknown } } | null)?.error?.name;

function closeQuietly(api: ApiClient): void {
  try {
    api.close();
  } catch {}
}
