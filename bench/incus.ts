// Incus for the benches: a throwaway incusd started by hand (no systemd here) with its own
// INCUS_DIR, a `dir` pool, no network at all, and berth's busybox template imported as an image;
// and the teardown that leaves no instance, process or mount of it behind.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How to get incusd: bench/README.md says the same. */
export const INCUS_INSTALL =
  'Debian 12: add bookworm-backports, then apt-get install -t bookworm-backports incus-base; Debian 13: apt-get install incus-base';

// Debian installs the daemon outside the PATH; the client is /usr/bin/incus
const INCUSD = ['/usr/libexec/incus/incusd', '/usr/lib/incus/incusd'];

// No networks and a default profile whose only device is the root disk: no bridge, NAT or
// dnsmasq on the host. Images never refresh (the machine has no route to an image server).
const PRESEED = `config:
  images.auto_update_interval: "0"
storage_pools:
- name: default
  driver: dir
networks: []
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
`;

export interface IncusDaemon {
  dir: string;
  proc: ChildProcess;
  exited: Promise<unknown>;
}

/** The incusd binary, or null when incus-base is not installed. */
export function findIncusd(): string | null {
  const client = spawnSync('sh', ['-c', 'command -v incus']).status === 0;
  return client ? (INCUSD.find((p) => existsSync(p)) ?? null) : null;
}

/** Runs the incus client against the bench's daemon (INCUS_DIR and INCUS_CONF are in the env). */
export function incus(args: string[], input?: string): string {
  const r = spawnSync('incus', args, { encoding: 'utf8', input, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`incus ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Starts incusd under WORK/incus and preseeds it. The client's INCUS_DIR and INCUS_CONF go into
 * this process's env, so every incus child talks to this daemon and ~/.config stays untouched.
 */
export function startIncus(incusd: string, work: string): IncusDaemon {
  const dir = join(work, 'incus');
  mkdirSync(dir, { recursive: true });
  process.env['INCUS_DIR'] = dir;
  process.env['INCUS_CONF'] = join(work, 'incus-client');
  const log = openSync(join(work, 'incusd.out'), 'w');
  const proc = spawn(incusd, ['--group', 'root', '--logfile', join(dir, 'incusd.log')], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const d = { dir, proc, exited };
  try {
    incus(['admin', 'waitready', '--timeout', '60']);
    incus(['admin', 'init', '--preseed'], PRESEED);
  } catch (e) {
    const out = readFileSync(join(work, 'incusd.out'), 'utf8');
    throw new Error(`incusd did not come up: ${(e as Error).message}\n${out}`);
  }
  return d;
}

/** Imports berth's template tarball (a rootfs as .tar.zst) as a unified Incus image ALIAS. */
export function importTemplate(tarball: string, work: string, alias: string): void {
  const dir = join(work, 'incus-image');
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  spawnSync('tar', ['--zstd', '-xpf', tarball, '-C', join(dir, 'rootfs')]);
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    join(dir, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${now}\nproperties:\n  os: busybox\n  description: berth's ${alias} template\n`,
  );
  const image = join(work, `${alias}.incus.tar`);
  const r = spawnSync('tar', ['-cf', image, '-C', dir, 'metadata.yaml', 'rootfs']);
  if (r.status !== 0) throw new Error(`tar of the incus image: ${r.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  incus(['image', 'import', image, '--alias', alias]);
  rmSync(image);
}

const quiet = (args: string[]) => spawnSync('incus', args, { encoding: 'utf8', timeout: 120_000 });

/**
 * Deletes every instance, image and the pool, shuts incusd down (SIGKILL after 30 s), kills any
 * process still naming its directory (lxc monitors, forkfile, a dnsmasq or lxcfs of its own) and
 * unmounts what is left under it. Returns what it had to clean by force, for the report.
 */
export async function stopIncus(d: IncusDaemon | null): Promise<string[]> {
  if (!d) return [];
  const forced: string[] = [];
  const names = (quiet(['list', '--format', 'csv', '-c', 'n']).stdout ?? '').split('\n').filter(Boolean);
  if (names.length) quiet(['delete', '-f', ...names]);
  for (const f of (quiet(['image', 'list', '--format', 'csv', '-c', 'f']).stdout ?? '').split('\n').filter(Boolean))
    quiet(['image', 'delete', f]);
  quiet(['profile', 'device', 'remove', 'default', 'root']);
  quiet(['storage', 'delete', 'default']);
  quiet(['admin', 'shutdown', '--timeout', '30']);
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
  if ((await Promise.race([d.exited, timeout])) === 'timeout') {
    forced.push('incusd (SIGKILL)');
    d.proc.kill('SIGKILL');
    await d.exited;
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {}
    if (cmd.includes(d.dir) && Number(pid) !== process.pid) {
      forced.push(`${cmd.split('\0').join(' ').trim()} (pid ${pid})`);
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp.startsWith(d.dir))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) {
    forced.push(`mount ${mp}`);
    spawnSync('umount', ['-l', mp]);
  }
  delete process.env['INCUS_DIR'];
  delete process.env['INCUS_CONF'];
  return forced;
}
