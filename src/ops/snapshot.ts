// berth snapshot, snapshot-list, snapshot-switch, snapshot-delete, snapshot-mount,
// snapshot-umount: copies of a container's own files (and config) at one instant.
import { join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { defaultSnapshotName, ownFilesDir, snapshotMountArgs, validateSnapshotName } from '../core/snapshot.ts';
import type { Ctx } from '../engine/context.ts';
import { copyAsFrozen } from '../engine/freeze.ts';
import { mustExist } from '../engine/inspect.ts';
import { recoverSwitch } from '../engine/recover-switch.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { makeDir, pathExists, readBytes, removeFile, removeTree, renamePath, writeFile } from '../host/files.ts';
import { readIfExists, writeFileAtomic } from '../host/fs-util.ts';
import { ownFilesTarget, rootSource } from '../host/layers.ts';
import { isMounted, readMountinfo } from '../host/mountinfo.ts';
import { mountRoot, unmountRoot } from '../host/mounts.ts';
import { ctConfigPath, layerPath, snapshotPath } from '../host/paths.ts';
import {
  listSnapshots,
  readSnapshot,
  removeSnapshot,
  type SnapshotMeta,
  snapshotMountRecord,
} from '../host/snapshots.ts';
import { copyTree } from '../host/tree-copy.ts';

function noSuch(id: CtId, name: string): BerthError {
  return new BerthError('BAD_VALUE', `container ${id} has no snapshot ${JSON.stringify(name)}`, {
    hint: `see: berth snapshot-list ${id}`,
  });
}

export async function snapshotCreate(ctx: Ctx, id: CtId, name: string | undefined): Promise<SnapshotMeta> {
  const snap = validateSnapshotName(name ?? defaultSnapshotName(new Date()));
  return withLock(ctx, id, 'snapshot', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    if (readSnapshot(ctx.paths, id, snap)) {
      throw new BerthError('BAD_VALUE', `snapshot ${id}: a snapshot named ${snap} exists`, {
        hint: `pick another --name, or delete it: berth snapshot-delete ${id} --name ${snap}`,
      });
    }
    const cfg = ct.config;
    const src = rootSource(ctx.paths, cfg, 'snapshot');
    const dir = snapshotPath(ctx.paths, id, snap);
    const partial = `${dir}.partial`;
    makeDir(partial, 0o700);
    const frozenMs = await copyAsFrozen(
      ctx,
      cfg,
      now.status,
      ownFilesDir(src.layout, src.vePrivate),
      join(partial, 'fs'),
    );
    writeFile(join(partial, 'ct.conf'), readBytes(ctConfigPath(ctx.paths, id)));
    const meta: SnapshotMeta = {
      name: snap,
      created: new Date().toISOString(),
      layout: cfg.layout,
      layer: cfg.layout === 'overlay' ? cfg.layer : null,
      running: now.status === 'running',
      frozenMs,
    };
    writeFileAtomic(join(partial, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    renamePath(partial, dir);
    return meta;
  });
}

export function snapshotList(ctx: Ctx, id: CtId): SnapshotMeta[] {
  if (!pathExists(ctConfigPath(ctx.paths, id))) mustExist(id, null);
  return listSnapshots(ctx.paths, id);
}

export async function snapshotDelete(ctx: Ctx, id: CtId, name: string): Promise<void> {
  validateSnapshotName(name);
  return withLock(ctx, id, 'snapshot-delete', async (stored) => {
    mustExist(id, stored);
    if (!readSnapshot(ctx.paths, id, name)) throw noSuch(id, name);
    if (pathExists(snapshotMountRecord(ctx.paths, id, name))) {
      throw new BerthError('MOUNTED', `snapshot-delete ${id}: snapshot ${name} is mounted`, {
        hint: `berth snapshot-umount ${id} --name ${name}`,
      });
    }
    removeSnapshot(ctx.paths, id, name);
  });
}

/**
 * Puts the snapshot's files in place of the container's (stopped). Crash-safe through sibling
 * markers of the private area: `.switch-to` (which snapshot), `.switch-new` (the copy being
 * made), `.switch-old` (the files being replaced); recoverSwitch finishes or rolls back.
 */
export async function snapshotSwitch(ctx: Ctx, id: CtId, name: string): Promise<void> {
  validateSnapshotName(name);
  return withLock(ctx, id, 'snapshot-switch', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    if (now.status !== 'stopped') {
      throw new BerthError('RUNNING', `snapshot-switch ${id}: container is ${now.status}`, {
        hint: `berth stop ${id}`,
      });
    }
    if (isMounted(ct.config.veRoot, readMountinfo(ctx.host))) {
      throw new BerthError('MOUNTED', `snapshot-switch ${id}: its files are mounted at ${ct.config.veRoot}`, {
        hint: `berth umount ${id}`,
      });
    }
    const meta = readSnapshot(ctx.paths, id, name);
    if (!meta) throw noSuch(id, name);
    if (meta.layer && !pathExists(layerPath(ctx.paths, meta.layer))) {
      throw new BerthError('NO_PRIVATE', `snapshot-switch ${id}: layer ${meta.layer} of snapshot ${name} is missing`);
    }
    const priv = ct.config.vePrivate;
    writeFileAtomic(`${priv}.switch-to`, `${name}\n`);
    const fresh = `${priv}.switch-new`;
    removeTree(fresh);
    const fs = join(snapshotPath(ctx.paths, id, name), 'fs');
    await copyTree(ctx.host, fs, ownFilesTarget(meta.layout, fresh));
    recoverSwitch(ctx, id, 'swap');
  });
}

export async function snapshotMount(ctx: Ctx, id: CtId, name: string, target: string): Promise<void> {
  validateSnapshotName(name);
  return withLock(ctx, id, 'snapshot-mount', async (stored) => {
    const ct = mustExist(id, stored);
    const meta = readSnapshot(ctx.paths, id, name);
    if (!meta) throw noSuch(id, name);
    if (pathExists(snapshotMountRecord(ctx.paths, id, name))) {
      throw new BerthError('MOUNTED', `snapshot-mount ${id}: snapshot ${name} is already mounted`);
    }
    if (!pathExists(target)) {
      throw new BerthError('BAD_VALUE', `snapshot-mount ${id}: target ${target} does not exist`, {
        hint: `mkdir -p ${target}`,
      });
    }
    const src = {
      layout: meta.layout,
      vePrivate: ct.config.vePrivate,
      veRoot: target,
      layerDir: meta.layer ? layerPath(ctx.paths, meta.layer) : null,
    };
    mountRoot(
      ctx.host,
      ctx.paths.helper,
      snapshotMountArgs(src, join(snapshotPath(ctx.paths, id, name), 'fs'), target),
    );
    writeFileAtomic(snapshotMountRecord(ctx.paths, id, name), `${target}\n`, 0o644, false);
  });
}

export async function snapshotUmount(ctx: Ctx, id: CtId, name: string): Promise<void> {
  validateSnapshotName(name);
  return withLock(ctx, id, 'snapshot-umount', async (stored) => {
    mustExist(id, stored);
    const target = readIfExists(snapshotMountRecord(ctx.paths, id, name))?.trim();
    if (!target) throw new BerthError('NOT_MOUNTED', `snapshot-umount ${id}: snapshot ${name} is not mounted`);
    unmountRoot(ctx.host, ctx.paths.helper, target);
    removeFile(snapshotMountRecord(ctx.paths, id, name));
  });
}
