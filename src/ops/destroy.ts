// berth destroy: remove a stopped container's private area, config and runtime leftovers.
import { existsSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { templateOfLayer } from '../core/template-meta.ts';
import { gcLayers } from '../host/layers.ts';
import { unmountRoot } from '../host/mounts.ts';
import { consoleLogPath, ctConfigPath, lockPath } from '../host/paths.ts';
import { removeState } from '../host/store.ts';
import type { Ctx } from './context.ts';
import { mustExist, reconcile, withLock } from './runtime.ts';
import { removeAllSnapshots } from './snapshot.ts';
import { withTemplateLock } from './template.ts';

export async function destroyContainer(ctx: Ctx, id: CtId): Promise<void> {
  const layer = await withLock(ctx, id, 'destroy', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    if (now.status !== 'stopped') {
      throw new BerthError('RUNNING', `destroy ${id}: container is ${now.status}`, { hint: `berth stop ${id}` });
    }
    const cfg = ct.config;
    unmountRoot(ctx.paths.helper, cfg.veRoot);
    // Rename first: from here the destroy is committed, and an interrupted one is completed by
    // the next command (recoverFs), never left as a half-deleted container.
    const doomed = `${cfg.vePrivate}.destroying`;
    if (existsSync(cfg.vePrivate)) renameSync(cfg.vePrivate, doomed);
    rmSync(ctConfigPath(ctx.paths, id), { force: true });
    rmSync(doomed, { recursive: true, force: true });
    try {
      rmdirSync(cfg.veRoot); // never recursive: if anything were still mounted there, keep it
    } catch {}
    rmSync(consoleLogPath(ctx.paths, id), { force: true });
    removeAllSnapshots(ctx, id);
    removeState(ctx.paths, id);
    return cfg.layer;
  });
  rmSync(lockPath(ctx.paths, id), { force: true });
  // the last container of an outdated template version takes its layer along
  const tpl = layer ? templateOfLayer(layer) : null;
  if (tpl) await withTemplateLock(ctx, tpl, `destroy ${id}`, async () => gcLayers(ctx.paths, tpl));
}
