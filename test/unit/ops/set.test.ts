// berth set on a fake host: what a stopped container's set touches (the config alone), the live
// changes of a running one, and all-or-nothing: a later step failing undoes the earlier ones.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setContainer } from '../../../src/ops/set.ts';
import { code, inEnv, opt, running, withContainer } from './env.ts';

test('set --save of a stopped container writes its config and touches nothing live', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const r = await setContainer(env.ctx, env.id, { ram: '128M', hostname: 'web1' }, true);
    assert.deepEqual([r.applied, r.saved], [false, true]);
    assert.match(env.config(), /^HOSTNAME="web1"$/m);
    assert.match(env.config(), /^PHYSPAGES=/m);
    assert.deepEqual(env.fake.calls, []);
    await assert.rejects(setContainer(env.ctx, env.id, { ram: '64M' }, false), code('NOT_RUNNING'));
  }));

test('a live set writes the limits and the hostname; without --save the config stays', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    const before = env.config();
    env.fake.onTool = (cmd) => (cmd === 'nsenter' ? { stdout: 'ct101\n' } : {});
    const r = await setContainer(env.ctx, env.id, { ram: '128M', hostname: 'web1' }, false);
    assert.deepEqual([r.applied, r.saved], [true, false]);
    assert.equal(readFileSync(env.cgroup('memory', 'memory.limit_in_bytes'), 'utf8'), String(128 << 20));
    const runs = env.fake.helperRuns();
    assert.deepEqual(runs[0]?.slice(0, 6), ['--join', String(init), '--unshare', 'uts', '--hostname', 'web1']);
    assert.ok(runs[1]?.includes('--block'), '/etc/hosts follows the hostname');
    assert.match(opt(runs[1] ?? [], '--block') ?? '', /^\/etc\/hosts$/);
    assert.equal(env.config(), before);
  }));

test('a later step that fails undoes the earlier live changes, and --save saves nothing', () =>
  inEnv(async (env) => {
    const { init } = await running(env);
    const limit = env.cgroup('memory', 'memory.limit_in_bytes');
    const ramBefore = readFileSync(limit, 'utf8');
    const before = env.config();
    env.fake.onTool = (cmd) => (cmd === 'nsenter' ? { stdout: 'ct101\n' } : {});
    // the container's /etc/hosts cannot be written (a planted directory, say)
    env.fake.onHelper = (args) =>
      args.includes('--block')
        ? { exitCode: 2, error: { error: 'write', errno: 21, message: 'write /etc/hosts: Is a directory' } }
        : {};
    await assert.rejects(setContainer(env.ctx, env.id, { ram: '128M', hostname: 'web1' }, true), (err: unknown) => {
      assert.ok(code('SYSTEM')(err));
      assert.match((err as Error).message, /\/etc\/hosts: Is a directory/);
      return true;
    });
    assert.equal(readFileSync(limit, 'utf8'), ramBefore, 'the memory limit is back');
    const hostnames = env.fake.helperRuns().flatMap((a) => (a.includes('--hostname') ? [opt(a, '--hostname')] : []));
    assert.deepEqual(hostnames, ['web1', 'ct101'], 'the hostname is set back to the one it had');
    assert.ok(env.fake.helperRuns().every((a) => a[1] === String(init)));
    assert.equal(env.config(), before, 'the config is as it was');
    assert.deepEqual(
      readdirSync(env.paths.ctConfigDir).filter((n) => n.includes('.tmp-')),
      [],
      'the staged config is gone',
    );
  }));

test('set with nothing to set, or a bad value, fails before anything is touched', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const before = env.config();
    await assert.rejects(setContainer(env.ctx, env.id, {}, true), code('BAD_SYNTAX'));
    await assert.rejects(setContainer(env.ctx, env.id, { ram: 'lots' }, true), code('BAD_VALUE'));
    await assert.rejects(setContainer(env.ctx, env.id, { privileged: 'no' }, false), code('BAD_SYNTAX'));
    assert.equal(env.config(), before);
    assert.deepEqual(env.fake.calls, []);
  }));
