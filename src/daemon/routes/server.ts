// /1.0 (what this server is), /1.0/operations, /1.0/events and the OpenAPI document.
import { VERSION } from '../../cli/berth.ts';
import { BerthError } from '../../core/errors.ts';
import { lazyPagesHere } from '../../host/criu-lazy.ts';
import type { Daemon } from '../daemon.ts';
import { failedRunReply } from '../http-errors.ts';
import { openApiDocument } from '../openapi.ts';
import type { Route } from '../router.ts';
import { runVerb } from '../runner.ts';

const EVENT_TYPES = ['lifecycle', 'operation', 'resource'];

export function serverRoutes(d: Daemon, all: () => readonly Route[]): Route[] {
  return [
    {
      method: 'GET',
      path: '/1.0',
      handler: async () => {
        const ctx = d.ctx();
        return {
          status: 200,
          body: {
            api_version: '1.0',
            server: 'berthd',
            version: VERSION,
            pid: process.pid,
            started_at: d.started.toISOString(),
            root: d.root,
            cgroup: ctx.layout().kind,
            kernel: (await import('node:os')).release(),
            lazy_pages: lazyPagesHere(),
          },
        };
      },
    },
    { method: 'GET', path: '/1.0/openapi.json', handler: async () => ({ status: 200, body: openApiDocument(all()) }) },
    { method: 'GET', path: '/1.0/operations', handler: async () => ({ status: 200, body: d.operations.list() }) },
    {
      method: 'GET',
      path: '/1.0/operations/{id}',
      handler: async (r) => ({ status: 200, body: d.operations.get(r.params['id'] ?? '') }),
    },
    {
      method: 'GET',
      path: '/1.0/operations/{id}/wait',
      handler: async (r) => {
        const secs = Number(r.query.get('timeout') ?? 60);
        if (!Number.isFinite(secs) || secs < 0)
          throw new BerthError('BAD_VALUE', 'timeout must be a number of seconds');
        return { status: 200, body: await d.operations.wait(r.params['id'] ?? '', Math.min(secs, 3600) * 1000) };
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/operations/{id}',
      handler: async (r) => ({ status: 200, body: d.operations.cancel(r.params['id'] ?? '') }),
    },
    {
      method: 'GET',
      path: '/1.0/events',
      handler: async (r) => {
        const types = (r.query.get('type') ?? '').split(',').filter(Boolean);
        const bad = types.filter((t) => !EVENT_TYPES.includes(t));
        if (bad.length)
          throw new BerthError('BAD_VALUE', `events: unknown type ${JSON.stringify(bad[0]?.slice(0, 40))}`, {
            hint: `types: ${EVENT_TYPES.join(', ')}`,
          });
        d.events.subscribe(r.res, types);
        return null;
      },
    },
  ];
}

/**
 * GET /metrics: Prometheus' text format, as `berth stat --prometheus` prints it, run as a child:
 * a scrape of 100 containers reads about 1,300 cgroup files (50 to 200 ms), which in the daemon
 * would hold every other answer meanwhile.
 */
export function metricsRoute(d: Daemon): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async () => {
      const r = await runVerb(['stat', '--prometheus'], { root: d.root, request: 'metrics' });
      if (r.code !== 0) return failedRunReply(r.code, r.error, r.stderr);
      return { status: 200, body: null, raw: { type: 'text/plain; version=0.0.4; charset=utf-8', data: r.stdout } };
    },
  };
}
