// berth start on a fake host: the helper plan it runs, the state it records, the cgroup limits
// it writes, and what it undoes when the helper fails.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { INNER } from '../../../src/host/cgroups.ts';
import { statePath } from '../../../src/host/paths.ts';
import { setContainer } from '../../../src/ops/set.ts';
import { startContainer } from '../../../src/ops/start.ts';
import { answerStart, code, type Env, inEnv, opt, withContainer } from './env.ts';

test('start runs the helper once with its plan, records init, and writes the limits first', () =>
  inEnv(async (env) => {
    await withContainer(env);
    await setContainer(env.ctx, env.id, { ram: '256M', numproc: '100' }, true);
    assert.equal(env.fake.calls.length, 0, 'a set of a stopped container only saves');
    const { init, keeper } = answerStart(env);
    assert.equal(await startContainer(env.ctx, env.id), init);
    const runs = env.fake.helperRuns();
    assert.equal(runs.length, 1, 'one helper run: nothing to mount for an overlay root without scripts');
    const args = runs[0] ?? [];
    assert.equal(opt(args, '--hostname'), 'ct101');
    assert.ok(!args.includes('--idmap'), 'privileged: no user namespace');
    assert.ok(args.includes('--seccomp-fd'));
    const procs = args.flatMap((a, i) => (a === '--cgroup-procs' ? [args[i + 1]] : []));
    assert.deepEqual(
      procs,
      env.layout.hierarchies.map((h) => join(h.mountPoint, env.paths.cgroupParent, env.id, INNER, 'cgroup.procs')),
      'init joins the inner cgroup of every hierarchy',
    );
    // the first start writes this machine's own machine-id, then forgets that it must
    assert.ok(args.some((a) => a === '/etc/machine-id'));
    assert.ok(!env.config().includes('RESET_MACHINE_ID'));
    const state = JSON.parse(readFileSync(statePath(env.paths, env.id), 'utf8'));
    assert.equal(state.status, 'running');
    assert.equal(state.pid, init);
    assert.equal(state.startTime, 100 + init, "init's start time guards against a recycled pid");
    assert.equal(state.stopSignal, 12, "busybox init's poweroff signal, from its /sbin/init link");
    assert.deepEqual(state.keeper, { pid: keeper, startTime: 100 + keeper, sysinfo: true });
    const limit = (h: string, f: string) => readFileSync(env.cgroup(h, f), 'utf8');
    assert.equal(limit('memory', 'memory.limit_in_bytes'), String(256 << 20));
    assert.equal(limit('pids', 'pids.max'), '100');
    assert.equal(limit('devices', 'devices.deny'), 'a', 'every device denied before the list is allowed');
    assert.ok(existsSync(env.cgroup('memory', INNER)));
    assert.deepEqual(
      env.fake.calls.filter((c) => c.op === 'chown'),
      [],
    );
  }));

test('an unprivileged start maps ids and gives the inner cgroup of name=systemd to its root', () =>
  inEnv(async (env) => {
    await withContainer(env, { privileged: false });
    const base = Number(/^ID_BASE="(\d+)"/m.exec(env.config())?.[1]);
    assert.ok(base > 0);
    answerStart(env);
    await startContainer(env.ctx, env.id);
    const args = env.fake.helperRuns()[0] ?? [];
    assert.deepEqual(args.slice(args.indexOf('--idmap'), args.indexOf('--idmap') + 3), [
      '--idmap',
      String(base),
      '65536',
    ]);
    const chowned = env.fake.calls.flatMap((c) => (c.op === 'chown' ? [c] : []));
    assert.ok(chowned.length > 0);
    for (const c of chowned) {
      assert.ok(c.path.startsWith(env.cgroup('systemd', INNER)), `only name=systemd's inner cgroup: ${c.path}`);
      assert.deepEqual([c.uid, c.gid], [base, base]);
    }
  }));

