// containerd for the berth-oci tests: a daemon the test starts (its root, state and socket in a
// temp directory, optionally inside a network namespace the test made), images made offline from
// a root file system tar, and a cleanup that leaves nothing of it on the host.
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startOciServer } from './docker-daemon.ts';
import { ROOT_SKIP, waitFor } from './harness.ts';

const HAVE =
  spawnSync('sh', ['-c', 'command -v containerd && command -v ctr && command -v containerd-shim-runc-v2'], {
    stdio: 'ignore',
  }).status === 0;
export const CONTAINERD_SKIP =
  ROOT_SKIP || (HAVE ? false : 'containerd is not installed (setup.sh installs it for the tests)');

/** The image config's fields the tests set (OCI image-spec `config`). */
export interface ImageConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  StopSignal?: string;
}

/**
 * A docker-archive image (manifest, config, one layer) named TAG, in DIR, whose layer is a root
 * file system: a directory, or a template's .tar.zst (decompressed as it is, no copy of its files).
 */
export function imageTar(
  dir: string,
  rootfs: { dir: string } | { zst: string },
  tag: string,
  config: ImageConfig,
): string {
  const layer = join(dir, 'layer.tar');
  const made =
    'dir' in rootfs
      ? spawnSync('tar', ['-C', rootfs.dir, '-cf', layer, '.'])
      : spawnSync('sh', ['-c', 'zstd -qdc "$1" > "$2"', 'sh', rootfs.zst, layer]);
  assert.equal(made.status, 0, String(made.stderr));
  const digest = createHash('sha256').update(readFileSync(layer)).digest('hex');
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
      rootfs: { type: 'layers', diff_ids: [`sha256:${digest}`] },
    }),
  );
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: ['layer.tar'] }]),
  );
  const tar = join(dir, 'image.tar');
  assert.equal(spawnSync('tar', ['-C', dir, '-cf', tar, 'manifest.json', 'config.json', 'layer.tar']).status, 0);
  rmSync(layer);
  return tar;
}

/** The mount points under DIR, in mount order. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp.startsWith(`${dir}/`));
}

/** The pids of the shims of the containerd serving SOCK (its address is on their argv). */
export function shimPids(sock: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args[0]?.endsWith('containerd-shim-runc-v2') && args.includes(sock);
      } catch {
        return false;
      }
    })
    .map(Number);
}

export interface Containerd {
  sock: string;
  /** containerd's stderr so far (for assertion messages) */
  log(): string;
  /** ctr against this daemon, in namespace NS */
  ctr(ns: string, args: string[]): SpawnSyncReturns<string>;
}

/**
 * Starts containerd with its root, state and socket under DIR, the top-level TOML keys TOP and
 * the tables EXTRA; `wrap` is a command prefix (nsenter into the test's network namespace). At the test's end
 * `beforeStop` runs (remove what the test made through the daemon), then the daemon stops, its
 * shims are killed, and its mounts and DIR go.
 */
export async function startContainerd(
  t: TestContext,
  dir: string,
  opts: {
    top?: string;
    extra?: string;
    wrap?: string[];
    env?: Record<string, string>;
    beforeStop?: () => Promise<void> | void;
  },
): Promise<Containerd> {
  // containerd makes /run/containerd (fifo, s) whatever its config says
  const hadRun = existsSync('/run/containerd');
  const sock = join(dir, 'sock');
  writeFileSync(
    join(dir, 'config.toml'),
    `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\n${opts.top ?? ''}[grpc]\n  address = "${sock}"\n` +
      `[plugins."io.containerd.internal.v1.opt"]\n  path = "${dir}/opt"\n${opts.extra ?? ''}`,
  );
  let log = '';
  // the shim's runtime calls go to berth-oci's call server of that root, where they come from
  const server = opts.env?.['BERTH_ROOT'] ? startOciServer({ ...process.env, ...opts.env }, opts.wrap) : null;
  const [cmd = 'containerd', ...pre] = [...(opts.wrap ?? []), 'containerd'];
  // nsenter execs containerd in place: this pid is the daemon's
  const daemon: ChildProcess = spawn(cmd, [...pre, '--config', join(dir, 'config.toml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  daemon.stderr?.on('data', (d) => {
    log += d;
  });
  t.after(async () => {
    try {
      await opts.beforeStop?.();
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) =>
        daemon.exitCode !== null || daemon.signalCode !== null ? r(null) : daemon.once('exit', r),
      );
      // shims outlive containerd by design
      for (const pid of shimPids(sock)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      server?.stop();
      for (const mp of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
      if (!hadRun) rmSync('/run/containerd', { recursive: true, force: true });
    }
  });
  await waitFor('containerd to serve its socket', () => existsSync(sock) || daemon.exitCode !== null, 30_000);
  assert.ok(existsSync(sock), log);
  return {
    sock,
    log: () => log,
    ctr: (ns, args) => spawnSync('ctr', ['--address', sock, '-n', ns, ...args], { encoding: 'utf8', timeout: 120_000 }),
  };
}
