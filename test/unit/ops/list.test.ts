// berth list and status on a fake host: facts over records, a broken config, live limits.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CtId } from '../../../src/core/ctid.ts';
import type { ListField } from '../../../src/core/list-fields.ts';
import { statePath } from '../../../src/host/paths.ts';
import { ctStatus, type ListOptions, listContainers } from '../../../src/ops/list.ts';
import { setContainer } from '../../../src/ops/set.ts';
import { inEnv, runInit, running, started, withContainer } from './env.ts';

const opts = (o: Partial<ListOptions> = {}): ListOptions => ({
  all: true,
  disk: false,
  counters: false,
  fields: ['ctid', 'status', 'physpages'] as ListField[],
  saved: false,
  ...o,
});

test('list shows running and stopped containers, and a broken config as broken', () =>
  inEnv(async (env) => {
    await running(env);
    writeFileSync(join(env.paths.ctConfigDir, '102.conf'), 'HOSTNAME="ok"\nPHYSPAGES="lots"\n');
    const rows = await listContainers(env.ctx, opts());
    assert.deepEqual(
      rows.map((r) => [r.ctid, r.status]),
      [
        ['101', 'running'],
        ['102', 'broken'],
      ],
    );
    const broken = rows[1];
    assert.match(broken?.problem ?? '', /102\.conf:2: PHYSPAGES: invalid size/);
    assert.equal(broken?.hostname, null, 'nothing of a broken config is shown as if it were true');
    assert.deepEqual(
      (await listContainers(env.ctx, opts({ all: false }))).map((r) => r.ctid),
      ['101'],
      'without -a, only what runs',
    );
    assert.deepEqual(env.fake.helperRuns(), [], 'list runs nothing');
  }));

test("status: a broken config's container is still there (for destroy), and says what is wrong", () =>
  inEnv(async (env) => {
    writeFileSync(join(env.paths.ctConfigDir, '102.conf'), 'LAYOUT="sideways"\n');
    const st = ctStatus(env.ctx, '102' as CtId);
    assert.equal(st?.exists, true);
    assert.equal(st?.status, 'stopped');
    assert.match(st?.problem ?? '', /LAYOUT/);
    assert.equal(ctStatus(env.ctx, '103' as CtId), null, 'no config: no container');
  }));

test('list shows the limits a running container has now; --saved those of its config', () =>
  inEnv(async (env) => {
    await withContainer(env);
    await setContainer(env.ctx, env.id, { ram: '256M' }, true);
    await started(env);
    env.fake.onTool = (cmd) => (cmd === 'nsenter' ? { stdout: 'ct101\n' } : {});
    await setContainer(env.ctx, env.id, { ram: '128M' }, false);
    assert.equal((await listContainers(env.ctx, opts()))[0]?.physpages, '128M', 'from its cgroup');
    assert.equal((await listContainers(env.ctx, opts({ saved: true })))[0]?.physpages, '256M');
  }));

test('facts over records: a state naming a dead init is stopped, an unrecorded init runs', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    env.fake.procs.delete(init); // init died while no berth watched
    assert.equal(ctStatus(env.ctx, env.id)?.status, 'stopped');
    // a start killed before it recorded init: no state, but init runs in the container's cgroups
    rmSync(statePath(env.paths, env.id));
    runInit(env, 7300, ['--cgroup-procs', env.cgroup('pids', 'ns', 'cgroup.procs')]);
    const st = ctStatus(env.ctx, env.id);
    assert.deepEqual([st?.status, st?.pid], ['running', 7300]);
  }));

test("list's disk fields of an overlay container come from a walk (du) of its own files", () =>
  inEnv(async (env) => {
    await withContainer(env);
    env.fake.onTool = (cmd, args) => (cmd === 'du' ? { stdout: `${args.includes('--inodes') ? 12 : 8192}\t.\n` } : {});
    const [row] = await listContainers(env.ctx, opts({ disk: true }));
    assert.deepEqual([row?.diskspace, row?.diskinodes], [8, 12]);
    const walked = env.fake.calls.flatMap((c) => (c.op === 'tool' ? [c.args.at(-1)] : []));
    assert.deepEqual(walked, [
      join(env.paths.privateDir, env.id, 'upper'),
      join(env.paths.privateDir, env.id, 'upper'),
    ]);
  }));