test('a helper that fails leaves nothing: no state, no cgroups, its keeper killed', () =>
  inEnv(async (env) => {
    await withContainer(env);
    const keeper = 7100;
    env.fake.onHelper = (args) => {
      if (!args.includes('--rootfs')) return {};
      env.fake.spawn({ pid: keeper }); // the keeper was forked before the container failed
      return {
        exitCode: 2,
        keeper,
        error: { error: 'pivot_root', errno: 22, message: 'pivot_root /x: Invalid argument' },
      };
    };
    await assert.rejects(startContainer(env.ctx, env.id), (err: unknown) => {
      assert.ok(code('CT_CREATE')(err));
      assert.match((err as Error).message, /^start 101: pivot_root \/x: Invalid argument$/);
      assert.match((err as BerthError).hint ?? '', /101\.console\.log/);
      return true;
    });
    assert.ok(!existsSync(statePath(env.paths, env.id)), 'no state file');
    for (const h of env.layout.hierarchies) {
      assert.ok(!existsSync(join(h.mountPoint, env.paths.cgroupParent)), `cgroups gone in ${h.mountPoint}`);
    }
    assert.ok(env.fake.signals().includes(`${keeper} SIGKILL`));
    assert.ok(!env.fake.procs.has(keeper));
  }));

test('an init that exits at once is a failed start, undone the same way', () =>
  inEnv(async (env) => {
    await withContainer(env);
    env.fake.onHelper = (args) => (args.includes('--rootfs') ? { pid: 7200 } : {}); // never in the table
    await assert.rejects(startContainer(env.ctx, env.id), /init exited as soon as it started/);
    assert.ok(!existsSync(statePath(env.paths, env.id)));
    assert.ok(!existsSync(env.cgroup('memory')));
  }));

test('start refuses a running container and one that does not exist, changing nothing', () =>
  inEnv(async (env) => {
    await assert.rejects(startContainer(env.ctx, env.id), code('NO_CT_CONFIG'));
    await withContainer(env);
    answerStart(env);
    await startContainer(env.ctx, env.id);
    env.fake.calls.length = 0;
    await assert.rejects(startContainer(env.ctx, env.id), code('RUNNING'));
    assert.deepEqual(env.fake.helperRuns(), []);
  }));

/** Has the fake helper's host mounts and unmounts of VE_ROOT show in mountinfo, as the kernel's. */
function trackMounts(env: Env, veRoot: string): void {
  const start = env.fake.onHelper;
  env.fake.onHelper = (args, opts) => {
    if (args[0] === '--host-umount') env.fake.mountinfo = '';
    else if (args.at(-3) === veRoot) env.fake.mountinfo = `99 1 0:50 / ${veRoot} rw - overlay overlay rw\n`;
    return start(args, opts);
  };
}

// berth runs only root's scripts in root's directories: a test tree of another user has none
const ROOT_SKIP = process.getuid?.() === 0 ? false : 'needs root: berth runs only scripts that root owns';

test(
  'with a mount script, start mounts the root itself, runs the script, then the container',
  { skip: ROOT_SKIP },
  () =>
    inEnv(async (env) => {
      await withContainer(env);
      const script = join(env.paths.ctConfigDir, `${env.id}.mount`);
      writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const veRoot = join(env.paths.rootDir, env.id);
      answerStart(env);
      trackMounts(env, veRoot);
      await startContainer(env.ctx, env.id);
      const order = env.fake.calls.flatMap((c) =>
        c.op === 'script' ? ['script'] : c.op === 'helper' ? [c.args.includes('--rootfs') ? 'container' : 'mount'] : [],
      );
      assert.deepEqual(order, ['mount', 'script', 'container']);
      const run = env.fake.calls.find((c) => c.op === 'script');
      assert.equal(run?.op === 'script' && run.path, script);
      assert.equal(run?.op === 'script' && run.env['VE_ROOT'], veRoot, "the script's variables name the root");
    }),
);

test('a mount script that fails stops the start: the root is unmounted, nothing is left', () =>
  inEnv(async (env) => {
    await withContainer(env);
    writeFileSync(join(env.paths.ctConfigDir, `${env.id}.mount`), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const veRoot = join(env.paths.rootDir, env.id);
    answerStart(env);
    trackMounts(env, veRoot);
    env.fake.onScript = () => ({ code: 3 });
    await assert.rejects(startContainer(env.ctx, env.id), code('ACTION_SCRIPT'));
    const runs = env.fake.helperRuns();
    assert.ok(!runs.some((a) => a.includes('--rootfs')), 'no container was made');
    assert.deepEqual(runs.at(-1), ['--host-umount', veRoot, '--status-fd', '3']);
    assert.equal(env.fake.mountinfo, '');
    assert.ok(!existsSync(statePath(env.paths, env.id)));
    assert.ok(!existsSync(env.cgroup('memory')));
  }));
