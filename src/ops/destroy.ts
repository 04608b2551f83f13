// berth destroy: remove a stopped container's private area, config and runtime leftovers.
import { looseRecord, quote } from '../core/config.ts';
import { expandVeid } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { templateOfLayer } from '../core/template-meta.ts';
import { presentScripts } from '../engine/action-scripts.ts';
import type { Ctx } from '../engine/context.ts';
import { mustExist } from '../engine/inspect.ts';
import { finishDestroy, reconcile, withLock } from '../engine/runtime.ts';
import { withTemplateLock } from '../engine/template-lock.ts';
import { makeDir, pathExists, renamePath } from '../host/files.ts';
import { readIfExists } from '../host/fs-util.ts';
import { unmountRoot } from '../host/mounts.ts';
import { ctConfigPath } from '../host/paths.ts';
import { listSnapshots } from '../host/snapshots.ts';
import { readCtOrDerived, type StoredCt } from '../host/store.ts';
import { gcLayers } from '../host/template-cache.ts';

/**
 * Destroys a stopped container. A broken config does not stop it: what the container has on
 * disk is then found where berth.conf puts it for this CTID (docs/config.md). `verb` is the
 * one the user ran (restore --force destroys too).
 */
export async function destroyContainer(ctx: Ctx, id: CtId, verb = 'destroy'): Promise<void> {
  const layer = await withLock(
    ctx,
    id,
    verb,
    async (stored) => {
      const ct = mustExist(id, stored);
      if (ct.broken) warnBroken(ctx, id, ct);
      const now = await reconcile(ctx, id, ct.config);
      if (now.status !== 'stopped') {
        throw new BerthError('RUNNING', `${verb} ${id}: container is ${now.status}`, { hint: `berth stop ${id}` });
      }
      const cfg = ct.config;
      // what goes, said before it goes: an admin who forgot the snapshots hears of them
      const snaps = listSnapshots(ctx.paths, id).map((s) => s.name);
      const scripts = presentScripts(ctx, id);
      ctx.log(
        `Destroying ${id}: its files (${cfg.vePrivate}), config${snaps.length ? `, ${snaps.length} snapshot${snaps.length > 1 ? 's' : ''} (${snaps.join(', ')})` : ''}, console log and runtime state${scripts.length ? `; action scripts kept as ${scripts.map((n) => `${n}.destroyed`).join(', ')}` : ''}`,
      );
      unmountRoot(ctx.host, ctx.paths.helper, cfg.veRoot);
      const layer = ct.broken ? brokenLayer(ctx, id) : cfg.layer;
      // Rename first: from here the destroy is committed, and an interrupted one is completed by
      // the next command (recoverFs), never left as a half-deleted container.
      if (pathExists(cfg.vePrivate)) renamePath(cfg.vePrivate, `${cfg.vePrivate}.destroying`);
      else makeDir(`${cfg.vePrivate}.destroying`, 0o700);
      finishDestroy(ctx, id, cfg.vePrivate, cfg.veRoot);
      return layer;
    },
    readCtOrDerived,
  );
  // the last container of an outdated template version takes its layer along
  const tpl = layer ? templateOfLayer(layer) : null;
  if (tpl) await withTemplateLock(ctx, tpl, `${verb} ${id}`, async () => gcLayers(ctx.paths, tpl));
}

/** Says that the config is broken, and which of its own paths (if any) destroy leaves alone. */
function warnBroken(ctx: Ctx, id: CtId, ct: StoredCt): void {
  ctx.log(`warning: ${ct.broken?.message}`);
  const loose = looseRecord(readIfExists(ctConfigPath(ctx.paths, id)) ?? '');
  const own = { VE_PRIVATE: ct.config.vePrivate, VE_ROOT: ct.config.veRoot };
  for (const [key, derived] of Object.entries(own)) {
    const named = loose[key] ? expandVeid(loose[key], id) : derived;
    if (named !== derived) ctx.log(`warning: ${id}: ${key}=${quote(named)} of the broken config is left alone`);
  }
  ctx.log(`${id}: removing what berth.conf places for it: ${ct.config.vePrivate}, ${ct.config.veRoot}`);
}

/** A broken config's layer, if its LAYER line names one: gcLayers removes it only when unused. */
function brokenLayer(ctx: Ctx, id: CtId): string | null {
  const layer = looseRecord(readIfExists(ctConfigPath(ctx.paths, id)) ?? '')['LAYER'] ?? '';
  return templateOfLayer(layer) ? layer : null;
}
