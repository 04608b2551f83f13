// berth backup / restore: one archive with the config, the container's own files and their
// checksums. A backup of a running container reads its files while it is frozen; a restore
// verifies the whole archive before it writes anything, and never replaces a container
// without --force.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  BACKUP_FORMAT,
  type BackupManifest,
  backupName,
  CONF,
  checkMembers,
  checkSum,
  FS,
  MANIFEST,
  MEMBERS,
  parseManifest,
} from '../core/backup.ts';
import { formatConfig, parseConfig, setKeys, toRecord } from '../core/config.ts';
import { ctConfigFrom, expandVeid } from '../core/ct-config.ts';
import { type CtId, parseCtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import { layerName, templateOfLayer } from '../core/template-meta.ts';
import { extractZstdTo, LIST_ZSTD, members, memberText, packMembers, packTree, streamMember } from '../host/archive.ts';
import { ensureLayer, ownFilesTarget, rootSource } from '../host/layers.ts';
import { ctConfigPath, layerPath, templatePath } from '../host/paths.ts';
import { readCt, readGlobal } from '../host/store.ts';
import { readTemplateMeta, verifiedTemplate } from '../host/template-cache.ts';
import type { Ctx } from './context.ts';
import { destroyContainer } from './destroy.ts';
import { withFrozen } from './freeze.ts';
import { writeConfigWithIds } from './idmap.ts';
import { ipsHeldByOthers } from './net.ts';
import { mustExist, reconcile, withLock } from './runtime.ts';
import { withTemplateLock } from './template.ts';

export interface BackupResult {
  file: string;
  manifest: BackupManifest;
  frozenMs: number;
}

/** Writes FILE.tmp-PID and renames it: a backup file is whole or absent. */
export function backupContainer(ctx: Ctx, id: CtId, out: string | undefined): Promise<BackupResult> {
  return withLock(ctx, id, 'backup', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const cfg = ct.config;
    const src = rootSource(ctx.paths, cfg, 'backup');
    const file = resolve(out ?? join(ctx.paths.lib, 'backup', backupName(id, new Date())));
    if (existsSync(file)) {
      throw new BerthError('BAD_VALUE', `backup ${id}: ${file} exists`, { hint: 'give another -o FILE, or remove it' });
    }
    mkdirSync(dirname(file), { recursive: true });
    const work = mkdtempSync(join(dirname(file), `.berth-backup-${id}-`));
    try {
      let frozenMs = 0;
      const fsSum = await withFrozen(ctx, cfg, now.status, async () => {
        const t0 = Date.now();
        const sum = await packTree(ownFilesDir(src.layout, src.vePrivate), join(work, FS));
        frozenMs = now.status === 'running' ? Date.now() - t0 : 0;
        return sum;
      });
      const conf = readFileSync(ctConfigPath(ctx.paths, id));
      writeFileSync(join(work, CONF), conf);
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
        size: statSync(join(work, FS)).size,
      };
      writeFileSync(join(work, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      const tmp = `${file}.tmp-${process.pid}`;
      // the archive holds the container's files (its /etc/shadow too): root's only, also while written
      writeFileSync(tmp, '', { mode: 0o600 });
      await packMembers(tmp, work, MEMBERS);
      renameSync(tmp, file);
      return { file, manifest, frozenMs };
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(`${file}.tmp-${process.pid}`, { force: true });
    }
  });
}

/** Reads the whole archive and checks every checksum; returns its manifest and config. */
export async function verifyBackup(file: string): Promise<{ manifest: BackupManifest; conf: string }> {
  if (!existsSync(file)) throw new BerthError('BAD_VALUE', `restore: ${file} does not exist`);
  const names = members(file);
  if (!names) {
    throw new BerthError('BAD_BACKUP', `backup ${file}: not a whole tar archive (truncated?)`, {
      hint: 'the archive is damaged or not a berth backup; nothing was written',
    });
  }
  checkMembers(names, file);
  const manifest = parseManifest(memberText(file, MANIFEST) ?? '', file);
  const conf = memberText(file, CONF) ?? '';
  checkSum(CONF, createHash('sha256').update(conf).digest('hex'), manifest.sha256[CONF], file);
  const sum = await streamMember(file, FS, LIST_ZSTD).catch((err: Error) => {
    throw new BerthError('BAD_BACKUP', `backup ${file}: ${FS} is damaged: ${err.message}`, {
      hint: 'the archive is damaged; nothing was written',
    });
  });
  checkSum(FS, sum, manifest.sha256[FS], file);
  return { manifest, conf };
}

export interface RestoreOptions {
  force?: boolean | undefined;
}

/**
 * Restores FILE as NEWCTID (default: the CTID it was made from). Verification, the CTID and
 * the overlay layer are all checked before anything is written; the files land through a
 * `.partial` directory, like create, so a killed restore rolls back.
 */
export async function restoreBackup(
  ctx: Ctx,
  file: string,
  newId: string | undefined,
  o: RestoreOptions,
): Promise<{ id: CtId; manifest: BackupManifest }> {
  const { manifest, conf } = await verifyBackup(resolve(file));
  const id = parseCtId(newId ?? manifest.ctid);
  const g = readGlobal(ctx.paths);
  const rec = toRecord(parseConfig(conf, `${file}: ${CONF}`));
  // the restored config names itself, wherever it was made
  const restored = ctConfigFrom(id, rec, g);
  const existing = readCt(ctx.paths, id);
  if ((existing || existsSync(expandVeid(g.vePrivate, id))) && !o.force) {
    throw new BerthError('PRIVATE_EXISTS', `restore: container ${id} exists`, {
      hint: `restore under another CTID (berth restore ${file} NEWCTID), or replace it with --force`,
    });
  }
  let layer: string | null = null;
  if (manifest.layout === 'overlay') layer = await layerFor(ctx, manifest);
  if (existing && o.force) await destroyContainer(ctx, id);
  // addresses another container holds now are not taken over
  const others = ipsHeldByOthers(ctx, id, restored.ipAddr);
  const write = () =>
    withLock(ctx, id, 'restore', async () => {
      if (existsSync(ctConfigPath(ctx.paths, id)))
        throw new BerthError('PRIVATE_EXISTS', `restore: container ${id} exists`);
      const priv = restored.vePrivate;
      const partial = `${priv}.partial`;
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true, mode: 0o755 });
      const into = ownFilesTarget(manifest.layout, partial);
      ctx.log(`Restoring container ${id} (layout ${manifest.layout}, ${Math.round(manifest.size / 1048576)} MB)...`);
      const sum = await streamMember(resolve(file), FS, extractZstdTo(into)).catch((err: Error) => {
        rmSync(partial, { recursive: true, force: true });
        throw new BerthError('BAD_BACKUP', `restore ${id}: unpacking failed: ${err.message}`);
      });
      if (sum !== manifest.sha256[FS]) {
        rmSync(partial, { recursive: true, force: true });
        throw new BerthError('BAD_BACKUP', `restore ${id}: the archive changed while it was read`);
      }
      const keys: Record<string, string> = {};
      if (layer) keys['LAYER'] = layer;
      if (others.length) {
        keys['IP_ADDRESS'] = restored.ipAddr
          .filter((ip) => !others.includes(ip))
          .map((i) => i.addr)
          .join(' ');
        ctx.log(`warning: not restoring addresses other containers hold: ${others.map((i) => i.addr).join(', ')}`);
      }
      const text = Object.keys(keys).length ? formatConfig(setKeys(parseConfig(conf, CONF), keys)) : conf;
      // an unprivileged container gets a free id range here (the one it had may be another's)
      writeConfigWithIds(ctx, id, text, restored.idBase !== null);
      renameSync(partial, priv);
    });
  // an overlay restore holds its template's lock until its config names the layer
  const tpl = layer ? templateOfLayer(layer) : null;
  await (tpl ? withTemplateLock(ctx, tpl, `restore ${id}`, write) : write());
  return { id, manifest };
}

/**
 * The layer an overlay backup sits on: here already, or unpacked from the same template
 * version. Anything else is refused before a byte is written.
 */
async function layerFor(ctx: Ctx, m: BackupManifest): Promise<string> {
  if (m.layer && existsSync(layerPath(ctx.paths, m.layer))) return m.layer;
  const tpl = m.template?.name ?? '';
  const meta = tpl && existsSync(templatePath(ctx.paths, tpl)) ? readTemplateMeta(ctx.paths, tpl) : null;
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
    ensureLayer(ctx.paths, await verifiedTemplate(ctx.paths, tpl, ctx.log), ctx.log),
  );
}
