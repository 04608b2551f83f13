// The lock of one template, apart from the template verbs (and their tools): create takes it.
import { join } from 'node:path';
import { acquireLock } from '../host/lock.ts';
import { ownDirs, secureDirs } from '../host/paths.ts';
import type { Ctx } from './context.ts';

/**
 * Runs fn holding template NAME's lock: builds, imports, removals and the creates that use its
 * layer take turns, so no create ever sees a half-made template or a layer being removed.
 */
export async function withTemplateLock<T>(ctx: Ctx, name: string, what: string, fn: () => Promise<T>): Promise<T> {
  // the template verbs are often the first on a new host: they make berth's directories 0700
  for (const note of secureDirs(ownDirs(ctx.paths), [ctx.paths.run])) ctx.log(note);
  // held while a create unpacks its layer or tree (seconds for a big template): many creates
  // at once wait for each other instead of failing
  const lock = acquireLock(ctx.host, ctx.paths.helper, join(ctx.paths.lockDir, `template-${name}.lck`), what, {
    waitMs: 600_000,
    request: ctx.request,
  });
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
