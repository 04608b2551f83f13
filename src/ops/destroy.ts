// berth destroy: remove a stopped container's private area, config and runtime leftovers.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { templateOfLayer } from '../core/template-meta.ts';
import { gcLayers } from '../host/layers.ts';
import { unmountRoot } from '../host/mounts.ts';
import { lockPath } from '../host/paths.ts';
import type { Ctx } from './context.ts';
import { finishDestroy, mustExist, reconcile, withLock } from './runtime.ts';
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
    if (existsSync(cfg.vePrivate)) renameSync(cfg.vePrivate, `${cfg.vePrivate}.destroying`);
    else mkdirSync(`${cfg.vePrivate}.destroying`, { recursive: true, mode: 0o700 });
    finishDestroy(ctx, id, cfg.vePrivate, cfg.veRoot);
    return cfg.layer;
  });
  rmSync(lockPath(ctx.paths, id), { force: true });
  // the last container of an outdated template version takes its layer along
  const tpl = layer ? templateOfLayer(layer) : null;
  if (tpl) await withTemplateLock(ctx, tpl, `destroy ${id}`, async () => gcLayers(ctx.paths, tpl));
}
