// The daemon's pure parts: routes against the OpenAPI document, path matching, a JSON body as a
// verb's options, the error bodies, and the events a change of facts makes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { command as createCommand } from '../../../src/cli/commands/create.ts';
import { command as setCommand } from '../../../src/cli/commands/set.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { optionArgs } from '../../../src/daemon/args.ts';
import { Daemon } from '../../../src/daemon/daemon.ts';
import { type ContainerFacts, EventBus } from '../../../src/daemon/events.ts';
import { errorReply, verbErrorReply } from '../../../src/daemon/http-errors.ts';
import { daemonRoutes } from '../../../src/daemon/main.ts';
import { documentedRoutes, NOT_API, openApiDocument } from '../../../src/daemon/openapi.ts';
import { matchRoute, type Route } from '../../../src/daemon/router.ts';
import { makePaths } from '../../../src/host/paths.ts';
import { schemaErrors } from '../../schema-check.ts';

const routes = daemonRoutes(new Daemon(makePaths('/nonexistent-berth-root', '/bin/false'), () => {}));

test('every route is in the OpenAPI document, and the document names no route the daemon lacks', () => {
  const served = routes
    .map((r) => `${r.method} ${r.path}`)
    .filter((r) => !NOT_API.includes(r))
    .sort();
  assert.deepEqual(documentedRoutes().sort(), served);
});

test('the document is OpenAPI 3 with a schema for every $ref it uses', () => {
  const doc = openApiDocument(routes);
  assert.match(String(doc['openapi']), /^3\./);
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
  const schemas = (doc['components'] as { schemas: Record<string, unknown> }).schemas;
  for (const r of new Set(refs)) assert.ok(schemas[r.split('/').pop() ?? ''], r);
  assert.deepEqual(
    schemaErrors(
      { error: { code: 14, name: 'NO_CT_CONFIG', message: 'm' } },
      { $ref: '#/components/schemas/Error' },
      doc,
    ),
    [],
  );
  assert.notDeepEqual(schemaErrors({ error: { code: 'x' } }, { $ref: '#/components/schemas/Error' }, doc), []);
});

test('paths match templates; a known path with another method is 405, an unknown one 404', () => {
  const m = matchRoute(routes, 'PUT', '/1.0/containers/101/state');
  assert.equal(m.route.path, '/1.0/containers/{ctid}/state');
  assert.deepEqual(m.params, { ctid: '101' });
  assert.equal(matchRoute(routes, 'GET', '/1.0/containers/..%2Fx').params['ctid'], '../x'); // parseCtId refuses it
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return (err as BerthError).code;
    }
    return 'none';
  };
  assert.equal(
    code(() => matchRoute(routes, 'DELETE', '/1.0')),
    'NOT_ALLOWED',
  );
  assert.equal(
    code(() => matchRoute(routes, 'GET', '/1.0/nope')),
    'NOT_FOUND',
  );
  assert.equal(
    code(() => matchRoute(routes, 'GET', '/1.0/containers/')),
    'NOT_FOUND',
  );
  assert.equal(
    code(() => matchRoute(routes, 'GET', '/1.0/containers/%E0%A4%A')),
    'NOT_FOUND',
  );
  const empty: Route[] = [];
  assert.equal(
    code(() => matchRoute(empty, 'GET', '/')),
    'NOT_FOUND',
  );
});

test("a JSON body becomes the verb's options; unknown keys and wrong types are refused", () => {
  const opts = createCommand.options ?? {};
  assert.deepEqual(optionArgs('create', { ctid: '101', ostemplate: 'busybox', privileged: true }, opts, ['ctid']), [
    '--ostemplate=busybox',
    '--privileged=yes',
  ]);
  assert.deepEqual(
    optionArgs('set', { ipadd: ['10.0.0.2', '10.0.0.3'], save: true, ram: 256 }, setCommand.options ?? {}),
    ['--ipadd=10.0.0.2', '--ipadd=10.0.0.3', '--save', '--ram=256'],
  );
  // a value that looks like an option stays a value
  assert.deepEqual(optionArgs('set', { hostname: '--save' }, setCommand.options ?? {}), ['--hostname=--save']);
  for (const bad of [{ bogus: 1 }, { json: true }, { hostname: { a: 1 } }, { hostname: ['a', 'b'] }, { save: 'yes' }]) {
    assert.throws(() => optionArgs('set', bad as never, setCommand.options ?? {}), BerthError, JSON.stringify(bad));
  }
});

test('errors become the registry status and the error body', () => {
  assert.deepEqual(errorReply(new BerthError('NO_CT_CONFIG', 'container 9 does not exist', { hint: 'h' })), {
    status: 404,
    body: { error: { code: 14, name: 'NO_CT_CONFIG', message: 'container 9 does not exist', hint: 'h' } },
  });
  assert.equal(errorReply(new Error('boom')).status, 500);
  assert.equal(verbErrorReply({ code: 32, name: 'RUNNING', message: 'm' }).status, 409);
  assert.equal(verbErrorReply({ code: 3, name: 'WHAT', message: 'm' }).status, 500);
});

test('events: a change of status is a lifecycle event, a counter that grows a resource event', () => {
  const got: string[] = [];
  const bus = new EventBus(async () => []);
  bus.emit = (e) => {
    got.push(`${e.type} ${e.action} ${e.ctid ?? ''}${e.counter ? ` ${e.counter}+${e.delta}` : ''}`.trim());
  };
  const facts = (status: string, oom = 0): ContainerFacts[] => [{ ctid: '101', status, counters: { oomkills: oom } }];
  bus.compare(facts('stopped'));
  assert.deepEqual(got, [], 'the first poll is the baseline');
  bus.compare(facts('running'));
  bus.compare(facts('running', 2));
  bus.compare(facts('suspended', 2));
  bus.compare(facts('running', 2));
  bus.compare([]);
  bus.compare([{ ctid: '102', status: 'running', counters: {} }]);
  assert.deepEqual(got, [
    'lifecycle container-started 101',
    'resource oom-kill 101 oomkills+2',
    'lifecycle container-suspended 101',
    'lifecycle container-resumed 101',
    'lifecycle container-deleted 101',
    'lifecycle container-created 102',
    'lifecycle container-started 102',
  ]);
});
