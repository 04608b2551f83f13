// Handing out and taking back the id ranges of unprivileged containers (core/idmap.ts).
import { join } from 'node:path';
import { formatConfig, looseValue, parseConfig, setKeys } from '../core/config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { allocateIdBase, idBaseRefusal, parseIdBase, parseSubIds } from '../core/idmap.ts';
import { readIfExists, removeStaleTmps } from '../host/fs-util.ts';
import { acquireLock } from '../host/lock.ts';
import { type OciIdHolder, ociIdsDir, readOciIdHolders, removeOciIdHolder, writeOciIdHolder } from '../host/oci-ids.ts';
import { readOciRecord } from '../host/oci-state.ts';
import { ctConfigPath } from '../host/paths.ts';
import { listCtIds, writeCtText } from '../host/store.ts';
import type { Ctx } from './context.ts';

/**
 * The ID_BASE of every container but EXCEPT. A broken config still holds the range its ID_BASE
 * line names (its files are owned by those ids); only an unreadable ID_BASE holds none.
 */
function takenBases(ctx: Ctx, except: CtId | null): number[] {
  const out: number[] = ociBases(ctx);
  for (const id of listCtIds(ctx.paths)) {
    if (id === except) continue;
    const path = ctConfigPath(ctx.paths, id);
    try {
      const base = parseIdBase(looseValue(readIfExists(path) ?? '', 'ID_BASE'), path);
      if (base !== null) out.push(base);
    } catch {
      // a broken config is reported by the commands that use it
    }
  }
  return out;
}

/**
 * Writes container ID's config TEXT; for an UNPRIVILEGED one with a free id range (ID_BASE)
 * added, handed out and written under berth's id lock, so two creates at once never take the
 * same range. Returns the range's base, or null. (create, clone, restore, set --privileged no)
 */
export function writeConfigWithIds(
  ctx: Ctx,
  id: CtId,
  text: string,
  unprivileged: boolean,
  keep: number | null = null,
): number | null {
  if (!unprivileged) {
    writeCtText(ctx.paths, id, text);
    return null;
  }
  // held for milliseconds: a second create waits for it instead of failing
  const lock = acquireLock(ctx.host, ctx.paths.helper, join(ctx.paths.lockDir, 'idmap.lck'), `allocate ids for ${id}`, {
    waitMs: 10_000,
    request: ctx.request,
  });
  try {
    const reserved = ['/etc/subuid', '/etc/subgid'].flatMap((f) => parseSubIds(readIfExists(f) ?? ''));
    const base = keep ?? allocateIdBase(takenBases(ctx, id), reserved);
    if (keep !== null) refuseIdBase(ctx, id, keep, `restore ${id}`);
    const file = parseConfig(text, ctConfigPath(ctx.paths, id));
    writeCtText(ctx.paths, id, formatConfig(setKeys(file, { ID_BASE: String(base) })));
    return base;
  } finally {
    lock.release();
  }
}

/** Why ID_BASE BASE cannot be CTID's here, or null (a migration keeps it: checked at its step 0). */
export function idBaseUnfree(ctx: Ctx, id: CtId, base: number): string | null {
  const reserved = ['/etc/subuid', '/etc/subgid'].flatMap((f) => parseSubIds(readIfExists(f) ?? ''));
  return idBaseRefusal(base, takenBases(ctx, id), reserved);
}

function refuseIdBase(ctx: Ctx, id: CtId, base: number, what: string): void {
  const why = idBaseUnfree(ctx, id, base);
  if (why) {
    throw new BerthError('BAD_VALUE', `${what}: cannot keep ID_BASE ${base}: ${why}`, {
      hint: 'a checkpoint holds its user namespace map: it is restored only with the same id range',
    });
  }
}

/**
 * The ranges berth-oci's containers hold (host/oci-ids.ts). A holder whose record is gone, or
 * names another range (a create killed before it recorded its own), holds none: its file goes.
 * Called under the id lock, as the allocation that writes them is.
 */
function ociBases(ctx: Ctx): number[] {
  const out: number[] = [];
  // a holder's temporary left by a create killed while writing it (its writer is gone)
  removeStaleTmps(ctx.host, ociIdsDir(ctx.paths));
  for (const { base, holder } of readOciIdHolders(ctx.paths)) {
    // only a record that is gone, or that names another range, frees it: one that cannot be
    // read now (torn, a bad id) still holds it, since two containers on one range could reach
    // each other's processes
    let live = true;
    try {
      const r = holder && readOciRecord(holder.root, holder.id);
      live = holder !== null && r !== null && r.idBase === base;
    } catch {}
    if (live) out.push(base);
    else removeOciIdHolder(ctx.paths, base);
  }
  return out;
}

/**
 * A free id range for berth-oci's system container HOLDER, from the same pool as `berth
 * create`'s: RECORD (given the base) is written before the holder's file, under the id lock, so
 * no other allocation sees the holder without its record.
 */
export function allocateOciIdBase(ctx: Ctx, holder: OciIdHolder, record: (base: number) => void): number {
  const lock = acquireLock(
    ctx.host,
    ctx.paths.helper,
    join(ctx.paths.lockDir, 'idmap.lck'),
    `allocate ids for ${holder.id}`,
    {
      waitMs: 10_000,
    },
  );
  try {
    const reserved = ['/etc/subuid', '/etc/subgid'].flatMap((f) => parseSubIds(readIfExists(f) ?? ''));
    const base = allocateIdBase(takenBases(ctx, null), reserved);
    record(base);
    writeOciIdHolder(ctx.paths, base, holder);
    return base;
  } finally {
    lock.release();
  }
}

/** Gives back HOLDER's range (delete, a failed create): once its processes are gone. */
export function releaseOciIdBase(ctx: Ctx, base: number, holder: OciIdHolder): void {
  const mine = readOciIdHolders(ctx.paths).find((h) => h.base === base)?.holder;
  if (mine && mine.root === holder.root && mine.id === holder.id) removeOciIdHolder(ctx.paths, base);
}
