// berth exec on a fake host: the join it runs, a container not running, and the wait for a copy
// that froze it (snapshot, backup, clone) to end.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { lockCt } from '../../../src/engine/runtime.ts';
import { thawMarkerPath } from '../../../src/host/paths.ts';
import { execInContainer } from '../../../src/ops/exec.ts';
import { suspendContainer } from '../../../src/ops/suspend.ts';
import { code, type Env, inEnv, running, withContainer } from './env.ts';

const exec = (env: Env, argv = ['true']) => execInContainer(env.ctx, env.id, argv, { pty: false, verb: 'exec' });

test("exec runs argv through the helper's join mode and passes its exit status through", () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    env.fake.onHelper = (args) => (args.includes('--join') ? { exitCode: 7 } : {});
    assert.equal(await exec(env, ['sh', '-c', 'exit 7']), 7);
    const args = env.fake.helperRuns()[0] ?? [];
    assert.deepEqual(args.slice(0, 2), ['--join', String(init)]);
    assert.deepEqual(args.slice(args.indexOf('--') + 1), ['sh', '-c', 'exit 7']);
    assert.ok(args.includes(env.cgroup('memory', 'ns', 'cgroup.procs')), 'it joins the inner cgroups');
  }));

test('exec into a container that is stopped or missing says which, and runs nothing', () =>
  inEnv(async (env) => {
    await assert.rejects(exec(env), code('NO_CT_CONFIG'));
    await withContainer(env);
    await assert.rejects(exec(env), (err: unknown) => {
      assert.ok(code('NOT_RUNNING')(err));
      assert.equal((err as Error).message, 'exec 101: container is not running');
      assert.equal((err as BerthError).hint, 'berth start 101');
      return true;
    });
  }));

test('exec into a container its admin suspended says so, and runs nothing', () =>
  inEnv(async (env) => {
    await running(env);
    await suspendContainer(env.ctx, env.id, true);
    await assert.rejects(exec(env), (err: unknown) => {
      assert.equal((err as Error).message, 'exec 101: container is suspended');
      assert.equal((err as BerthError).hint, 'berth resume 101');
      return true;
    });
    assert.deepEqual(env.fake.helperRuns(), []);
  }));

/** Freezes 101 as a copy does: the freezer and the marker that says berth did it. */
function frozenForCopy(env: Env): void {
  writeFileSync(env.cgroup('freezer', 'freezer.state'), 'FROZEN');
  mkdirSync(dirname(thawMarkerPath(env.paths, env.id)), { recursive: true });
  writeFileSync(thawMarkerPath(env.paths, env.id), 'copy\n');
}

test('exec waits while a copy holds the container frozen, then runs', () =>
  inEnv(async (env) => {
    await running(env);
    frozenForCopy(env);
    const copy = lockCt(env.ctx, env.id, 'backup'); // the copy holds the lock while it runs
    const t0 = Date.now();
    setTimeout(() => {
      // the copy ends as withFrozen does: thawed, its marker removed, then its lock released
      writeFileSync(env.cgroup('freezer', 'freezer.state'), 'THAWED');
      rmSync(thawMarkerPath(env.paths, env.id));
      copy.release();
    }, 150);
    assert.equal(await exec(env), 0);
    assert.ok(Date.now() - t0 >= 150, 'it waited for the copy');
    assert.equal(env.fake.helperRuns().length, 1);
    assert.ok(!env.logs.some((l) => l.includes('thawed')), 'the copy thawed it, not exec');
  }));

test('exec thaws a container that a killed copy left frozen, through the locked recovery', () =>
  inEnv(async (env) => {
    await running(env);
    frozenForCopy(env); // and no lock: the berth that froze it is gone
    assert.equal(await exec(env), 0);
    assert.ok(env.logs.includes('101: thawed after an interrupted copy'));
    assert.equal(readFileSync(env.cgroup('freezer', 'freezer.state'), 'utf8'), 'THAWED');
    assert.ok(!existsSync(thawMarkerPath(env.paths, env.id)));
  }));
