// Finishing or rolling back a snapshot-switch that a crash interrupted (called by every
// command's recovery, and by snapshot-switch itself for the swap).
import { join } from 'node:path';
import { formatConfig, parseConfig, setKeys, toRecord } from '../core/config.ts';
import type { CtId } from '../core/ctid.ts';
import { STORAGE_KEYS } from '../core/snapshot.ts';
import { pathExists, removeFile, removeTree, renamePath } from '../host/files.ts';
import { readIfExists } from '../host/fs-util.ts';
import { snapshotPath } from '../host/paths.ts';
import { readCtOrDerived, type StoredCt, writeCtText } from '../host/store.ts';
import type { Ctx } from './context.ts';

/**
 * Finishes (or, before the files were swapped, rolls back) a snapshot-switch; `swap` does the
 * swap itself. Every step can be repeated after a crash.
 */
export function recoverSwitch(
  ctx: Ctx,
  id: CtId,
  mode: 'swap' | 'recover',
  // a broken config does not stop recovery: its private area is then where berth.conf puts it
  ct: StoredCt | null = readCtOrDerived(ctx.paths, id),
): boolean {
  const priv = ct?.config.vePrivate ?? null;
  if (!ct || !priv || !pathExists(`${priv}.switch-to`)) return false;
  const name = (readIfExists(`${priv}.switch-to`) ?? '').trim();
  const [fresh, old] = [`${priv}.switch-new`, `${priv}.switch-old`];
  const swapping = pathExists(old) || !pathExists(priv);
  if (mode === 'recover' && !swapping) {
    // killed before the swap began: the container's files were never touched
    removeTree(fresh);
    removeFile(`${priv}.switch-to`);
    ctx.log(`${id}: rolled back an interrupted snapshot-switch`);
    return true;
  }
  if (pathExists(priv) && pathExists(fresh)) renamePath(priv, old);
  if (pathExists(fresh)) renamePath(fresh, priv);
  // the config follows the files: the snapshot's layout, layer and limits
  const snapConf = readIfExists(join(snapshotPath(ctx.paths, id, name), 'ct.conf'));
  if (!ct.broken && snapConf) {
    const from = toRecord(parseConfig(snapConf, name));
    const keys = Object.fromEntries(STORAGE_KEYS.flatMap((k) => (from[k] !== undefined ? [[k, from[k]]] : [])));
    writeCtText(ctx.paths, id, formatConfig(setKeys(ct.file, keys)));
  }
  removeTree(old);
  removeFile(`${priv}.switch-to`);
  if (mode === 'recover') ctx.log(`${id}: finished an interrupted snapshot-switch to ${name}`);
  return true;
}
