// berth backup / restore: one archive with the config, the container's own files and their
// checksums. A backup of a running container archives a copy made as a snapshot is; a restore
// verifies the whole archive before it writes anything, takes from it only what berth would
// have written (core/backup.ts), and never replaces a container without --force.
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import {
  BACKUP_FORMAT,
  type BackupManifest,
  backupName,
  CONF,
  checkMembers,
  checkSum,
  FS,
  fsListingCheck,
  MANIFEST,
  MEMBERS,
  parseManifest,
  restoredConfig,
  SMALL_MEMBER_MAX,
} from '../core/backup.ts';
import { formatConfig, parseConfig, setKeys } from '../core/config.ts';
import { expandVeid } from '../core/ct-config.ts';
import { type CtId, parseCtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { imageFile } from '../core/layout.ts';
import { RESET_MACHINE_ID } from '../core/machine-id.ts';
import { formatPortFwd, type PortFwd } from '../core/nat.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import { layerName, templateOfLayer } from '../core/template-meta.ts';
import type { Ctx } from '../engine/context.ts';
import { copiesWhileRunning, copyAsFrozen, withFrozen } from '../engine/freeze.ts';
import { writeConfigWithIds } from '../engine/idmap.ts';
import { mustExist } from '../engine/inspect.ts';
import { checkPortsFree, ipsHeldByOthers, lockAddresses } from '../engine/net.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { withTemplateLock } from '../engine/template-lock.ts';
import { extractMember, listMember, members, memberText, packMembers, packTree, sealImage } from '../host/archive.ts';
import { archiveTmp, makeBackupWork, removeBackupWork } from '../host/backup-work.ts';
import {
  fileSize,
  makeDir,
  pathExists,
  readBytes,
  removeFile,
  removeTree,
  renamePath,
  writeFile,
} from '../host/files.ts';
import { ensureLayer, ownFilesTarget, rootSource } from '../host/layers.ts';
import { ctConfigPath, layerPath, templatePath } from '../host/paths.ts';
import { meter } from '../host/progress.ts';
import { readCt, readGlobal } from '../host/store.ts';
import { readTemplateMeta, verifiedTemplate } from '../host/template-cache.ts';
import { destroyContainer } from './destroy.ts';

/** the copy of a running container's files in the work directory, which the archive is made of */
const STAGE = 'stage';

export interface BackupResult {
  file: string;
  manifest: BackupManifest;
  frozenMs: number;
}

/**
 * Writes FILE.tmp-PID and renames it: a backup file is whole or absent. The members are built
 * in a work directory under berth's lib directory that names the tmp file, so the next command
 * on the container removes both after a kill (host/archive.ts).
 */
export async function backupContainer(ctx: Ctx, id: CtId, out: string | undefined): Promise<BackupResult> {
  return withLock(ctx, id, 'backup', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const cfg = ct.config;
    const src = rootSource(ctx.paths, cfg, 'backup');
    const file = resolve(out ?? join(ctx.paths.lib, 'backup', backupName(id, new Date())));
    if (pathExists(file)) {
      throw new BerthError('BAD_VALUE', `backup ${id}: ${file} exists`, { hint: 'give another -o FILE, or remove it' });
    }
    makeDir(dirname(file), 0o700);
    const work = makeBackupWork(ctx.paths, id);
    let tmp: string | null = null;
    try {
      // a running container's files are copied beside the archive first, frozen only for the
      // pass that catches up with what changed meanwhile; tar then reads the still copy
      const own = ownFilesDir(src.layout, src.vePrivate);
      const staged = copiesWhileRunning(cfg, now.status);
      let frozenMs = 0;
      let fsSum: string;
      const pack = (dir: string) =>
        watchGrowth(ctx, `Archiving ${id}`, join(work, FS), packTree(ctx.host, dir, join(work, FS)));
      if (staged) {
        frozenMs = await copyAsFrozen(ctx, cfg, now.status, own, join(work, STAGE));
        fsSum = await pack(join(work, STAGE));
      } else {
        fsSum = await withFrozen(ctx, cfg, now.status, async () => {
          const t0 = Date.now();
          const sum = await pack(own);
          frozenMs = now.status === 'running' ? Date.now() - t0 : 0;
          return sum;
        });
      }
      const conf = readBytes(ctConfigPath(ctx.paths, id));
      writeFile(join(work, CONF), conf);
      const tplName = cfg.layer ? templateOfLayer(cfg.layer) : null;
      const tplMeta = tplName ? readTemplateMeta(ctx.paths, tplName) : null;
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        ctid: id,
        created: new Date().toISOString(),
        layout: cfg.layout,
        layer: cfg.layout === 'overlay' ? cfg.layer : null,
        // the template version the layer was unpacked from, when the cache still has it
        template:
          cfg.layout === 'overlay' && tplName
            ? { name: tplName, sha256: tplMeta && cfg.layer === layerName(tplMeta) ? tplMeta.sha256 : '' }
            : null,
        running: now.status === 'running',
        sha256: { [CONF]: createHash('sha256').update(conf).digest('hex'), [FS]: fsSum },
        size: fileSize(join(work, FS)),
      };
      writeFile(join(work, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      tmp = archiveTmp(work, file);
      await packMembers(ctx.host, tmp, work, MEMBERS);
      renamePath(tmp, file);
      tmp = null;
      return { file, manifest, frozenMs };
    } finally {
      if (tmp) removeFile(tmp);
      removeBackupWork(work);
    }
  });
}

/** While WORK runs, the size FILE has reached, on the status line (a tarball being written). */
async function watchGrowth<T>(ctx: Ctx, label: string, file: string, work: Promise<T>): Promise<T> {
  const m = meter(ctx.progress, label, null);
  const timer = ctx.progress ? setInterval(() => m.set(sizeOf(file)), 250) : null;
  try {
    return await work;
  } finally {
    if (timer) clearInterval(timer);
    m.end();
  }
}

function sizeOf(file: string): number {
  try {
    return fileSize(file);
  } catch {
    return 0;
  }
}

const damaged = (file: string, why: string) =>
  new BerthError('BAD_BACKUP', `restore ${file}: ${why}`, {
    hint: 'the archive is damaged or not a berth backup; nothing was written',
  });

/**
 * Reads the whole archive: every checksum, and every entry of its files listed and checked
 * against what berth writes (core/backup.ts). Returns its manifest and config text.
 */
export async function verifyBackup(ctx: Ctx, file: string): Promise<{ manifest: BackupManifest; conf: string }> {
  if (!pathExists(file)) throw new BerthError('BAD_VALUE', `restore: ${file} does not exist`);
  const names = members(file);
  if (!names) throw damaged(file, 'not a whole tar archive (truncated?)');
  checkMembers(names, file);
  const read = (m: string) => {
    const t = memberText(file, m, SMALL_MEMBER_MAX + 1);
    if (t === null) throw damaged(file, `${m} cannot be read or is too large`);
    return t;
  };
  const manifest = parseManifest(read(MANIFEST), file);
  const conf = read(CONF);
  checkSum(CONF, createHash('sha256').update(conf).digest('hex'), manifest.sha256[CONF], file);
  const check = fsListingCheck(manifest.layout, file);
  const fs = await listMember(ctx.host, file, FS, (l) => check.line(l)).catch((err: Error) => {
    throw err instanceof BerthError ? err : damaged(file, `${FS} is damaged: ${err.message}`);
  });
  checkSum(FS, fs.sha256, manifest.sha256[FS], file);
  if (fs.bytes !== manifest.size)
    throw damaged(file, `${FS} has ${fs.bytes} bytes, the manifest says ${manifest.size}`);
  return { manifest, conf };
}

export interface RestoreOptions {
  force?: boolean | undefined;
  /** --privileged yes: no user namespace. Never taken from the archive. */
  privileged?: boolean | undefined;
  /** keep this ID_BASE (a migration's checkpoint names it), refused if it is not free here */
  idBase?: number | undefined;
}

/**
 * Restores FILE as NEWCTID (default: the CTID it was made from). Verification, the config, the
 * CTID and the overlay layer are all checked before anything is written; the files land
 * through a `.partial` directory, like create, so a killed restore rolls back. The container is
 * unprivileged, with a fresh id range, unless `privileged`.
 */
export async function restoreBackup(
  ctx: Ctx,
  file: string,
  newId: string | undefined,
  o: RestoreOptions,
): Promise<{ id: CtId; manifest: BackupManifest }> {
  const path = resolve(file);
  const { manifest, conf } = await verifyBackup(ctx, path);
  const id = parseCtId(newId ?? manifest.ctid);
  const g = readGlobal(ctx.paths);
  const plan = restoredConfig(conf, manifest, id, g, path);
  const existing = readCt(ctx.paths, id);
  if ((existing || pathExists(expandVeid(g.vePrivate, id))) && !o.force) {
    throw new BerthError('PRIVATE_EXISTS', `restore: container ${id} exists`, {
      hint: `restore under another CTID (berth restore ${file} NEWCTID), or replace it with --force`,
    });
  }
  let layer: string | null = null;
  if (manifest.layout === 'overlay') layer = await layerFor(ctx, manifest);
  if (existing && o.force) await destroyContainer(ctx, id, 'restore');
  warnRestore(ctx, id, plan.dropped, plan.wasPrivileged, o.privileged === true);
  const write = () =>
    withLock(ctx, id, 'restore', async () => {
      if (pathExists(ctConfigPath(ctx.paths, id)))
        throw new BerthError('PRIVATE_EXISTS', `restore: container ${id} exists`);
      const priv = plan.config.vePrivate;
      const partial = `${priv}.partial`;
      removeTree(partial);
      makeDir(partial, 0o755);
      try {
        await unpack(ctx, id, path, manifest, partial);
      } catch (err) {
        removeTree(partial);
        throw err;
      }
      // a restore as another CTID makes a second machine: its first start writes a fresh
      // machine-id; as the same CTID it is the same machine back, and keeps its id
      const keys: Record<string, string> = id === parseCtId(manifest.ctid) ? {} : { [RESET_MACHINE_ID]: 'yes' };
      // addresses and host ports another container holds now are not taken over: checked and
      // written under the lock that set takes for them, so no set takes one meanwhile
      const addresses = lockAddresses(ctx, `restore ${id}`);
      try {
        writeRestoredConfig(keys);
      } finally {
        addresses.release();
      }
      renamePath(partial, priv);
    });
  const writeRestoredConfig = (keys: Record<string, string>) => {
    const ips = ipsHeldByOthers(ctx, id, plan.config.ipAddr);
    const fwds = plan.config.portFwd.filter((f) => portHeld(ctx, id, f));
    if (ips.length) {
      keys['IP_ADDRESS'] = plan.config.ipAddr
        .filter((ip) => !ips.includes(ip))
        .map((i) => i.addr)
        .join(' ');
      ctx.log(`warning: not restoring addresses other containers hold: ${ips.map((i) => i.addr).join(', ')}`);
    }
    if (fwds.length) {
      keys['PORTFWD'] = plan.config.portFwd
        .filter((f) => !fwds.includes(f))
        .map(formatPortFwd)
        .join(' ');
      ctx.log(`warning: not restoring port forwards other containers hold: ${fwds.map(formatPortFwd).join(', ')}`);
    }
    const text = formatConfig(setKeys(parseConfig(plan.text, CONF), keys));
    // an unprivileged container gets a free id range here (the one it had may be another's)
    writeConfigWithIds(ctx, id, text, o.privileged !== true, o.idBase ?? null);
  };
  // an overlay restore holds its template's lock until its config names the layer
  const tpl = layer ? templateOfLayer(layer) : null;
  await (tpl ? withTemplateLock(ctx, tpl, `restore ${id}`, write) : write());
  return { id, manifest };
}

/** The files into the new private area `partial` (made just now, empty), checked again on the way. */
async function unpack(ctx: Ctx, id: CtId, file: string, m: BackupManifest, partial: string): Promise<void> {
  const into = ownFilesTarget(m.layout, partial);
  ctx.log(`Restoring container ${id} (layout ${m.layout}, ${Math.round(m.size / 1048576)} MB)...`);
  const shown = meter(ctx.progress, `Restoring ${id}`, m.size);
  const got = await extractMember(ctx.host, file, FS, into, (n) => shown.add(n))
    .catch((err: Error) => {
      throw new BerthError('BAD_BACKUP', `restore ${id}: unpacking failed: ${err.message}`);
    })
    .finally(() => shown.end());
  if (got.sha256 !== m.sha256[FS]) {
    throw new BerthError('BAD_BACKUP', `restore ${id}: the archive changed while it was read`);
  }
  if (m.layout !== 'image') return;
  const unsound = sealImage(ctx.host, imageFile(partial));
  if (unsound) {
    throw new BerthError('BAD_BACKUP', `restore ${id}: root.img is not a sound ext4 (${unsound})`, {
      hint: 'the archive is damaged or altered; nothing was kept',
    });
  }
}

/** Whether another container forwards this host port already. */
function portHeld(ctx: Ctx, id: CtId, f: PortFwd): boolean {
  try {
    checkPortsFree(ctx, id, [f]);
    return false;
  } catch (err) {
    if (err instanceof BerthError && err.code === 'PORT_IN_USE') return true;
    throw err;
  }
}

function warnRestore(ctx: Ctx, id: CtId, dropped: string[], wasPrivileged: boolean, privileged: boolean): void {
  if (dropped.length) {
    const more = dropped.length > 10 ? `, and ${dropped.length - 10} more` : '';
    ctx.log(
      `warning: restore ${id}: not taken from the archive's config: ${dropped.slice(0, 10).join(', ')}${more} (berth set can add them; VE_ROOT and VE_PRIVATE come from berth.conf)`,
    );
  }
  if (privileged) ctx.log(`warning: ${id} is restored privileged: root inside is root on the host (docs/security.md)`);
  else if (wasPrivileged)
    ctx.log(
      `${id}: the backup is of a privileged container; restored unprivileged (restore --privileged yes keeps it so)`,
    );
}

/**
 * The layer an overlay backup sits on: here already, or unpacked from the same template
 * version. Anything else is refused before a byte is written. (The manifest's layer and
 * template names were checked against berth's grammar: no path can come from there.)
 */
async function layerFor(ctx: Ctx, m: BackupManifest): Promise<string> {
  if (m.layer && pathExists(layerPath(ctx.paths, m.layer))) return m.layer;
  const tpl = m.template?.name ?? '';
  const meta = tpl && pathExists(templatePath(ctx.paths, tpl)) ? readTemplateMeta(ctx.paths, tpl) : null;
  if (!meta || !m.template?.sha256 || meta.sha256 !== m.template.sha256) {
    throw new BerthError(
      'BAD_TEMPLATE',
      `restore: the backup sits on layer ${m.layer}, which this host does not have`,
      {
        hint: `import the same template version (${tpl}, sha256 ${m.template?.sha256.slice(0, 12) || 'unknown'}...) first`,
      },
    );
  }
  return withTemplateLock(ctx, tpl, 'restore', async () =>
    ensureLayer(ctx.host, ctx.paths, await verifiedTemplate(ctx.paths, tpl, ctx.log), ctx.log, ctx.progress),
  );
}
