// SIGKILL of berth-oci at random moments of create, start, kill and delete (the process alone,
// or its whole process group: the helper too, mid-run): `state` must answer sanely, the next
// call must work, `delete --force` must always succeed, and then nothing of the container may
// be left: no process, cgroup, mount, state directory or FIFO, nor a system container's staged
// idmapped root or id range. OCI_SIGKILL_ROUNDS sets the length, OCI_SIGKILL_SEED replays a run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readOciIdHolders } from '../../src/host/oci-ids.ts';
import { makePaths } from '../../src/host/paths.ts';
import { stageDirOf } from '../../src/oci/container.ts';
import { berthEnv, REPO, ROOT_SKIP, rng, sandbox } from './harness.ts';

const OCI = join(REPO, 'bin/berth-oci');
const ROUNDS = Number(process.env['OCI_SIGKILL_ROUNDS'] ?? 45);
const SEED = Number(process.env['OCI_SIGKILL_SEED'] ?? Date.now() % 1_000_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The verb killed in a round, with what must already be there before it runs. */
type Verb = 'create' | 'start' | 'kill' | 'delete-force' | 'delete-stopped';
const VERBS: readonly Verb[] = ['create', 'create', 'start', 'kill', 'delete-force', 'delete-stopped'];

/** What `state` may say after the verb was killed (or "does not exist"). */
const ALLOWED: Record<Verb, RegExp> = {
  create: /^(creating|created|stopped)$/,
  start: /^(created|running|stopped)$/,
  kill: /^(running|stopped)$/,
  'delete-force': /^(created|running|stopped)$/,
  'delete-stopped': /^stopped$/,
};

const readOr = (p: string, fallback: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return fallback;
  }
};

