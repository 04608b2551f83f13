// The template cache on disk: NAME.tar.zst with NAME.json beside it (core/template-meta.ts),
// checksums, import of foreign rootfs tarballs, removal (of templates and of unused layers).
// The tools (and node:crypto) are loaded where a checksum or a pipe needs them: create reads
// the metadata only.
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { carriesMachineId, DBUS_MACHINE_ID, ETC_MACHINE_ID, machineIdMember } from '../core/machine-id.ts';
import {
  checkTarball,
  formatTemplateMeta,
  layerName,
  parseTemplateMeta,
  type TemplateMeta,
  templateOfLayer,
} from '../core/template-meta.ts';
import { errText, listDir, readIfExists, writeFileAtomic } from './fs-util.ts';
import type { Host } from './host.ts';
import { type Paths, templateMetaPath, templatePath } from './paths.ts';
import { snapshotLayers } from './snapshots.ts';
import { listCtIds, readCt } from './store.ts';

const tools = () => import('./tools.ts');

/** Debian's name for this machine's architecture. */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386', arm: 'armhf', ppc64: 'ppc64el' };
  return map[process.arch] ?? process.arch;
}

export function readTemplateMeta(p: Paths, name: string): TemplateMeta | null {
  const file = templateMetaPath(p, name);
  const text = readIfExists(file);
  return text === null ? null : parseTemplateMeta(text, file);
}

/**
 * Moves a finished tarball (tmp) into the cache as NAME with its metadata. The tarball lands
 * first, then its metadata: a crash between the two leaves a checksum that does not match,
 * which every use detects ("damaged, rebuild it"), never a silently wrong template.
 */
export async function commitTemplate(
  p: Paths,
  tmp: string,
  meta: Omit<TemplateMeta, 'sha256' | 'size' | 'created'>,
): Promise<TemplateMeta> {
  const sum = await (await tools()).sha256File(tmp);
  const full: TemplateMeta = { ...meta, created: new Date().toISOString(), ...sum };
  renameSync(tmp, templatePath(p, meta.name));
  writeFileAtomic(templateMetaPath(p, meta.name), formatTemplateMeta(full));
  return full;
}

/**
 * The template's metadata after checking its tarball against it (exit 47 when damaged). A
 * tarball from an older berth has none: its checksum is recorded now, once.
 */
export async function verifiedTemplate(p: Paths, name: string, log: (m: string) => void): Promise<TemplateMeta> {
  const file = templatePath(p, name);
  const sum = await (await tools()).sha256File(file);
  const meta = readTemplateMeta(p, name);
  if (!meta) {
    const adopted: TemplateMeta = {
      name,
      distro: name.split('-')[0] ?? name,
      release: name.includes('-') ? name.slice(name.indexOf('-') + 1) : 'unknown',
      arch: hostArch(),
      created: statSync(file).mtime.toISOString(),
      ...sum,
      source: 'cache of an older berth',
    };
    writeFileAtomic(templateMetaPath(p, name), formatTemplateMeta(adopted));
    log(`template ${name}: recorded its checksum (it had no metadata)`);
    return adopted;
  }
  checkTarball(meta, sum.sha256, sum.size, file);
  return meta;
}

export interface TemplateEntry extends TemplateMeta {
  file: string;
}

