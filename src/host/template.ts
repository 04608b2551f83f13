// The template cache: tarballs (zstd) that containers are created from, and how they are built.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUSYBOX_DIRS, BUSYBOX_FILES } from '../core/busybox-rootfs.ts';
import { BerthError } from '../core/errors.ts';
import type { Host } from './host.ts';
import { type Paths, templatePath } from './paths.ts';
import { meter, type ProgressLine } from './progress.ts';
import { childProcess } from './spawn.ts';
import { commitTemplate, hostArch } from './template-cache.ts';
import { run } from './tools.ts';

/** Unpacks template NAME's tarball into DEST, with its progress on the status line when given. */
export async function extractTemplate(
  host: Host,
  tarball: string,
  dest: string,
  name: string,
  progress?: ProgressLine,
): Promise<void> {
  const tar = ['--zstd', '-xpf', '-', '-C', dest, '--numeric-owner', '--xattrs', '--xattrs-include=*'];
  if (!progress)
    return host.run(
      'tar',
      tar.map((a) => (a === '-' ? tarball : a)),
    );
  // with a status line the tarball is fed through us, counted: else tar reads it itself
  const m = meter(progress, `Unpacking ${name}`, statSync(tarball).size);
  await host.pipe(['cat', '--', tarball], ['tar', ...tar], (d) => m.add(d.length)).finally(() => m.end());
}

/**
 * Packs a finished rootfs into the cache with its metadata; the rename makes a half-written
 * template impossible. `mtime` makes the tarball reproducible (same input, same bytes, same
 * checksum, so the same shared layer): every entry gets it and they are sorted by name.
 */
async function packTemplate(
  p: Paths,
  meta: { name: string; distro: string; release: string },
  rootfs: string,
  mtime?: Date,
): Promise<string> {
  const out = templatePath(p, meta.name);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const fixed = mtime
    ? ['--sort=name', `--mtime=@${Math.floor(mtime.getTime() / 1000)}`, '--pax-option=delete=atime,delete=ctime']
    : [];
  await run('tar', ['--zstd', '-cpf', tmp, '--numeric-owner', '--xattrs', ...fixed, '-C', rootfs, '.']);
  await commitTemplate(p, tmp, { ...meta, arch: hostArch(), source: 'built by berth' });
  return out;
}

/** The embedded default: Debian's static busybox, an inittab and an rcS. No download. */
export async function buildBusyboxTemplate(p: Paths, busybox = '/bin/busybox'): Promise<string> {
  try {
    statSync(busybox);
  } catch {
    throw new BerthError('BAD_TEMPLATE', `build busybox template: ${busybox} not found`, {
      hint: 'install it with: apt-get install busybox-static',
    });
  }
  mkdirSync(p.templateCache, { recursive: true });
  const work = mkdtempSync(join(p.templateCache, '.build-busybox-'));
  try {
    const root = join(work, 'rootfs');
    for (const [dir, mode] of BUSYBOX_DIRS) {
      mkdirSync(join(root, dir), { recursive: true });
      chmodSync(join(root, dir), mode);
    }
    copyFileSync(busybox, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    const list = childProcess().spawnSync(busybox, ['--list-full'], { encoding: 'utf8' });
    const applets = list.stdout.split('\n').filter((a) => a && a !== 'bin/busybox' && !a.includes('..'));
    if (list.status !== 0 || !applets.includes('sbin/init')) {
      throw new BerthError('BAD_TEMPLATE', `build busybox template: ${busybox} has no init applet`);
    }
    for (const a of applets) {
      mkdirSync(join(root, dirname(a)), { recursive: true });
      symlinkSync('/bin/busybox', join(root, a));
    }
    for (const [file, mode, content] of BUSYBOX_FILES) {
      writeFileSync(join(root, file), content, { mode });
      chmodSync(join(root, file), mode);
    }
    return await packTemplate(
      p,
      { name: 'busybox', distro: 'busybox', release: busyboxVersion(busybox) },
      root,
      statSync(busybox).mtime,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** "1.35.0" from busybox's banner, "unknown" when it has none. */
function busyboxVersion(busybox: string): string {
  const r = childProcess().spawnSync(busybox, [], { encoding: 'utf8' });
  return /BusyBox v(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

export const DEBIAN_RELEASES: Record<string, string> = { 'debian-12': 'bookworm', 'debian-11': 'bullseye' };

/** debootstrap a minimal Debian that boots systemd; packages are cached for the next build. */
export async function buildDebianTemplate(
  p: Paths,
  name: string,
  mirror: string,
  log: (l: string) => void,
): Promise<string> {
  const suite = DEBIAN_RELEASES[name];
  if (!suite)
    throw new BerthError('BAD_VALUE', `unknown template ${name}`, {
      hint: `known: busybox, ${Object.keys(DEBIAN_RELEASES).join(', ')}`,
    });
  mkdirSync(p.templateCache, { recursive: true });
  const work = mkdtempSync(join(p.templateCache, `.build-${name}-`));
  const cache = join(p.lib, 'template/debootstrap-cache');
  mkdirSync(cache, { recursive: true });
  try {
    const root = join(work, 'rootfs');
    const started = Date.now();
    await run(
      'debootstrap',
      [
        '--variant=minbase',
        '--include=systemd-sysv,dbus,procps,iproute2,less,nano-tiny',
        `--cache-dir=${cache}`,
        suite,
        root,
        mirror,
      ],
      (l) => {
        if (/^[IEW]:/.test(l)) log(`[${Math.round((Date.now() - started) / 1000)}s] ${l}`);
      },
    ).catch((err: unknown) => {
      throw new BerthError('BAD_TEMPLATE', `build ${name}: debootstrap failed: ${(err as Error).message}`, {
        hint: `is the package mirror ${mirror} reachable? (set MIRROR in berth.conf)`,
      });
    });
    await run('chroot', [root, 'sh', '-c', DEBIAN_TWEAKS]);
    log(`packing ${name}...`);
    return await packTemplate(p, { name, distro: 'debian', release: suite }, root);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Run in a chroot of the fresh, host-built tree (no container has touched it yet):
 * units that cannot work in any container are masked, apt caches emptied.
 */
const DEBIAN_TWEAKS = [
  'set -e',
  'for u in sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount systemd-remount-fs.service getty-static.service; do ln -sf /dev/null /etc/systemd/system/$u; done',
  'echo localhost > /etc/hostname',
  'printf "127.0.0.1 localhost\\n::1 localhost ip6-localhost ip6-loopback\\n" > /etc/hosts',
  'apt-get clean',
  'rm -rf /var/lib/apt/lists/*',
  // no machine-id: empty (systemd's "not first boot" state; berth writes each container's id at
  // its first start), and D-Bus's a symlink, which systemd never copies an id from
  ': > /etc/machine-id',
  'if [ -d /var/lib/dbus ]; then ln -sf /etc/machine-id /var/lib/dbus/machine-id; fi',
  // the distro's own network manager: berth writes its units for venet0 and NETIF interfaces
  // (/etc/systemd/network/10-berth-*.network), so restarting it inside keeps the addresses
  'systemctl enable systemd-networkd.service',
].join('\n');

const DEBIAN_PACKAGES = 'systemd-sysv,dbus,procps,iproute2,less,nano-tiny';

/** Changes whenever the Debian recipe does: caches of built templates key on it. */
export const DEBIAN_RECIPE = createHash('sha256')
  .update(DEBIAN_PACKAGES)
  .update(DEBIAN_TWEAKS)
  .digest('hex')
  .slice(0, 12);