/** The pids of berth-oci's own children (its helper), read from /proc without waiting. */
function childrenOf(pid: number): number[] {
  return readOr(`/proc/${pid}/task/${pid}/children`, '').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Busy-waits (the kill must land inside a run of a few ms) until f() or ms pass. */
function spinUntil(f: () => boolean, ms: number): boolean {
  const end = performance.now() + ms;
  while (performance.now() < end) if (f()) return true;
  return false;
}

test('berth-oci: SIGKILL at any point of create, start, kill and delete leaves what the next call cleans', {
  skip: ROOT_SKIP,
  timeout: 900_000,
}, async (t) => {
  const s = sandbox(t);
  const dir = mkdtempSync(join(tmpdir(), 'berth-oci-kill-'));
  const state = join(dir, 'state');
  const rootfs = join(dir, 'rootfs');
  const parent = `berth-oci-sigkill-${process.pid}`;
  const mark = `BERTH_SIGKILL_TEST=${process.pid}`;
  s.busyboxTree(rootfs);
  // stderr through a file and no stdout for create: the container's process keeps its stdio,
  // and a pipe would hold spawnSync until it ends
  const errFile = join(dir, 'stderr');
  const oci = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const fd = openSync(errFile, 'w');
    const r = spawnSync(OCI, ['--root', state, ...args], {
      env: berthEnv(s),
      encoding: 'utf8',
      stdio: ['ignore', args[0] === 'create' ? 'ignore' : 'pipe', fd],
      timeout: 60_000,
    });
    closeSync(fd);
    return { status: r.status, stdout: r.stdout ?? '', stderr: readFileSync(errFile, 'utf8') };
  };
  assert.equal(oci(['spec', '--bundle', dir]).status, 0);
  const base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  base.process.terminal = false;
  base.process.args = ['sleep', '600'];
  // the mark finds the container's processes by their environment, whatever they run
  base.process.env = [...base.process.env, mark];
  const ids: string[] = [];
  const bundleOf = (id: string) => {
    base.linux.cgroupsPath = `/${parent}/${id}`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(base));
  };
  const berthPaths = makePaths(s.root, join(REPO, 'helper/berth-nsexec'));
  t.after(() => {
    for (const id of ids) oci(['delete', '--force', id]);
    // a berth-oci killed while it wrote an id holder leaves its temporary (reported, not yet
    // cleaned by berth): the test takes away its own
    const holders = join(berthPaths.run, 'oci-ids');
    const tmps = (existsSync(holders) ? readdirSync(holders) : []).filter(
      (n) => /\.tmp-\d+$/.test(n) && readOr(join(holders, n), '').includes(JSON.stringify(state)),
    );
    if (tmps.length) t.diagnostic(`id holder temporaries left by killed creates: ${tmps.join(' ')}`);
    for (const n of tmps) rmSync(join(holders, n), { force: true });
    // a leaked mount under the bundle must not be emptied by the rm below
    if (!mountsOf(dir).length) rmSync(dir, { recursive: true, force: true });
  });

  /** mountinfo lines of this (the host's) mount namespace under a path */
  function mountsOf(path: string): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(path));
  }
  /** processes of the test's containers and helpers: the mark in their environment, or the bundle in their argv */
  function processes(): string[] {
    const out: string[] = [];
    for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        const env = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
        if (env.includes(mark) || argv.includes(dir))
          out.push(`process ${p} ${argv.replaceAll('\0', ' ').slice(0, 120)}`);
      } catch {}
    }
    return out;
  }
  const cgroupsOf = (sub: string) =>
    ['', ...readdirSync('/sys/fs/cgroup')]
      .map((h) => join('/sys/fs/cgroup', h, parent, sub))
      .filter((p) => existsSync(p))
      .map((p) => `cgroup ${p}`);
  // a system container's idmapped root is staged in berth's run directory, its id range held there
  const stageOf = (id: string) =>
    stageDirOf(
      {
        root: state,
        log: null,
        logFormat: 'text',
        debug: false,
        helper: berthPaths.helper,
        berth: berthPaths,
        caller: null,
      },
      id,
    );
  const dirLeft = (path: string) => (existsSync(path) ? [`${path}: ${readdirSync(path).join(' ')}`] : []);
  /** what is left of container ID: none once delete --force returned (and its orphans ended) */
  async function leftOf(id: string): Promise<string[]> {
    // a helper orphaned by a kill of berth-oci alone ends on its own, in a moment
    for (let i = 0; i < 100 && processes().length; i++) await sleep(30);
    return [
      ...processes(),
      ...cgroupsOf(id),
      ...[...mountsOf(dir), ...mountsOf(stageOf(id))].map((l) => `mount ${l}`),
      ...dirLeft(join(state, id)).map((d) => `state ${d}`),
      ...dirLeft(stageOf(id)).map((d) => `stage ${d}`),
      ...readOciIdHolders(berthPaths)
        .filter((h) => h.holder?.root === state && h.holder.id === id)
        .map((h) => `id range ${h.base}`),
    ];
  }
  const stateOf = (id: string, where: string): string | null => {
    const r = oci(['state', id]);
    if (r.status !== 0) {
      assert.match(r.stderr, /container does not exist/, `${where}: state failed: ${r.stderr}`);
      return null;
    }
    const st = JSON.parse(r.stdout);
    assert.equal(st.id, id, where);
    assert.equal(st.bundle, dir, where);
    if (st.status === 'stopped') assert.equal(st.pid, 0, `${where}: a stopped container has no pid`);
    else if (st.status !== 'creating') assert.ok(st.pid > 0, `${where}: ${st.status} without a pid`);
    return st.status as string;
  };
  const must = (args: string[], where: string) => {
    const r = oci(args);
    assert.equal(r.status, 0, `${where}: ${args.join(' ')}: ${r.stderr}`);
  };
  const up = (id: string, where: string, started: boolean) => {
    bundleOf(id);
    must(['create', '--bundle', dir, id], where);
    if (started) must(['start', id], where);
  };
  const argsOf = (v: Verb, id: string): string[] =>
    v === 'create'
      ? ['create', '--bundle', dir, id]
      : v === 'start'
        ? ['start', id]
        : v === 'kill'
          ? ['kill', '--all', id, 'KILL']
          : v === 'delete-force'
            ? ['delete', '--force', id]
            : ['delete', id];

  /**
   * Runs berth-oci ARGS and SIGKILLs it (or its process group) after ms, or ms microseconds into
   * its helper's run, or as soon as the helper has staged a system container's root (stage).
   */
  async function killed(args: string[], o: { ms: number; group: boolean; at: 'time' | 'helper' | 'stage' }) {
    // detached: a process group of its own, which a group kill takes whole (the helper with it)
    const child = spawn(OCI, ['--root', state, ...args], { env: berthEnv(s), stdio: 'ignore', detached: true });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const pid = child.pid as number;
    let when = `${o.ms} ms`;
    if (o.at === 'helper') {
      const seen = spinUntil(() => childrenOf(pid).length > 0, 3000);
      spinUntil(() => false, o.ms / 1000);
      when = seen ? `${o.ms} us into the helper` : 'after the run (no helper seen)';
    } else if (o.at === 'stage') {
      const stage = stageOf(args.at(-1) ?? '');
      // until it is staged, or berth-oci has ended (a zombie until we wait for it)
      const ended = () => /\) [ZX] /.test(readOr(`/proc/${pid}/stat`, ') Z '));
      const seen = spinUntil(() => mountsOf(stage).length > 0 || ended(), 3000);
      when = seen && mountsOf(stage).length ? 'its root staged' : 'after the run (nothing staged seen)';
    } else await sleep(o.ms);
    try {
      process.kill(o.group ? -pid : pid, 'SIGKILL');
    } catch {}
    const code = await exited;
    return `${args[0]} killed ${o.group ? 'with its group ' : ''}at ${when} (exit ${code})`;
  }

  // how long each verb runs unkilled here: the kills fall within 1.2 times that
  const est = new Map<Verb, number>();
  const timed = (v: Verb, f: () => void) => {
    const t0 = performance.now();
    f();
    est.set(v, Math.max(est.get(v) ?? 0, performance.now() - t0));
  };
  ids.push('w');
  bundleOf('w');
  timed('create', () => must(argsOf('create', 'w'), 'warm-up'));
  timed('start', () => must(argsOf('start', 'w'), 'warm-up'));
  // a system container (berth-oci's default) maps its root to a high host uid
  const uidMap = readFileSync(`/proc/${JSON.parse(oci(['state', 'w']).stdout).pid}/uid_map`, 'utf8').trim();
  const system = !/^0\s+0\s+4294967295$/.test(uidMap);
  if (system) assert.ok(Number(uidMap.split(/\s+/)[1]) >= 1048576, `uid 0 inside maps to a high host uid: ${uidMap}`);
  timed('kill', () => must(argsOf('kill', 'w'), 'warm-up'));
  timed('delete-stopped', () => must(['delete', '--force', 'w'], 'warm-up'));
  est.set('delete-force', est.get('delete-stopped') ?? 100);
  assert.deepEqual(await leftOf('w'), [], 'warm-up: a plain run leaves nothing');

  const random = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  t.diagnostic(
    `seed ${SEED} (OCI_SIGKILL_SEED replays it), ${ROUNDS} rounds, ${system ? 'system' : 'plain'} containers; unkilled ms: ${[...est].map(([v, ms]) => `${v} ${ms.toFixed(0)}`).join(', ')}`,
  );
  const counts = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const id = `r${round}`;
    ids.push(id);
    const verb = pick(VERBS);
    const group = random() < 0.5;
    // create runs the helper: some of its kills aim inside that run, or at its staged root
    const r = random();
    const at = verb !== 'create' || r < 0.6 ? 'time' : r < 0.8 || !system ? 'helper' : 'stage';
    const ms = at === 'helper' ? Math.floor(random() * 30_000) : Math.floor(random() * 1.2 * (est.get(verb) ?? 100));
    if (verb !== 'create') up(id, `round ${round}`, verb !== 'start');
    if (verb === 'delete-stopped') {
      must(['kill', id, 'KILL'], `round ${round}`);
      for (let i = 0; i < 200 && stateOf(id, `round ${round}`) !== 'stopped'; i++) await sleep(20);
    }
    bundleOf(id);
    const what = await killed(argsOf(verb, id), { ms, group, at });
    const where = `round ${round} (seed ${SEED}): ${what}`;
    const st = stateOf(id, where);
    if (st !== null) assert.match(st, ALLOWED[verb], `${where}: state says ${st}`);
    const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
    count(`${verb}:${st ?? 'gone'}`);
    // the window the kills must reach: the helper's idmapped copies staged on the host
    if (mountsOf(stageOf(id)).length) count('staged mounts left');
    // the next call: a start of a created one works; a create of the same id fails whole or works
    if (st === 'created' && verb !== 'create') {
      must(['start', id], `${where}: the next start`);
      assert.equal(stateOf(id, where), 'running', `${where}: started after the kill`);
    }
    if (verb === 'create') {
      const again = oci(['create', '--bundle', dir, id]);
      if (again.status !== 0) {
        assert.match(
          again.stderr,
          /container with id exists|exists already/,
          `${where}: a second create: ${again.stderr}`,
        );
        assert.equal(
          stateOf(id, `${where}, refused second create`),
          st,
          `${where}: a refused create changed its state`,
        );
      } else assert.equal(stateOf(id, `${where}, second create`), 'created');
    }
    must(['delete', '--force', id], `${where}: delete --force`);
    assert.equal(stateOf(id, `${where}, deleted`), null);
    assert.deepEqual(await leftOf(id), [], `${where}: left after delete --force`);
    // the id is free again: a whole create, start and delete of it
    if (verb === 'create') {
      up(id, `${where}: create again`, true);
      assert.equal(stateOf(id, where), 'running');
      must(['delete', '--force', id], `${where}: delete of the new one`);
      assert.deepEqual(await leftOf(id), [], `${where}: left by the new one`);
    }
  }
  // the narrowest window of start, made by hand: the FIFO read to its end (the command runs)
  // by a start killed before it removed the FIFO and recorded the container running
  ids.push('h');
  up('h', 'by hand', false);
  const fifo = openSync(join(state, 'h', 'exec.fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(1);
  const readFifo = () => {
    try {
      return readSync(fifo, buf, 0, 1, null);
    } catch {
      return -1; // EAGAIN: its writer has not written yet, or not closed it yet
    }
  };
  let got = false;
  for (let i = 0; i < 500 && !got; i++) {
    got = readFifo() === 1;
    if (!got) await sleep(10);
  }
  for (let i = 0; i < 500 && readFifo() !== 0; i++) await sleep(10);
  closeSync(fifo);
  assert.ok(got && existsSync(join(state, 'h', 'exec.fifo')));
  assert.equal(stateOf('h', 'by hand'), 'running', 'its command runs: the FIFO left is no sign of created');
  assert.match(oci(['start', 'h']).stderr, /cannot start a container that is running/);
  must(['delete', '--force', 'h'], 'by hand');
  assert.deepEqual(await leftOf('h'), [], 'by hand: left after delete --force');
  t.diagnostic(
    `states after the kill: ${[...counts]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  assert.deepEqual(cgroupsOf(''), [], 'the cgroup parent goes with its last container');
  assert.deepEqual(existsSync(state) ? readdirSync(state) : [], [], 'nothing left under --root');
});
