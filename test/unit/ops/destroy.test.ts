// berth destroy on a fake host: what goes, in which order, and what it refuses.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { ctConfigPath, layerPath } from '../../../src/host/paths.ts';
import { destroyContainer } from '../../../src/ops/destroy.ts';
import { code, inEnv, running, TEMPLATE_SHA, withContainer } from './env.ts';

test('destroy removes the private area and config, keeps the action scripts, leaves no marker', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const priv = join(env.paths.privateDir, env.id);
    writeFileSync(join(env.paths.ctConfigDir, '101.start'), 'echo hi\n');
    await destroyContainer(env.ctx, env.id);
    assert.ok(!existsSync(priv));
    assert.ok(!existsSync(`${priv}.destroying`));
    assert.ok(!existsSync(ctConfigPath(env.paths, env.id)));
    assert.deepEqual(readdirSync(env.paths.ctConfigDir), ['101.start.destroyed']);
    assert.ok(env.logs.some((l) => l.includes('action scripts kept as 101.start.destroyed')));
    assert.ok(existsSync(layerPath(env.paths, `busybox-${TEMPLATE_SHA.slice(0, 12)}`)), 'the current layer stays');
    assert.deepEqual(env.fake.helperRuns(), [], 'nothing mounted: no helper');
  }));

test('a root still mounted is unmounted by the helper before the files go', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const veRoot = join(env.paths.rootDir, env.id);
    env.fake.mountinfo = `99 1 0:50 / ${veRoot} rw - overlay overlay rw\n`;
    env.fake.onHelper = (args) => {
      if (args[0] === '--host-umount') env.fake.mountinfo = '';
      return {};
    };
    await destroyContainer(env.ctx, env.id);
    assert.deepEqual(env.fake.helperRuns(), [['--host-umount', veRoot, '--status-fd', '3']]);
    assert.ok(!existsSync(veRoot));
  }));

test('destroy refuses a running container and changes nothing', () =>
  inEnv(async (env) => {
    await running(env);
    await assert.rejects(destroyContainer(env.ctx, env.id), (err: unknown) => {
      assert.ok(code('RUNNING')(err));
      assert.equal((err as BerthError).hint, 'berth stop 101');
      return true;
    });
    assert.ok(existsSync(join(env.paths.privateDir, env.id)));
    assert.ok(existsSync(ctConfigPath(env.paths, env.id)));
    assert.deepEqual(env.fake.signals(), []);
  }));

test('a destroy killed after its commit point is finished by the next command', () =>
  inEnv(async (env) => {
    await withContainer(env);
    // killed right after the rename: the private area is <private>.destroying, the config still there
    const priv = join(env.paths.privateDir, env.id);
    renameSync(priv, `${priv}.destroying`);
    await assert.rejects(destroyContainer(env.ctx, env.id), code('NO_CT_CONFIG'));
    assert.ok(!existsSync(`${priv}.destroying`));
    assert.ok(!existsSync(ctConfigPath(env.paths, env.id)));
    assert.ok(env.logs.includes('101: cleaned up after an interrupted destroy'));
  }));
