// Handing out and taking back the id ranges of unprivileged containers (core/idmap.ts).
import { join } from 'node:path';
import { parseConfig, toRecord } from '../core/config.ts';
import type { CtId } from '../core/ctid.ts';
import { allocateIdBase, parseIdBase, parseSubIds } from '../core/idmap.ts';
import { readIfExists } from '../host/fs-util.ts';
import { acquireLock } from '../host/lock.ts';
import { ctConfigPath } from '../host/paths.ts';
import { listCtIds } from '../host/store.ts';
import type { Ctx } from './context.ts';

/** The ID_BASE of every container but EXCEPT (a config that cannot be read holds none). */
function takenBases(ctx: Ctx, except: CtId): number[] {
  const out: number[] = [];
  for (const id of listCtIds(ctx.paths)) {
    if (id === except) continue;
    const path = ctConfigPath(ctx.paths, id);
    try {
      const base = parseIdBase(toRecord(parseConfig(readIfExists(path) ?? '', path))['ID_BASE'], path);
      if (base !== null) out.push(base);
    } catch {
      // a broken config is reported by the commands that use it
    }
  }
  return out;
}

/**
 * Runs FN with a free id range for container ID, under berth's id lock, so two creates at once
 * never take the same range: FN must write the config that records it before it returns.
 */
export async function withNewIdBase<T>(ctx: Ctx, id: CtId, fn: (base: number) => T | Promise<T>): Promise<T> {
  // held for milliseconds: a second create waits for it instead of failing
  const lock = acquireLock(ctx.paths.helper, join(ctx.paths.lockDir, 'idmap.lck'), `allocate ids for ${id}`, 10_000);
  try {
    const reserved = ['/etc/subuid', '/etc/subgid'].flatMap((f) => parseSubIds(readIfExists(f) ?? ''));
    return await fn(allocateIdBase(takenBases(ctx, id), reserved));
  } finally {
    lock.release();
  }
}
