// Snapshots, backups (streamed download and upload), clones and counters of a container.
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { parseIdBase } from '../../core/idmap.ts';
import { idBaseUnfree } from '../../engine/idmap.ts';
import { backupFile, listBackups, openBackup, removeBackup, storeUpload } from '../../host/backup-store.ts';
import { dumpUploadDir, removeDumpUpload, storeDumpUpload } from '../../host/dump-store.ts';
import { trafficAndDisk } from '../../ops/metrics.ts';
import { statContainer } from '../../ops/stat.ts';
import { knownFields } from '../args.ts';
import type { Daemon } from '../daemon.ts';
import type { Route } from '../router.ts';

function text(verb: string, o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new BerthError('BAD_VALUE', `${verb}: ${key} must be a string`);
  return String(v);
}

function flag(verb: string, o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean')
    throw new BerthError('BAD_VALUE', `${verb}: ${key} must be true or false`);
  return v === true;
}

export function storageRoutes(d: Daemon): Route[] {
  return [
    {
      method: 'GET',
      path: '/1.0/containers/{ctid}/stat',
      handler: async (r) => {
        const ctx = d.ctx();
        const id = parseCtId(r.params['ctid']);
        const counters: object[] = statContainer(ctx, id);
        // traffic and disk use, in the counters' shape, where berth can know them (docs/metrics.md)
        const x = trafficAndDisk(ctx, id);
        const row = (resource: string, held: number | null, limit: number | null = null) =>
          held === null ? [] : [{ resource, held, maxheld: null, limit, failcnt: null }];
        counters.push(
          ...row('net_rx_bytes', x.rxBytes),
          ...row('net_tx_bytes', x.txBytes),
          // dir and overlay: the last walk of the files, made in the background (disk-use.ts)
          ...row('disk_used', x.disk.used ?? (x.tree ? d.treeUsage.bytes(x.tree) : null), x.disk.limit),
        );
        return { status: 200, body: counters };
      },
    },
    {
      method: 'GET',
      path: '/1.0/containers/{ctid}/snapshots',
      handler: async (r) => d.readVerb(['snapshot-list', parseCtId(r.params['ctid']), '--json']),
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/snapshots',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const name = text('snapshot', knownFields('snapshot', await r.json(), ['name']), 'name');
        return d.operation(r, ['snapshot', id, ...(name === undefined ? [] : [`--name=${name}`])], [id]);
      },
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/snapshots/{name}/switch',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        return d.operation(r, ['snapshot-switch', id, `--name=${r.params['name']}`], [id]);
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/containers/{ctid}/snapshots/{name}',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        return d.operation(r, ['snapshot-delete', id, `--name=${r.params['name']}`], [id]);
      },
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/clone',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const o = knownFields('clone', await r.json(), ['ctid', 'hostname']);
        const target = parseCtId(text('clone', o, 'ctid'));
        const hostname = text('clone', o, 'hostname');
        return d.operation(
          r,
          ['clone', id, target, ...(hostname === undefined ? [] : [`--hostname=${hostname}`])],
          [id, target],
        );
      },
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/backups',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const o = knownFields('backup', await r.json(), ['name']);
        const name = text('backup', o, 'name');
        const out = name === undefined ? [] : [`--output=${backupFile(d.paths, name)}`];
        return d.operation(r, ['backup', id, ...out, '--json'], [id], true);
      },
    },
    { method: 'GET', path: '/1.0/backups', handler: async () => ({ status: 200, body: listBackups(d.paths) }) },
    {
      method: 'POST',
      path: '/1.0/backups',
      handler: async (r) => {
        const name = r.query.get('name') ?? '';
        backupFile(d.paths, name); // a 400 before a byte is read
        return { status: 201, body: await storeUpload(d.paths, name, r.req) };
      },
    },
    {
      method: 'GET',
      path: '/1.0/backups/{name}',
      handler: async (r) => {
        const { stream, size } = openBackup(d.paths, r.params['name'] ?? '');
        r.res.writeHead(200, {
          'content-type': 'application/x-tar',
          'content-length': size,
          'content-disposition': `attachment; filename="${r.params['name']}"`,
        });
        stream.pipe(r.res);
        return null;
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/backups/{name}',
      handler: async (r) => {
        removeBackup(d.paths, r.params['name'] ?? '');
        return { status: 200, body: {} };
      },
    },
    {
      method: 'POST',
      path: '/1.0/backups/{name}/restore',
      handler: async (r) => {
        const file = backupFile(d.paths, r.params['name'] ?? '');
        const o = knownFields('restore', await r.json(), ['ctid', 'force', 'privileged', 'idBase']);
        const keep = text('restore', o, 'idBase');
        const ctid = text('restore', o, 'ctid');
        const target = ctid === undefined ? [] : [parseCtId(ctid)];
        const privileged =
          o['privileged'] === undefined
            ? []
            : [
                `--privileged=${o['privileged'] === true ? 'yes' : o['privileged'] === false ? 'no' : text('restore', o, 'privileged')}`,
              ];
        const force = flag('restore', o, 'force') ? ['--force'] : [];
        const idBase = keep === undefined ? [] : [`--id-base=${keep}`];
        return d.operation(r, ['restore', file, ...target, ...force, ...privileged, ...idBase], target);
      },
    },
    ...migrationRoutes(d),
  ];
}

/** What berth migrate --online needs of its destination besides the backup store. */
function migrationRoutes(d: Daemon): Route[] {
  return [
    {
      method: 'GET',
      path: '/1.0/containers/{ctid}/id-base',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const base = parseIdBase(r.query.get('base') ?? '', 'base');
        if (base === null) throw new BerthError('BAD_VALUE', 'id-base: base must be a host uid');
        const why = idBaseUnfree(d.ctx(), id, base);
        return { status: 200, body: { base, free: why === null, reason: why } };
      },
    },
    {
      method: 'POST',
      path: '/1.0/dumps',
      handler: async (r) => {
        const name = r.query.get('name') ?? '';
        dumpUploadDir(d.paths, name); // a 400 before a byte is read
        return { status: 201, body: await storeDumpUpload(d.paths, name, r.req) };
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/dumps/{name}',
      handler: async (r) => {
        removeDumpUpload(d.paths, r.params['name'] ?? '');
        return { status: 200, body: {} };
      },
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/restore-dump',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const o = knownFields('restore-dump', await r.json(), ['dump', 'lazy']);
        const dir = dumpUploadDir(d.paths, text('restore-dump', o, 'dump') ?? '');
        // lazy: its memory from the daemon GET /1.0/dumps/NAME/pages started (routes/pages.ts)
        const lazy = flag('restore-dump', o, 'lazy') ? ['--lazy-pages'] : [];
        return d.operation(r, ['restore', id, `--dumpfile=${dir}`, ...lazy], [id]);
      },
    },
  ];
}
