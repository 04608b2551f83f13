// Crash and concurrency stress: random commands (create, start, stop, set, snapshot,
// snapshot-switch, snapshot-delete, backup, restore, clone, destroy, and exec as a read path)
// on five container slots of every layout, most killed with SIGKILL at a random moment inside
// their usual run time, one to four at once on the same or on different containers. After every
// round, each container's `status` must agree with the host's facts (init, cgroup processes,
// state file, root mount, freezer), its data (a canary file, which clones, backups, restores and
// snapshots carry) must be what its history allows, no two containers may share an id range,
// and what a killed command left must not survive the next command that succeeds on that
// container. At the end nothing may be left (mounts, cgroups, loop devices, keepers, veths,
// files). About a quarter of the starts, stops, sets and destroys go through berthd instead
// (a start runs inside it, the others as its children), and their kill is a SIGKILL of the
// daemon: the next daemon and the CLI must find the same truth. STRESS_ROUNDS sets the length
// (about 1.2 kills a round), STRESS_SEED replays a run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type RunningDaemon, startDaemon } from './daemon-harness.ts';
import { BERTH, REPO, ROOT_SKIP, rng, type Sandbox, sandbox, waitFor } from './harness.ts';

const ROUNDS = Number(process.env['STRESS_ROUNDS'] ?? 25);
const SEED = Number(process.env['STRESS_SEED'] ?? Date.now() % 1_000_000);
const SLOTS = ['s0', 's1', 's2', 's3', 's4'];
/** what `create` makes in each slot (clone, restore and snapshot-switch may bring another layout) */
const CREATE: Record<string, string[]> = {
  s0: ['--layout', 'overlay'],
  s1: ['--layout', 'dir'],
  s2: ['--layout', 'overlay'],
  s3: ['--layout', 'dir'],
  s4: ['--layout', 'image', '--diskspace', '64M'],
};
const ipOf = (ct: string) => `10.66.0.${SLOTS.indexOf(ct) + 2}`;
/** exit codes a command that was not killed may give: refusals that the random order makes */
const REFUSALS = new Set([9, 14, 21, 31, 32, 41, 44, 78]);
/** verbs that reconcile a container's runtime (processes, cgroups, state, freezer) first */
const RECONCILE = ['start', 'stop', 'set', 'snapshot', 'snapshot-switch', 'backup', 'clone', 'destroy'];

/** The /root/canary text a container holds, or null: none (a fresh container). */
type Canary = string | null;

interface Op {
  verb: string;
  args: string[];
  /** the containers it changes, the one named first (clone: source and target) */
  cts: string[];
  kill: number | null;
  /** sent to berthd (its kill kills the daemon) rather than run as a command */
  api?: boolean;
}

/** the verbs a round may send to berthd, and the request each is */
const API_VERBS = ['start', 'stop', 'set', 'destroy'];
function apiRequest(o: Op): { method: string; path: string; body?: unknown } {
  const ct = o.cts[0] as string;
  if (o.verb === 'start')
    return { method: 'PUT', path: `/1.0/containers/${ct}/state?wait=300`, body: { action: 'start' } };
  if (o.verb === 'stop') {
    const force = o.args.includes('--fast');
    return { method: 'PUT', path: `/1.0/containers/${ct}/state?wait=300`, body: { action: 'stop', force } };
  }
  if (o.verb === 'destroy') return { method: 'DELETE', path: `/1.0/containers/${ct}?wait=300` };
  // set CT --key value ... [--save]: {"key": "value", ..., "save": true}
  const body: Record<string, unknown> = {};
  const rest = o.args.slice(2);
  for (let i = 0; i < rest.length; i++) {
    const key = (rest[i] as string).slice(2);
    if (key === 'save') body['save'] = true;
    else body[key] = rest[++i];
  }
  return { method: 'PATCH', path: `/1.0/containers/${ct}`, body };
}

interface Outcome {
  code: number | null;
  /** SIGKILL delivered while it ran */
  killed: boolean;
  out: string;
  err: string;
  ms: number;
  /** its stdout or stderr stayed open after it exited (something it started kept them) */
  pipesKept: boolean;
}

/** Runs berth, SIGKILLed after killMs (null: to its end). */
function launch(s: Sandbox, args: string[], killMs: number | null): Promise<Outcome> {
  const [cmd = BERTH, ...pre] = [...s.wrap, BERTH]; // nsenter execs berth: the pid is berth's
  const t0 = Date.now();
  const child = spawn(cmd, [...pre, '--root', s.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  let sent = false;
  const timer = killMs === null ? null : setTimeout(() => (sent = child.kill('SIGKILL')), killMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      const ms = Date.now() - t0;
      const done = (pipesKept: boolean) =>
        resolve({ code, killed: sent && signal === 'SIGKILL', out, err, ms, pipesKept });
      // output is whole once the pipes close; nothing berth starts may keep them, but never hang
      const grace = setTimeout(() => done(true), 2000);
      child.once('close', () => {
        clearTimeout(grace);
        done(false);
      });
    });
  });
}

