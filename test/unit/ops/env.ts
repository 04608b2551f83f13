// A throwaway berth tree for ops unit tests: the root's files in a temp directory, a cgroup
// tree there too (the layout points at it), and the fake host for everything else.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CtId, parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { type Ctx, makeCtx } from '../../../src/engine/context.ts';
import { type CgroupLayout, detectLayout } from '../../../src/host/cgroups.ts';
import {
  ctConfigPath,
  layerPath,
  makePaths,
  type Paths,
  templateMetaPath,
  templatePath,
} from '../../../src/host/paths.ts';
import { createContainer } from '../../../src/ops/create.ts';
import { startContainer } from '../../../src/ops/start.ts';
import { type FakeHost, fakeHost } from '../fake-host.ts';

const HYBRID = [
  '26 25 0:23 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
  '27 25 0:24 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct',
  '28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '29 25 0:26 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
  '30 25 0:27 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
  '31 25 0:28 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer',
  '32 25 0:29 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset',
  '33 25 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
].join('\n');
const V2 = '25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate';

/** The busybox template's tarball here: a few bytes with their true checksum (create verifies it). */
const TARBALL = 'not a real tarball';
export const TEMPLATE_SHA = createHash('sha256').update(TARBALL).digest('hex');

export interface Env {
  root: string;
  paths: Paths;
  fake: FakeHost;
  ctx: Ctx;
  layout: CgroupLayout;
  /** what the verbs said to the admin */
  logs: string[];
  id: CtId;
  /** a container's cgroup directory in one hierarchy ("memory"; "" on v2) */
  cgroup(hierarchy: string, ...below: string[]): string;
  /** the container's config text */
  config(): string;
  done(): void;
}

/** Runs fn on a fresh tree, removed afterwards whatever happens. */
export async function inEnv(fn: (env: Env) => Promise<void>, o: { v2?: boolean } = {}): Promise<void> {
  const env = makeEnv(o);
  try {
    await fn(env);
  } finally {
    env.done();
  }
}

/** For assert.rejects: a BerthError of this code. */
export const code = (c: string) => (err: unknown) => err instanceof BerthError && err.code === c;

/** The value after FLAG in a helper argv (its first one). */
export const opt = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

/** A tree with berth.conf (no lxcfs), the busybox template unpacked as a layer, and no container. */
export function makeEnv(o: { v2?: boolean; global?: string } = {}): Env {
  const root = mkdtempSync(join(tmpdir(), 'berth-ops-'));
  const paths = makePaths(root, join(root, 'helper/berth-nsexec'));
  const layout = detectLayout(o.v2 ? V2 : HYBRID);
  for (const h of layout.hierarchies) {
    h.mountPoint = join(root, h.mountPoint);
    mkdirSync(h.mountPoint, { recursive: true });
  }
  const fake = fakeHost(join(root, 'sys/fs/cgroup'));
  fake.spawn({ pid: process.pid }); // the test itself: its locks name it
  const logs: string[] = [];
  const ctx = makeCtx(paths, (m) => logs.push(m), layout, fake.host);
  mkdirSync(paths.ctConfigDir, { recursive: true });
  writeFileSync(paths.globalConfig, `LXCFS="no"\n${o.global ?? ''}`);
  // the busybox template as create finds it: tarball, metadata, and its layer already unpacked
  mkdirSync(paths.templateCache, { recursive: true });
  writeFileSync(templatePath(paths, 'busybox'), TARBALL);
  const meta = { name: 'busybox', distro: 'busybox', release: '1', arch: 'amd64', created: '2026-01-01T00:00:00Z' };
  writeFileSync(
    templateMetaPath(paths, 'busybox'),
    JSON.stringify({ ...meta, sha256: TEMPLATE_SHA, size: TARBALL.length, source: 'test' }),
  );
  const layer = layerPath(paths, `busybox-${TEMPLATE_SHA.slice(0, 12)}`);
  mkdirSync(join(layer, 'sbin'), { recursive: true });
  symlinkSync('/bin/busybox', join(layer, 'sbin/init'));
  const id = parseCtId('101');
  const name = (h: string) => layout.hierarchies.find((x) => x.mountPoint.endsWith(`/${h}`) || h === '');
  return {
    root,
    paths,
    fake,
    ctx,
    layout,
    logs,
    id,
    cgroup: (h, ...below) => join(name(h)?.mountPoint ?? '', paths.cgroupParent, id, ...below),
    config: () => readFileSync(ctConfigPath(paths, id), 'utf8'),
    done: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Creates container 101 (privileged unless told) from the busybox layer: no tool runs. */
export async function withContainer(env: Env, o: { privileged?: boolean; hostname?: string } = {}): Promise<void> {
  await createContainer(env.ctx, env.id, { privileged: o.privileged ?? true, hostname: o.hostname ?? 'ct101' });
}

/**
 * Answers the start mode as the helper does: init (pid 1 of a pid namespace of its own) joins
 * the cgroups it was given and runs, and so does the keeper. Returns their pids.
 */
export function answerStart(env: Env, init = 7001): { init: number; keeper: number } {
  const keeper = init + 1;
  env.fake.onHelper = (args) => {
    if (!args.includes('--rootfs')) return {};
    runInit(env, init, args);
    env.fake.spawn({ pid: keeper, exe: env.paths.helper });
    return { pid: init, keeper };
  };
  return { init, keeper };
}

/** A container's init as the helper leaves it: in the --cgroup-procs files of ARGS. */
export function runInit(env: Env, pid: number, args: string[]): void {
  env.fake.spawn({ pid, nspid: [pid, 1], exe: '/bin/busybox', ns: { pid: 'pid:[4026532999]' } });
  args.forEach((a, i) => {
    if (a === '--cgroup-procs') appendFileSync(args[i + 1] ?? '', `${pid}\n`);
  });
}

/** Container 101 created and started (its init and keeper run in the fake). */
export async function running(env: Env, o: { privileged?: boolean } = {}): Promise<{ init: number; keeper: number }> {
  await withContainer(env, o);
  return started(env);
}

/** Container 101 started, its calls and messages forgotten. */
export async function started(env: Env): Promise<{ init: number; keeper: number }> {
  const pids = answerStart(env);
  await startContainer(env.ctx, env.id);
  env.fake.calls.length = 0;
  env.logs.length = 0;
  return pids;
}
