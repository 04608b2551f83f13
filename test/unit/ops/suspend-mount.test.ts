// berth suspend/resume, restart and mount/umount on a fake host.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountContainer, umountContainer } from '../../../src/ops/mount.ts';
import { restartContainer } from '../../../src/ops/restart.ts';
import { suspendContainer } from '../../../src/ops/suspend.ts';
import { answerStart, code, inEnv, running, withContainer } from './env.ts';

test('suspend freezes the limits level, resume thaws it; each refuses the wrong state', () =>
  inEnv(async (env) => {
    await running(env);
    const state = env.cgroup('freezer', 'freezer.state');
    await assert.rejects(suspendContainer(env.ctx, env.id, false), code('NOT_RUNNING'));
    await suspendContainer(env.ctx, env.id, true);
    assert.equal(readFileSync(state, 'utf8'), 'FROZEN');
    await assert.rejects(suspendContainer(env.ctx, env.id, true), code('NOT_RUNNING'));
    await suspendContainer(env.ctx, env.id, false);
    assert.equal(readFileSync(state, 'utf8'), 'THAWED');
  }));

test('suspend on cgroup2 writes cgroup.freeze', () =>
  inEnv(
    async (env) => {
      await running(env);
      await suspendContainer(env.ctx, env.id, true);
      assert.equal(readFileSync(env.cgroup('', 'cgroup.freeze'), 'utf8'), '1');
    },
    { v2: true },
  ));

test('restart stops the running init and starts a new one under one lock', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    const next = answerStart(env, 7500);
    assert.equal(await restartContainer(env.ctx, env.id, false), next.init);
    assert.equal(env.fake.signals()[0], `${init} 12`, 'the old init was asked to power off first');
    assert.equal(env.fake.helperRuns().filter((a) => a.includes('--rootfs')).length, 1);
    assert.ok(!env.fake.procs.has(init));
  }));

test('mount shows a stopped container nosuid at VE_ROOT; umount takes it away', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const veRoot = join(env.paths.rootDir, env.id);
    env.fake.onHelper = (args) => {
      env.fake.mountinfo = args[0] === '--host-umount' ? '' : `99 1 0:50 / ${veRoot} rw - overlay overlay rw\n`;
      return {};
    };
    await assert.rejects(umountContainer(env.ctx, env.id), code('NOT_MOUNTED'));
    await mountContainer(env.ctx, env.id);
    assert.equal(env.fake.helperRuns()[0]?.[0], '--host-nosuid', "an admin's view runs no setuid file");
    await assert.rejects(mountContainer(env.ctx, env.id), code('MOUNTED'));
    await umountContainer(env.ctx, env.id);
    assert.deepEqual(env.fake.helperRuns().at(-1), ['--host-umount', veRoot, '--status-fd', '3']);
  }));