/** Every cached template, from metadata only (fast; `template info` verifies). */
export function listTemplates(p: Paths): TemplateEntry[] {
  return listDir(p.templateCache)
    .filter((n) => n.endsWith('.tar.zst'))
    .map((n) => n.slice(0, -'.tar.zst'.length))
    .map((name): TemplateEntry => {
      const file = templatePath(p, name);
      let meta: TemplateMeta | null = null;
      try {
        meta = readTemplateMeta(p, name);
      } catch {}
      const st = statSync(file);
      return (
        (meta && { ...meta, file }) ?? {
          name,
          distro: 'unknown',
          release: 'unknown',
          arch: 'unknown',
          created: st.mtime.toISOString(),
          sha256: '',
          size: st.size,
          source: 'no metadata',
          file,
        }
      );
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Compression by magic bytes: the decompressor to run, or null for zstd/plain tar. */
export function sniffCompression(file: string): { tool: string | null; zstd: boolean } {
  const buf = Buffer.alloc(262);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new BerthError('BAD_VALUE', `template import: cannot read ${file}: ${errText(err)}`);
  }
  try {
    readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  if (buf[0] === 0x28 && buf[1] === 0xb5 && buf[2] === 0x2f && buf[3] === 0xfd) return { tool: null, zstd: true };
  if (buf[0] === 0x1f && buf[1] === 0x8b) return { tool: 'gzip', zstd: false };
  if (buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { tool: 'xz', zstd: false };
  if (buf.subarray(0, 3).toString() === 'BZh') return { tool: 'bzip2', zstd: false };
  if (buf.subarray(257, 262).toString() === 'ustar') return { tool: 'cat', zstd: false };
  throw new BerthError('BAD_VALUE', `template import: ${file} is not a tar archive (plain, gzip, xz, bzip2 or zstd)`);
}

/** `tool -dc < file | zstd -o out`, without a shell; SIGKILL of berth kills both. */
export async function recompress(host: Host, file: string, tool: string, out: string): Promise<void> {
  await host
    .pipe([tool, ...(tool === 'cat' ? [file] : ['-dc', file])], ['zstd', '-q', '-T0', '-f', '-o', out])
    .catch((err: Error) => {
      throw new BerthError('BAD_VALUE', `template import: cannot decompress ${file}: ${err.message}`);
    });
}

/**
 * Rewrites a zstd root filesystem tarball so that it carries no machine-id, given the members
 * of it named like one (as its listing spells them): they go, and an empty /etc/machine-id (not
 * first boot for systemd, which then takes the id berth writes) and, if it had one, D-Bus's as a
 * symlink to it (what Debian installs; systemd never copies from a symlink) come in. Returns
 * whether anything changed: a tarball whose files carry no id is left as it is.
 */
export async function scrubMachineId(host: Host, tarball: string, members: readonly string[]): Promise<boolean> {
  if (members.length === 0) return false;
  const lines: string[] = [];
  await host.run('tar', ['--zstd', '-tvf', tarball, '--numeric-owner', '--', ...members], (l) => lines.push(l));
  if (!lines.some(carriesMachineId)) return false;
  const plain = `${tarball}.plain`;
  const stage = mkdtempSync(join(dirname(tarball), '.machine-id-'));
  try {
    // tar edits only an uncompressed archive
    await host.run('zstd', ['-q', '-d', '-f', '-o', plain, tarball]);
    await host.run('tar', ['--delete', '-f', plain, '--', ...members]);
    mkdirSync(join(stage, 'etc'));
    writeFileSync(join(stage, ETC_MACHINE_ID), '', { mode: 0o444 });
    const add = [`./${ETC_MACHINE_ID}`];
    if (members.some((m) => machineIdMember(m) === DBUS_MACHINE_ID)) {
      mkdirSync(join(stage, dirname(DBUS_MACHINE_ID)), { recursive: true });
      symlinkSync(`/${ETC_MACHINE_ID}`, join(stage, DBUS_MACHINE_ID));
      add.push(`./${DBUS_MACHINE_ID}`);
    }
    await host.run('tar', [
      '-rf',
      plain,
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '--no-recursion',
      '-C',
      stage,
      ...add,
    ]);
    await host.run('zstd', ['-q', '-T0', '-f', '-o', tarball, plain]);
    return true;
  } finally {
    rmSync(plain, { force: true });
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Removes a template's tarball and metadata (its layers are the caller's business). */
export function removeTemplateFiles(p: Paths, name: string): void {
  rmSync(templatePath(p, name), { force: true });
  rmSync(templateMetaPath(p, name), { force: true });
}

/** Layers some container's config (LAYER) or snapshot names. */
export function layersInUse(p: Paths): Set<string> {
  const used = new Set<string>(snapshotLayers(p));
  for (const id of listCtIds(p)) {
    try {
      const layer = readCt(p, id)?.config.layer;
      if (layer) used.add(layer);
    } catch {
      // an unreadable config might name any layer: keep them all
      return new Set(listDir(p.layersDir));
    }
  }
  return used;
}

/**
 * Removes the layers of template `name` that no container uses and that are not the current
 * template's (that one makes the next create instant). Returns the removed names.
 */
export function gcLayers(p: Paths, name: string): string[] {
  const dirs = listDir(p.layersDir);
  let current: string | null = null;
  try {
    const meta = readTemplateMeta(p, name);
    current = meta && existsSync(templatePath(p, name)) ? layerName(meta) : null;
  } catch {}
  const used = layersInUse(p);
  const gone: string[] = [];
  for (const d of dirs) {
    const base = d.endsWith('.partial') ? d.slice(0, -'.partial'.length) : d;
    if (templateOfLayer(base) !== name || d === current || used.has(d)) continue;
    // renamed first, so a crash mid-removal never leaves a half layer under a usable name
    const doomed = join(p.layersDir, `.${d}.removing`);
    renameSync(join(p.layersDir, d), doomed);
    rmSync(doomed, { recursive: true, force: true });
    gone.push(d);
  }
  for (const d of dirs.filter(
    (x) => templateOfLayer(x.slice(1, -'.removing'.length)) === name && x.endsWith('.removing'),
  )) {
    rmSync(join(p.layersDir, d), { recursive: true, force: true });
  }
  return gone;
}
