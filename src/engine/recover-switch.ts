// Finishing or rolling back a snapshot-switch that a crash interrupted (called by every
// command's recovery, and by snapshot-switch itself for the swap).
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfig, parseConfig, setKeys, toRecord } from '../core/config.ts';
import type { CtId } from '../core/ctid.ts';
import { STORAGE_KEYS } from '../core/snapshot.ts';
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
  if (!ct || !priv || !existsSync(`${priv}.switch-to`)) return false;
  const name = (readIfExists(`${priv}.switch-to`) ?? '').trim();
  const [fresh, old] = [`${priv}.switch-new`, `${priv}.switch-old`];
  const swapping = existsSync(old) || !existsSync(priv);
  if (mode === 'recover' && !swapping) {
    // killed before the swap began: the container's files were never touched
    rmSync(fresh, { recursive: true, force: true });
    rmSync(`${priv}.switch-to`, { force: true });
    ctx.log(`${id}: rolled back an interrupted snapshot-switch`);
    return true;
  }
  if (existsSync(priv) && existsSync(fresh)) renameSync(priv, old);
  if (existsSync(fresh)) renameSync(fresh, priv);
  // the config follows the files: the snapshot's layout, layer and limits
  const snapConf = readIfExists(join(snapshotPath(ctx.paths, id, name), 'ct.conf'));
  if (!ct.broken && snapConf) {
    const from = toRecord(parseConfig(snapConf, name));
    const keys = Object.fromEntries(STORAGE_KEYS.flatMap((k) => (from[k] !== undefined ? [[k, from[k]]] : [])));
    writeCtText(ctx.paths, id, formatConfig(setKeys(ct.file, keys)));
  }
  rmSync(old, { recursive: true, force: true });
  rmSync(`${priv}.switch-to`, { force: true });
  if (mode === 'recover') ctx.log(`${id}: finished an interrupted snapshot-switch to ${name}`);
  return true;
}
