// berth stop on a fake host: init's poweroff signal, the wait, the kill, and the teardown.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { statePath } from '../../../src/host/paths.ts';
import { stopContainer } from '../../../src/ops/stop.ts';
import { code, inEnv, running, withContainer } from './env.ts';

test('stop sends init its poweroff signal and tears down what the container held', () =>
  inEnv(async (env) => {
    const { init, keeper } = await running(env);
    await stopContainer(env.ctx, env.id, { fast: false, timeout: 5 });
    const signals = env.fake.signals();
    assert.equal(signals[0], `${init} 12`, "busybox init's poweroff signal first");
    assert.ok(!signals.includes(`${init} SIGKILL`), 'an init that stops in time is not killed');
    assert.ok(signals.includes(`${keeper} SIGKILL`), 'a keeper that lingers is killed');
    assert.ok(!existsSync(statePath(env.paths, env.id)), 'its state goes');
    for (const h of env.layout.hierarchies) {
      assert.ok(!existsSync(join(h.mountPoint, env.paths.cgroupParent)), `cgroups gone in ${h.mountPoint}`);
    }
    assert.deepEqual(env.fake.helperRuns(), [], 'nothing was mounted: no unmount');
  }));

test('an init that ignores its signal is killed once the timeout is up', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    const p = env.fake.procs.get(init);
    if (p) p.survives = [12];
    const t0 = Date.now();
    await stopContainer(env.ctx, env.id, { fast: false, timeout: 0.2 });
    assert.ok(Date.now() - t0 >= 200, 'it waited for the timeout');
    assert.ok(env.logs.includes('101: init did not stop in time; killing'));
    assert.deepEqual(env.fake.signals().slice(0, 2), [`${init} 12`, `${init} SIGKILL`]);
    assert.ok(!env.fake.procs.has(init));
  }));

test('stop --fast kills at once, and thaws a frozen container first', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    const freezer = env.cgroup('freezer', 'freezer.state');
    writeFileSync(freezer, 'FROZEN');
    const kill = env.fake.host.kill;
    const seen: string[] = [];
    env.fake.host.kill = (pid, sig) => {
      seen.push(readFileSync(freezer, 'utf8'));
      kill(pid, sig);
    };
    await stopContainer(env.ctx, env.id, { fast: true });
    assert.equal(env.fake.signals()[0], `${init} SIGKILL`, 'no poweroff signal');
    assert.equal(seen[0], 'THAWED', 'a frozen task does not die of SIGKILL on v1');
    assert.ok(!existsSync(env.cgroup('freezer')));
  }));

test('stop of a stopped container is NOT_RUNNING, and of none NO_CT_CONFIG', () =>
  inEnv(async (env) => {
    await assert.rejects(stopContainer(env.ctx, env.id, { fast: false }), code('NO_CT_CONFIG'));
    await withContainer(env);
    await assert.rejects(stopContainer(env.ctx, env.id, { fast: false }), (err: unknown) => {
      assert.ok(code('NOT_RUNNING')(err));
      assert.equal((err as BerthError).hint, 'berth start 101');
      return true;
    });
    assert.deepEqual(env.fake.signals(), []);
  }));

test('a container whose config broke while it ran still stops, with a warning', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    writeFileSync(join(env.paths.ctConfigDir, '101.conf'), 'HOSTNAME="a b c"\nPHYSPAGES="lots"\n');
    await stopContainer(env.ctx, env.id, { fast: false, timeout: 5 });
    assert.equal(env.fake.signals()[0], `${init} 12`, 'the stop signal its start recorded');
    assert.ok(
      env.logs.some((l) => l.startsWith('warning: ') && l.includes('stopping it with what its start recorded')),
    );
    assert.ok(!existsSync(statePath(env.paths, env.id)));
  }));
