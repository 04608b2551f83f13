// berth create on a fake host: an overlay container over an unpacked layer runs no tool at all.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { ctConfigPath, templatePath } from '../../../src/host/paths.ts';
import { createContainer } from '../../../src/ops/create.ts';
import { code, inEnv, TEMPLATE_SHA, withContainer } from './env.ts';

test('create writes the config and an empty private area over the layer, and runs nothing', () =>
  inEnv(async (env) => {
    await withContainer(env, { privileged: true, hostname: 'web1' });
    const conf = env.config();
    for (const line of [
      'OSTEMPLATE="busybox"',
      'LAYOUT="overlay"',
      `LAYER="busybox-${TEMPLATE_SHA.slice(0, 12)}"`,
      'HOSTNAME="web1"',
      'RESET_MACHINE_ID="yes"',
    ]) {
      assert.ok(conf.split('\n').includes(line), line);
    }
    assert.doesNotMatch(conf, /^ID_BASE=/m, 'privileged: no id range');
    const priv = join(env.paths.privateDir, env.id);
    assert.deepEqual(readdirSync(priv).sort(), ['upper', 'work']);
    assert.ok(!existsSync(`${priv}.partial`));
    assert.deepEqual(env.fake.calls, []);
  }));

test('unprivileged creates get id ranges of their own', () =>
  inEnv(async (env) => {
    await withContainer(env, { privileged: false });
    await createContainer(env.ctx, '102' as typeof env.id, { privileged: false });
    const base = (id: string) =>
      Number(/^ID_BASE="(\d+)"/m.exec(readFileSync(join(env.paths.ctConfigDir, `${id}.conf`), 'utf8'))?.[1]);
    assert.ok(base('101') > 0);
    assert.ok(Math.abs(base('102') - base('101')) >= 65536, 'the ranges do not overlap');
  }));

test('create refuses an existing container and an unknown template, leaving no trace', () =>
  inEnv(async (env) => {
    await withContainer(env);
    await assert.rejects(createContainer(env.ctx, env.id, {}), code('PRIVATE_EXISTS'));
    const other = '102' as typeof env.id;
    await assert.rejects(createContainer(env.ctx, other, { ostemplate: 'alpine-3' }), (err: unknown) => {
      assert.ok(code('BAD_TEMPLATE')(err));
      assert.match((err as BerthError).hint ?? '', /available: busybox/);
      return true;
    });
    assert.ok(!existsSync(ctConfigPath(env.paths, other)));
    assert.ok(!existsSync(join(env.paths.privateDir, other)));
    await assert.rejects(createContainer(env.ctx, other, { ostemplate: '../x' }), code('BAD_VALUE'));
  }));

test('a create killed half-way is rolled back, and the next create of that CTID works', () =>
  inEnv(async (env) => {
    const priv = join(env.paths.privateDir, env.id);
    mkdirSync(`${priv}.partial/upper`, { recursive: true });
    writeFileSync(ctConfigPath(env.paths, env.id), 'OSTEMPLATE="busybox"\n');
    await withContainer(env);
    assert.ok(env.logs.includes('101: cleaned up after an interrupted create'));
    assert.ok(!existsSync(`${priv}.partial`));
    assert.match(env.config(), /^LAYER=/m);
  }));

test('a dir container gets its own copy: the template is checked and unpacked into the .partial by tar', () =>
  inEnv(async (env) => {
    await createContainer(env.ctx, env.id, { layout: 'dir', privileged: true });
    const runs = env.fake.calls.flatMap((c) => (c.op === 'run' ? [[c.cmd, ...c.args]] : []));
    assert.equal(runs.length, 1);
    const tar = runs[0] ?? [];
    assert.equal(tar[0], 'tar');
    assert.equal(tar[tar.indexOf('-xpf') + 1], templatePath(env.paths, 'busybox'));
    assert.equal(
      tar[tar.indexOf('-C') + 1],
      `${join(env.paths.privateDir, env.id)}.partial`,
      'unpacked where a crash rolls it back',
    );
    assert.match(env.config(), /^LAYOUT="dir"$/m);
    assert.doesNotMatch(env.config(), /^LAYER=/m);
  }));

test('an unpack that fails leaves no private area and no config', () =>
  inEnv(async (env) => {
    env.fake.host.run = async () => {
      throw new Error('tar: Unexpected EOF in archive');
    };
    await assert.rejects(createContainer(env.ctx, env.id, { layout: 'dir' }), (err: unknown) => {
      assert.ok(code('BAD_TEMPLATE')(err));
      assert.match((err as Error).message, /cannot unpack .*Unexpected EOF/);
      return true;
    });
    assert.deepEqual(readdirSync(env.paths.privateDir), []);
    assert.ok(!existsSync(ctConfigPath(env.paths, env.id)));
  }));