interface Status {
  exist: boolean;
  mounted: boolean;
  status: 'running' | 'suspended' | 'down';
  pid: number | null;
}

/** What the host says about one container, read without berth. */
interface Facts {
  conf: string | null;
  priv: boolean;
  mounted: boolean;
  cgroups: string[];
  procs: number[];
  state: { pid: number } | null;
  frozen: boolean;
  keepers: number[];
  veth: boolean;
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Whether pid runs (a zombie, already out of its cgroup, does not). */
function alive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  return stat !== null && !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
}

test('stress: random SIGKILLs and concurrent commands leave truthful, whole containers and no leaks', {
  skip: ROOT_SKIP,
  timeout: 4 * 3600_000,
}, async (t) => {
  const s = sandbox(t);
  // the network namespace playing the host is held by a process, not an `ip netns` mount: a
  // mount namespace made with shared propagation elsewhere on the host can unmount those
  const holder = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--net', '--', 'sleep', 'infinity'], {
    stdio: 'ignore',
  });
  t.after(() => holder.kill('SIGKILL'));
  const ns = `/proc/${holder.pid}/ns/net`;
  await waitFor('the network namespace', () => {
    try {
      return readlinkSync(ns) !== readlinkSync('/proc/self/ns/net');
    } catch {
      return false;
    }
  });
  spawnSync('nsenter', [`--net=${ns}`, 'ip', 'link', 'set', 'lo', 'up']);
  s.wrap = ['nsenter', `--net=${ns}`];
  const t0 = Date.now();
  const random = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  t.diagnostic(`seed ${SEED} (STRESS_SEED replays it), ${ROUNDS} rounds`);
  const lib = join(s.root, 'var/lib/berth');
  const privOf = (ct: string) => join(lib, 'private', ct);
  const confOf = (ct: string) => join(s.root, 'etc/berth/ct', `${ct}.conf`);
  const bkDir = join(s.root, 'bk');
  const helper = realpathSync(join(REPO, 'helper/berth-nsexec'));
  const netns = (args: string[]) => spawnSync('nsenter', [`--net=${ns}`, 'ip', ...args], { encoding: 'utf8' }).stdout;

  // ---- the model: what each slot, snapshot and backup may hold ----
  const canary = new Map<string, Canary>(); // existing containers only
  const snaps = new Map<string, Map<string, Set<Canary>>>(SLOTS.map((c) => [c, new Map()]));
  const backups = new Map<string, Set<Canary>>();
  const running = new Set<string>();

  const counts = {
    commands: 0,
    concurrent: 0,
    locked: 0,
    frozen: 0,
    leftovers: 0,
    pipesKept: 0,
    statusChecks: 0,
    settled: 0,
    unseenMounts: 0,
    execRaces: 0,
    execStuck: 0,
    api: 0,
    daemonKills: 0,
    orphans: 0,
  };

  // ---- host facts ----
  const cgroupFacts = (ct: string) => {
    const dirs: string[] = [];
    const procs = new Set<number>();
    const walk = (d: string) => {
      dirs.push(d);
      for (const p of (read(join(d, 'cgroup.procs')) ?? '').split('\n')) if (p) procs.add(Number(p));
      try {
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      } catch {}
    };
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const d = join('/sys/fs/cgroup', h, s.cgroupParent, ct);
      if (existsSync(d)) walk(d);
    }
    return { dirs, procs: [...procs] };
  };
  const frozenFact = (ct: string) => {
    const v1 = read(join('/sys/fs/cgroup/freezer', s.cgroupParent, ct, 'freezer.state'));
    if (v1 !== null) return v1.trim() !== 'THAWED';
    return read(join('/sys/fs/cgroup', s.cgroupParent, ct, 'cgroup.freeze'))?.trim() === '1';
  };
  /** console log path -> live keeper pids of this sandbox */
  const keeperPids = () => {
    const m = new Map<string, number[]>();
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      const args = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
      const k = args.indexOf('--keeper');
      const log = args[k + 1] ?? '';
      if (k >= 0 && log.startsWith(s.root)) m.set(log, [...(m.get(log) ?? []), Number(pid)]);
    }
    return m;
  };
  const facts = (): Map<string, Facts> => {
    const mounts = new Set((read('/proc/self/mountinfo') ?? '').split('\n').map((l) => l.split(' ')[4] ?? ''));
    const keepers = keeperPids();
    const links = netns(['-o', 'link']);
    return new Map(
      SLOTS.map((ct) => {
        const cg = cgroupFacts(ct);
        const state = read(join(s.root, 'run/berth', ct, 'state.json'));
        return [
          ct,
          {
            conf: read(confOf(ct)),
            priv: existsSync(privOf(ct)),
            mounted: mounts.has(join(lib, 'root', ct)),
            cgroups: cg.dirs,
            procs: cg.procs,
            state: state === null ? null : (JSON.parse(state) as { pid: number }),
            frozen: frozenFact(ct),
            keepers: keepers.get(join(s.root, 'var/log/berth', `${ct}.console.log`)) ?? [],
            veth: new RegExp(`: bv-${ct}[@:]`).test(links),
          },
        ];
      }),
    );
  };
  /** pid 1 of a pid namespace of its own, and not the helper still building it: an init */
  const isInit = (pid: number) => {
    const nspid = /^NSpid:\s+(.*)$/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1]?.split(/\s+/) ?? [];
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {}
    return nspid.length > 1 && nspid.at(-1) === '1' && exe !== helper;
  };
  const keyOf = (conf: string | null, key: string) =>
    (conf && new RegExp(`^${key}="([^"]*)"`, 'm').exec(conf)?.[1]) || null;
  /** the canary as the container's files hold it: through its init when it runs, else on disk */
  const readCanary = (ct: string, st: Status, f: Facts): Canary => {
    if (st.pid !== null) {
      const text = read(`/proc/${st.pid}/root/root/canary`);
      if (text !== null || alive(st.pid)) return text?.trim() ?? null;
    }
    const layout = keyOf(f.conf, 'LAYOUT') ?? 'overlay';
    if (layout === 'image') {
      const r = spawnSync('debugfs', ['-R', 'cat /root/canary', join(privOf(ct), 'root.img')], { encoding: 'utf8' });
      return /not found/i.test(r.stderr) ? null : r.stdout.trim();
    }
    const file = join(privOf(ct), layout === 'overlay' ? 'upper/root/canary' : 'root/canary');
    return existsSync(file) && statSync(file).isFile() ? (read(file)?.trim() ?? null) : null;
  };
  /** what an interrupted command left: files (any locked command removes them) and runtime */
  const leftovers = (ct: string, st: Status, f: Facts) => {
    const files: string[] = [];
    const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    for (const m of ['partial', 'destroying', 'switch-to', 'switch-new', 'switch-old'])
      if (existsSync(`${privOf(ct)}.${m}`)) files.push(`private/${ct}.${m}`);
    const deadTmp = (n: string) => {
      const m = /\.tmp-(\d+)$/.exec(n);
      return m !== null && !alive(Number(m[1]));
    };
    files.push(...list(join(s.root, 'etc/berth/ct')).filter((n) => n.startsWith(`${ct}.conf.tmp-`) && deadTmp(n)));
    files.push(
      ...list(join(s.root, 'run/berth', ct))
        .filter(deadTmp)
        .map((n) => `run/${ct}/${n}`),
    );
    files.push(...list(join(lib, 'private')).filter((n) => n.startsWith(`${ct}.`) && deadTmp(n)));
    files.push(...list(join(lib, 'backup/.work', ct)).map((n) => `backup/.work/${ct}/${n}`));
    files.push(...list(bkDir).filter((n) => n.startsWith(`${ct}-`) && n.includes('.tmp-')));
    const snapDir = join(lib, 'snapshots', ct);
    files.push(
      ...list(snapDir)
        .filter((n) => n.endsWith('.partial') || n.startsWith('.'))
        .map((n) => `snapshot ${n}`),
    );
    if (f.conf === null && existsSync(snapDir)) files.push(`snapshots of a deleted ${ct}: ${list(snapDir).join(' ')}`);
    const rt: string[] = [];
    if (existsSync(join(s.root, 'run/berth', ct, 'thaw-after-copy'))) rt.push('thaw marker');
    if (st.status !== 'down' && f.state?.pid !== st.pid)
      rt.push(`state file names pid ${f.state?.pid}, init is ${st.pid}`);
    // what a stopped init leaves until the next command (it may also have powered off by itself)
    const down: string[] = [];
    if (st.status === 'down') {
      if (f.state) down.push(`state file (pid ${f.state.pid})`);
      if (f.cgroups.length) down.push(`cgroups ${f.cgroups.length}`);
      if (f.procs.length) down.push(`processes ${f.procs.join(' ')}`);
      if (f.mounted) (f.conf === null ? files : down).push('root mounted');
      if (f.keepers.length) down.push(`keeper ${f.keepers.join(' ')}`);
      if (f.veth) down.push(`veth bv-${ct}`);
    }
    return { files, rt, down };
  };

  /**
   * Every container's status, and then the host's facts. An init that a killed stop asked to
   * power off may finish between the two: its status is asked again until the two agree.
   */
  const observe = async (where: string) => {
    const status = async (ct: string) => {
      const r = await launch(s, ['status', '--json', ct], null);
      counts.statusChecks++;
      assert.equal(r.code, 0, `${where}: status ${ct}: ${r.err}`);
      return JSON.parse(r.out) as Status;
    };
    const sts = await Promise.all(SLOTS.map(status));
    let host = facts();
    for (const [i, ct] of SLOTS.entries()) {
      for (let n = 0; n < 20; n++) {
        const pid = sts[i]?.pid ?? null;
        if (pid === null || alive(pid)) break;
        counts.settled++;
        await new Promise((r) => setTimeout(r, 250));
        sts[i] = await status(ct);
        host = facts();
      }
    }
    return new Map(SLOTS.map((ct, i) => [ct, { st: sts[i] as Status, f: host.get(ct) as Facts }]));
  };

  // ---- the commands ----
  const est = new Map<string, number>(); // a verb's usual run time (ms), learnt from whole runs
  const kills = new Map<string, { runs: number; killed: number }>();
  const weighted = (choices: Array<[number, () => Op | null]>): Op | null => {
    const total = choices.reduce((a, [w]) => a + w, 0);
    let x = random() * total;
    for (const [w, f] of choices) {
      x -= w;
      if (x < 0) return f();
    }
    return null;
  };
  let serial = 0;
  let apiTaken = false;
  const keyOfOp = (o: Op) => (o.api ? `api ${o.verb}` : o.verb);
  const op = (verb: string, args: string[], cts: string[]): Op => ({ verb, args, cts, kill: null });

  // ---- berthd: started when a request needs it, SIGKILLed as a command would be ----
  let daemon: RunningDaemon | null = null;
  /** the daemon's verb children (set, stop, destroy) go on after it is killed: the round waits */
  const orphanVerbs = () =>
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((pid) => {
        const args = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
        const at = args.indexOf('--root');
        return at >= 0 && args[at + 1] === s.root && args[at + 2] !== 'daemon' && alive(Number(pid));
      });
  const launchApi = async (o: Op): Promise<Outcome> => {
    daemon ??= await startDaemon(t, s);
    const d = daemon;
    const t0 = Date.now();
    let sent = false;
    const timer = o.kill === null ? null : setTimeout(() => (sent = d.child.kill('SIGKILL')), o.kill);
    const { method, path, body } = apiRequest(o);
    try {
      const r = await d.api.call<{ status?: string; error?: { code: number; message: string } }>(method, path, body);
      const ms = Date.now() - t0;
      const done = r.status === 200 && (method === 'PATCH' || r.body.status === 'success');
      const code = done ? 0 : (r.body.error?.code ?? -r.status);
      return {
        code,
        killed: false,
        out: JSON.stringify(r.body),
        err: r.body.error?.message ?? '',
        ms,
        pipesKept: false,
      };
    } catch (err) {
      if (!sent) throw err;
      return { code: null, killed: true, out: '', err: String(err), ms: Date.now() - t0, pipesKept: false };
    } finally {
      if (timer) clearTimeout(timer);
      if (sent) {
        counts.daemonKills++;
        await d.stop();
        daemon = null;
        for (let i = 0; i < 600 && orphanVerbs().length; i++) {
          if (i === 0) counts.orphans++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };
  const setOp = (ct: string, n: number, save: boolean): Op => {
    const v = pick([
      ['--ram', `${64 + (n % 4) * 32}M`],
      ['--cpus', String(1 + (n % 2))],
      ['--hostname', `h${n}`],
      ['--numproc', String(100 + (n % 5) * 50)],
      ['--ipadd', ipOf(ct)],
      ['--ipdel', 'all'],
      ['--ram', `${96 + (n % 3) * 32}M`, '--numproc', String(150 + (n % 4) * 25), '--hostname', `m${n}`],
    ]);
    return op('set', ['set', ct, ...v, ...(save ? ['--save'] : [])], [ct]);
  };
  const choose = (ct: string, busy: Set<string>): Op => {
    const n = serial++;
    const here = canary.has(ct);
    const others = SLOTS.filter((c) => c !== ct && canary.has(c));
    const empty = SLOTS.filter((c) => !canary.has(c) && !busy.has(c));
    const files = [...backups.keys()];
    const mine = [...(snaps.get(ct)?.keys() ?? [])];
    const snapshot = () =>
      mine.length >= 3
        ? op('snapshot-delete', ['snapshot-delete', ct, '--name', pick(mine)], [ct])
        : op('snapshot', ['snapshot', ct, '--name', `n${n}`], [ct]);
    const backup = () => op('backup', ['backup', ct, '-o', join(bkDir, `${ct}-${n}.tar`)], [ct]);
    const clone = () => {
      const to = pick(empty.length ? empty : SLOTS.filter((c) => c !== ct));
      return op('clone', ['clone', ct, to], [ct, to]);
    };
    const restore = (force: boolean) =>
      files.length ? op('restore', ['restore', pick(files), ct, ...(force ? ['--force'] : [])], [ct]) : null;
    const exec = () => op('exec', ['exec', ct, '--', 'cat', '/root/canary'], [ct]);
    const chosen = !here
      ? weighted([
          [4, () => op('create', ['create', ct, ...(CREATE[ct] ?? [])], [ct])],
          [
            others.length ? 3 : 0,
            () => {
              const from = pick(others);
              return op('clone', ['clone', from, ct], [from, ct]);
            },
          ],
          [3, () => restore(false)],
          [0.3, () => op('start', ['start', ct], [ct])],
        ])
      : running.has(ct)
        ? weighted([
            [3, () => op('stop', ['stop', ct], [ct])],
            [2, () => op('stop', ['stop', '--fast', ct], [ct])],
            [4, () => setOp(ct, n, false)],
            [2, () => setOp(ct, n, true)],
            [2, snapshot],
            [2, backup],
            [2, clone],
            [2, exec],
            [0.3, () => op('destroy', ['destroy', ct], [ct])],
            [0.3, () => restore(true)],
            [0.3, () => op('start', ['start', ct], [ct])],
          ])
        : weighted([
            [canary.get(ct) === null ? 8 : 4, () => op('start', ['start', ct], [ct])],
            [3, () => setOp(ct, n, true)],
            [0.5, () => setOp(ct, n, false)],
            [2, snapshot],
            [mine.length ? 2 : 0, () => op('snapshot-switch', ['snapshot-switch', ct, '--name', pick(mine)], [ct])],
            [2, backup],
            [2, clone],
            [1.5, () => op('destroy', ['destroy', ct], [ct])],
            [1.5, () => restore(true)],
            [0.5, exec],
            [0.2, () => op('create', ['create', ct, ...(CREATE[ct] ?? [])], [ct])],
          ]);
    const o = chosen ?? op('create', ['create', ct, ...(CREATE[ct] ?? [])], [ct]);
    // one request a round at most goes to berthd: its kill ends every request it serves
    if (API_VERBS.includes(o.verb) && !apiTaken && random() < 0.25) {
      o.api = true;
      apiTaken = true;
    }
    // killed at a random moment of its usual run (exec changes nothing: never killed)
    if (o.verb !== 'exec' && random() < 0.75) o.kill = Math.floor(random() * 1.1 * (est.get(keyOfOp(o)) ?? 800));
    return o;
  };

  // ---- the start: every slot made, started and given its canary ----
  const seed = async (ct: string) => {
    const word = `canary-${ct}-${Math.floor(random() * 1e9)}`;
    s.ok(['exec', ct, '--', 'sh', '-c', `echo ${word} > /root/canary && sync`]);
    canary.set(ct, word);
  };
  for (const ct of SLOTS) {
    s.ok(['create', ct, ...(CREATE[ct] ?? [])]);
    if (ct !== 's4') s.ok(['set', ct, '--ipadd', ipOf(ct), '--save']);
    s.ok(['start', ct]);
    running.add(ct);
    await seed(ct);
  }

  const codes = new Map<string, number>();
  const seen = new Map<string, { files: string[]; rt: string[]; down: string[] }>();
  const history: string[] = [];
  let rounds = 0;
  const elapsed = () => Math.round((Date.now() - t0) / 1000);
  /** The figures of the run, printed also when a check fails. */
  const report = () => {
    const killed = [...kills.values()].reduce((a, k) => a + k.killed, 0);
    const perVerb = [...kills.entries()]
      .sort()
      .map(([v, k]) => `${v} ${k.killed}/${k.runs}`)
      .join(', ');
    t.diagnostic(
      `${killed} SIGKILLs delivered in ${counts.commands} commands, ${rounds} of ${ROUNDS} rounds, ${elapsed()} s (${(elapsed() / Math.max(killed, 1)).toFixed(1)} s a kill)`,
    );
    t.diagnostic(`killed/run by verb: ${perVerb}`);
    t.diagnostic(
      `${counts.api} requests to berthd (${counts.daemonKills} daemons killed, ${counts.orphans} times its verb child went on), ${counts.concurrent} rounds of 2-4 at once, ${counts.locked} refused as locked (exit 9), ${counts.frozen} times found frozen by a killed copy, ${counts.pipesKept} exits with stdio kept open, ${counts.execRaces} execs ended by a stop at once (exit 7, 137, 143), ${counts.execStuck} execs frozen with a container whose copy was killed (until a resume), ${counts.leftovers} leftovers of killed commands seen (each removed by the next command), ${counts.statusChecks} status checks (${counts.settled} asked again while an init powered off, ${counts.unseenMounts} said "deleted unmounted" of the VE_ROOT a killed create left mounted)`,
    );
    t.diagnostic(
      `exits of unkilled commands: ${[...codes.entries()]
        .sort()
        .map(([c, n]) => `${c}: ${n}`)
        .join(', ')}`,
    );
    t.diagnostic(
      `usual run times (ms): ${[...est.entries()]
        .sort()
        .map(([v, ms]) => `${v} ${ms}`)
        .join(', ')}`,
    );
  };
  // the last command on every slot: a stop, and a destroy, which also rolls back a killed create
  const teardown = () =>
    SLOTS.map((ct) => {
      daemon?.child.kill('SIGTERM');
      s.berth(['stop', '--fast', ct]);
      return s.berth(['destroy', ct]);
    });
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // old backups go (the newest four stay restorable)
      for (const f of [...backups.keys()].slice(0, -4)) {
        rmSync(f, { force: true });
        backups.delete(f);
      }
      const before = new Set(running); // the containers that ran before the round
      const width = pick([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
      if (width > 1) counts.concurrent++;
      const batch: Op[] = [];
      const busy = new Set<string>();
      apiTaken = false;
      for (let i = 0; i < width; i++) {
        // the same container, at once, often
        const ct = i > 0 && random() < 0.4 ? (batch[0]?.cts[0] ?? pick(SLOTS)) : pick(SLOTS);
        const o = choose(ct, busy);
        for (const c of o.cts) busy.add(c);
        batch.push(o);
      }
      // a snapshot-switch killed midway is finished by the next command: its snapshot's data then
      const pending = SLOTS.map((ct) => snaps.get(ct)?.get(read(`${privOf(ct)}.switch-to`)?.trim() ?? '') ?? []);
      const done = batch.map(() => false);
      const launched = batch.map((o, i) =>
        (o.api ? launchApi(o) : launch(s, o.args, o.kill)).then((r) => {
          done[i] = true;
          return r;
        }),
      );
      // exec takes no lock: one that joins a container just as a copy freezes it stays frozen
      // with it when that copy is killed, until the next command thaws it (resume, as an admin
      // would; engine/freeze.ts leaves the thaw to the next command)
      const watchdog = setInterval(() => {
        if (batch.some((o, i) => o.verb !== 'exec' && !done[i])) return;
        for (const [i, o] of batch.entries()) {
          const ct = o.cts[0] as string;
          if (done[i] || !frozenFact(ct) || !existsSync(join(s.root, 'run/berth', ct, 'thaw-after-copy'))) continue;
          counts.execStuck++;
          void launch(s, ['resume', ct], null);
        }
      }, 3000);
      const results = await Promise.all(launched).finally(() => clearInterval(watchdog));
      const where = `round ${round} (${batch
        .map((o, i) => {
          const r = results[i] as Outcome;
          return `${o.api ? 'api ' : ''}${o.args.join(' ').replaceAll(`${s.root}/`, '')}${o.kill !== null ? ` kill@${o.kill}` : ''} -> ${r.killed ? 'KILLED' : r.code}`;
        })
        .join(' | ')})`;
      try {
        counts.commands += batch.length;
        for (const [i, o] of batch.entries()) {
          const r = results[i] as Outcome;
          const k = kills.get(keyOfOp(o)) ?? { runs: 0, killed: 0 };
          k.runs++;
          if (r.killed) k.killed++;
          kills.set(keyOfOp(o), k);
          if (o.api) counts.api++;
          if (r.pipesKept) counts.pipesKept++;
          if (r.killed) continue;
          // a refusal is quick: only whole runs teach how long a verb takes
          if (r.code === 0) est.set(keyOfOp(o), Math.round(0.7 * (est.get(keyOfOp(o)) ?? r.ms) + 0.3 * r.ms));
          if (r.code === 9) counts.locked++;
          const c = `${keyOfOp(o)} ${r.code}`;
          codes.set(c, (codes.get(c) ?? 0) + 1);
          if (r.code === null) assert.fail(`${where}: ${o.args.join(' ')} died of a signal it was not sent`);
          // exec takes no lock: a stop at the same moment can take its init away mid-setns (exit 7,
          // not 31: exec.ts reports the helper's ENOENT as is), or end the command (SIGTERM, SIGKILL)
          const lostInit = r.code === 7 && /open \/proc\/\d+\/ns\/\w+: No such file/.test(r.err);
          if (o.verb === 'exec' && (lostInit || r.code === 143 || r.code === 137)) {
            counts.execRaces++;
            continue;
          }
          // berthd answers a refusal with the CLI's exit code in its error body
          if (r.code !== 0 && !REFUSALS.has(r.code) && !(o.verb === 'exec' && r.code === 1)) {
            assert.fail(`${where}: ${o.args.join(' ')} exited ${r.code}: ${r.err}`);
          }
        }

        // what each container may hold now: its canary before the round, or what a command brought
        const allowed = new Map<string, Set<Canary>>(
          SLOTS.map((c, i) => [
            c,
            new Set([...(canary.has(c) ? [canary.get(c) as Canary] : []), ...(pending[i] ?? [])]),
          ]),
        );
        for (let pass = 0; pass < 2; pass++) {
          for (const o of batch) {
            const [verb, a1, a2] = o.args;
            const to = (c: string) => allowed.get(c) as Set<Canary>;
            if (verb === 'create') to(a1 as string).add(null);
            if (verb === 'clone') for (const v of to(a1 as string)) to(a2 as string).add(v);
            if (verb === 'restore') for (const v of backups.get(a1 as string) ?? []) to(a2 as string).add(v);
            if (verb === 'snapshot-switch')
              for (const v of snaps.get(a1 as string)?.get(o.args[3] as string) ?? []) to(a1 as string).add(v);
          }
        }
        const touched = (ct: string) => batch.filter((o) => o.cts.includes(ct));
        const host = await observe(where);
        const bases = new Map<string, string>();
        for (const ct of SLOTS) {
          const { st, f } = host.get(ct) as { st: Status; f: Facts };
          const at = `${where}: ${ct} ${JSON.stringify(st)}`;
          // status against the host's facts
          assert.equal(st.exist, f.conf !== null && f.priv, `${at}: config ${f.conf !== null}, private area ${f.priv}`);
          // status reads no VE_ROOT without a config: an image create killed while it unpacks
          // through VE_ROOT leaves it mounted (a leftover the next command unmounts)
          if (f.conf !== null) assert.equal(st.mounted, f.mounted, `${at}: root mounted is ${f.mounted}`);
          else if (f.mounted) counts.unseenMounts++;
          if (st.status === 'down') {
            assert.equal(st.pid, null, at);
            const inits = f.procs.filter(isInit);
            assert.deepEqual(inits, [], `${at}: down, but init ${inits} runs in its cgroup`);
          } else {
            assert.ok(st.pid !== null && f.procs.includes(st.pid), `${at}: init not in its cgroup (${f.procs})`);
            assert.ok(isInit(st.pid), `${at}: pid ${st.pid} is not a live init`);
            assert.ok(st.exist && f.mounted, `${at}: runs without its files`);
            const marker = existsSync(join(s.root, 'run/berth', ct, 'thaw-after-copy'));
            if (st.status === 'suspended') {
              // only berth freezes here: a copy whose berth was killed; the next command thaws it
              assert.ok(f.frozen && marker, `${at}: suspended, frozen ${f.frozen}, thaw marker ${marker}`);
              counts.frozen++;
            } else assert.ok(!f.frozen, `${at}: running but frozen`);
          }
          // the data: what the container held before, or what a command of this round brought
          const ops = touched(ct);
          const mayGo = ops.some((o) => ['destroy', 'restore'].includes(o.verb) && o.cts[0] === ct);
          const swapping = existsSync(`${privOf(ct)}.switch-to`);
          if (canary.has(ct) && !mayGo && !swapping) assert.ok(st.exist, `${at}: the container is gone`);
          if (st.exist) {
            const now = readCanary(ct, st, f);
            const may = allowed.get(ct) as Set<Canary>;
            assert.ok(may.has(now), `${at}: data is ${now}, expected one of ${[...may].join(', ')}`);
            canary.set(ct, now);
            const base = keyOf(f.conf, 'ID_BASE');
            if (base) {
              assert.ok(!bases.has(base), `${at}: ID_BASE ${base} also held by ${bases.get(base)}`);
              bases.set(base, ct);
            }
          } else if (!swapping) {
            canary.delete(ct);
          }
          if (st.status === 'down') running.delete(ct);
          else running.add(ct);
          // exec, the read path, saw what the container held
          for (const [j, o] of batch.entries()) {
            const e = results[j] as Outcome;
            if (o.verb !== 'exec' || o.cts[0] !== ct) continue;
            if (e.code === 0) assert.ok(allowed.get(ct)?.has(e.out.trim()), `${at}: exec read ${e.out.trim()}`);
            if (e.code === 1) assert.ok(allowed.get(ct)?.has(null), `${at}: exec found no canary: ${e.err}`);
          }
          // snapshots and backups made in this round hold what the container held then
          const snapDir = join(lib, 'snapshots', ct);
          const onDisk = (existsSync(snapDir) ? readdirSync(snapDir) : []).filter(
            (n) => !n.startsWith('.') && !n.endsWith('.partial'),
          );
          const known = snaps.get(ct) as Map<string, Set<Canary>>;
          for (const n of onDisk.filter((x) => !known.has(x))) {
            const made = ops.some((o) => o.verb === 'snapshot' && o.args[3] === n);
            assert.ok(made || !st.exist, `${at}: snapshot ${n} appeared, of another container of that CTID`);
            known.set(n, new Set(allowed.get(ct)));
          }
          for (const n of [...known.keys()]) if (!onDisk.includes(n) || !canary.has(ct)) known.delete(n);
          for (const o of ops.filter((x) => x.verb === 'backup')) {
            const file = o.args[3] as string;
            if (existsSync(file)) backups.set(file, new Set(allowed.get(ct)));
          }
          // what a killed command left does not survive the next command that succeeds on it
          const left = leftovers(ct, st, f);
          const succeeded = (pred: (o: Op) => boolean) =>
            ops.some((o) => pred(o) && (results[batch.indexOf(o)] as Outcome).code === 0);
          if (!ops.some((o) => (results[batch.indexOf(o)] as Outcome).killed)) {
            // every locked command recovers the files; those that reconcile the runtime, the rest
            if (succeeded((o) => o.verb !== 'exec'))
              assert.deepEqual(left.files, [], `${at}: left by a killed command`);
            const reconciled = succeeded((o) => RECONCILE.includes(o.verb) && o.cts[0] === ct);
            if (reconciled) assert.deepEqual(left.rt, [], `${at}: left by a killed command`);
            // an init that a killed stop asked to power off may go after the command: only one
            // down before the round, or stopped by it, has nothing left
            if ((reconciled && !before.has(ct)) || succeeded((o) => o.verb === 'stop' || o.verb === 'destroy'))
              assert.deepEqual(left.down, [], `${at}: left by a stopped init`);
          }
          const prev = seen.get(ct);
          const had = prev ? [...prev.files, ...prev.rt, ...prev.down] : [];
          counts.leftovers += [...left.files, ...left.rt, ...left.down].filter((l) => !had.includes(l)).length;
          seen.set(ct, left);
        }
        // a container without a canary gets one once it runs
        for (const ct of SLOTS)
          if (canary.get(ct) === null && running.has(ct) && !host.get(ct)?.f.frozen) await seed(ct);
      } catch (err) {
        // the rounds before say how the container got there
        if (err instanceof Error) err.message += `\nthe rounds before:\n${history.join('\n')}`;
        throw err;
      }
      history.push(where);
      rounds++;
      if (history.length > 12) history.shift();
    }
  } catch (err) {
    report();
    teardown(); // the sandbox's own cleanup knows only containers with a config
    throw err;
  }
  report();
  for (const [i, r] of teardown().entries()) assert.ok(r.code === 0 || r.code === 14, `destroy ${SLOTS[i]}: ${r.err}`);
  assert.doesNotMatch(netns(['-o', 'link']), /bv-/, 'veths left');
  assert.doesNotMatch(netns(['route', 'show', 'table', 'all']), /10\.66\./, 'routes left');
  assert.deepEqual(s.leaks(), []);
  const rest = [
    ...readdirSync(privOf('')).map((n) => `private/${n}`),
    ...(existsSync(join(lib, 'snapshots')) ? readdirSync(join(lib, 'snapshots')).map((n) => `snapshots/${n}`) : []),
    ...(existsSync(join(lib, 'backup/.work')) ? readdirSync(join(lib, 'backup/.work')).map((n) => `.work/${n}`) : []),
    ...readdirSync(join(s.root, 'etc/berth/ct')).filter((n) => !n.startsWith('ve-')),
    ...readdirSync(bkDir).filter((n) => n.includes('.tmp-')),
  ];
  assert.deepEqual(rest, [], 'files left after every container was destroyed');
  const locks = readdirSync(join(lib, 'lock')).filter((f) => !f.startsWith('template-') && f !== '.break.lck');
  t.diagnostic(`lock files left: ${locks.join(' ') || 'none'}`);
});
