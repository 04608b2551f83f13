// A dockerd of a test's or bench's own (Debian's docker.io) with berth-oci as its runtime `berth`:
// in a network namespace it makes (docker0 and its NAT stay there), its config, data, exec root,
// socket and containerd in one temp directory, its containers under a cgroup parent of its own.
// stop() removes all of it and says what had to be forced.
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, ROOT_SKIP, waitFor } from './harness.ts';

export const OCI = join(REPO, 'bin/berth-oci');
/** Debian's docker client (/usr/local/bin/docker may be another one) */
export const DOCKER = '/usr/bin/docker';
const HAVE = existsSync(DOCKER) && spawnSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' }).status === 0;
export const DOCKER_SKIP =
  ROOT_SKIP || (HAVE ? false : 'docker.io is not installed (setup.sh installs it for the tests)');

export interface Dockerd {
  /** the network namespace it runs in, /run/netns/NAME */
  netns: string;
  /** docker0's address in the namespace: the default bridge's gateway */
  gateway: () => string;
  /** its socket, for DOCKER -H */
  host: string;
  /** runs the docker client against it */
  docker: (args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }) => SpawnSyncReturns<string>;
  /** what it printed on stderr so far */
  log: () => string;
  /** waits until it answers */
  ready: () => Promise<void>;
  /** removes its containers, stops it, removes all it made; returns what had to be forced */
  stop: () => Promise<string[]>;
}

/** ENV: the daemon's, which its containerd, shims and berth-oci inherit (berthEnv: a sandbox's BERTH_ROOT). */
export function startDockerd(name = `berth-dk-${process.pid}`, env: NodeJS.ProcessEnv = process.env): Dockerd {
  const dir = mkdtempSync(join(tmpdir(), 'berth-docker-'));
  const cgroupParent = `/${name}`;
  // dockerd writes /run/docker/plugins and /etc/docker/key.json whatever its flags say, and
  // containerd's shim makes /run/containerd/s (its sockets)
  const hadRunDocker = existsSync('/run/docker');
  const hadRunContainerd = existsSync('/run/containerd');
  const hadKey = existsSync('/etc/docker/key.json');
  const host = `unix://${join(dir, 'docker.sock')}`;
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ runtimes: { berth: { path: OCI } } }));
  spawnSync('ip', ['netns', 'add', name]);
  // its runtime calls go to berth-oci's call server, in the namespace they come from
  const server = startOciServer(env, ['nsenter', `--net=/run/netns/${name}`]);
  // its log goes to a file, not a pipe: callers time runs with spawnSync, which keeps our event
  // loop from reading a pipe, and once its 64 KiB filled (containerd's few lines a container,
  // relayed by dockerd, after some 25 runs) their writes blocked, and dockerd saw no more exits
  const logFile = join(dir, 'dockerd.log');
  const logFd = openSync(logFile, 'w', 0o600);
  // nsenter, not `ip netns exec`, which remounts /sys and hides the cgroup mounts
  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=/run/netns/${name}`,
      'dockerd',
      '--config-file',
      join(dir, 'daemon.json'),
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '-H',
      host,
      '--cgroup-parent',
      cgroupParent,
    ],
    { stdio: ['ignore', 'ignore', logFd], env },
  );
  closeSync(logFd);
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const exited = new Promise((r) => child.once('exit', r));
  const docker = (args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}) =>
    spawnSync(DOCKER, ['-H', host, ...args], {
      encoding: 'utf8',
      input: opts.input ?? '',
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 << 20,
      // the classic builder: BuildKit needs buildx on newer clients (Debian 13's: docker-buildx)
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
  return {
    netns: name,
    gateway: () =>
      /inet (\S+)\//.exec(
        spawnSync('nsenter', [`--net=/run/netns/${name}`, 'ip', '-4', '-o', 'addr', 'show', 'docker0'], {
          encoding: 'utf8',
        }).stdout,
      )?.[1] ?? '',
    host,
    docker,
    log,
    ready: () =>
      waitFor(
        'dockerd to answer',
        () => child.exitCode !== null || docker(['version'], { timeoutMs: 5_000 }).status === 0,
        60_000,
      ).then(() => {
        if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}:\n${log().slice(-3000)}`);
      }),
    stop: async () => {
      if (child.exitCode === null) {
        const ids = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
        if (ids.length) docker(['rm', '-f', ...ids]);
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      }
      const stuck = child.exitCode === null && child.signalCode === null;
      if (stuck) child.kill('SIGKILL');
      server.stop();
      const leaks = [...(stuck ? ['dockerd did not stop on SIGTERM'] : []), ...removeLeft(dir, cgroupParent)];
      spawnSync('ip', ['netns', 'del', name]);
      if (!hadRunDocker) rmSync('/run/docker', { recursive: true, force: true });
      if (!hadKey) rmSync('/etc/docker/key.json', { force: true });
      // only what is empty: another containerd may be using it meanwhile
      if (!hadRunContainerd) {
        for (const d of ['s', 'fifo', 'runc', ''])
          spawnSync('rmdir', [join('/run/containerd', d)], { stdio: 'ignore' });
      }
      return leaks;
    },
  };
}

/**
 * berth-oci's call server (docs/oci.md) for the BERTH_ROOT of ENV, started through WRAP (nsenter
 * into the network namespace its callers run in: a call from another namespace is not served);
 * stop() ends it. `--detach` returns once it answers.
 */
export function startOciServer(env: NodeJS.ProcessEnv, wrap: string[] = []): { stop: () => void } {
  const [cmd = OCI, ...args] = [...wrap, OCI, 'serve', '--detach'];
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`berth-oci serve --detach: ${r.status} ${r.stderr}`);
  return { stop: () => void spawnSync(OCI, ['serve', '--stop'], { env, timeout: 30_000 }) };
}

/**
 * What a client daemon left of its own: processes naming DIR in their argv (its containerd,
 * shims, conmon), mounts under DIR, cgroups named CGROUPPARENT. Forces them away (by pid,
 * lazily, rmdir), removes DIR, and returns what it found.
 */
export function removeLeft(dir: string, cgroupParent: string): string[] {
  const processes = () =>
    readdirSync('/proc').filter((pid) => {
      try {
        return (
          /^\d+$/.test(pid) && pid !== String(process.pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)
        );
      } catch {
        return false;
      }
    });
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((mp) => mp.startsWith(`${dir}/`));
  const cgroups = () =>
    ['', ...readdirSync('/sys/fs/cgroup')].map((h) => join('/sys/fs/cgroup', h, cgroupParent)).filter(existsSync);
  const found = [
    ...processes().map((p) => `process ${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')}`),
    ...mounts().map((m) => `mount ${m}`),
    ...cgroups().map((c) => `cgroup ${c}`),
  ];
  for (const pid of processes()) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  for (const m of mounts().reverse()) spawnSync('umount', ['-l', m]);
  for (const c of cgroups()) spawnSync('find', [c, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
  rmSync(dir, { recursive: true, force: true });
  return found;
}

/** Imports the root file system tar of a berth template (tar.zst) as image TAG, with CHANGES. */
export function importTemplate(d: Dockerd, template: string, tag: string, changes: string[] = []): void {
  const tar = spawnSync('zstd', ['-dc', template], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`zstd -dc ${template}: ${tar.stderr}`);
  const r = d.docker(['import', ...changes.flatMap((c) => ['--change', c]), '-', tag], { input: tar.stdout });
  if (r.status !== 0) throw new Error(`docker import ${tag}: ${r.stderr}`);
}
