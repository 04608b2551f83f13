// berth stat: a running container's beancounters (held, maxheld, limit, failcnt) from its cgroups.

import type { Counter } from '../core/beancounters.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { readCounters } from '../engine/counters.ts';
import { inspect, loadCt } from '../engine/inspect.ts';
import { pathExists } from '../host/files.ts';
import { ctConfigPath } from '../host/paths.ts';

export function statContainer(ctx: Ctx, id: CtId): Counter[] {
  if (!pathExists(ctConfigPath(ctx.paths, id))) loadCt(ctx, id); // "does not exist"
  if (inspect(ctx, id).status === 'stopped') {
    throw new BerthError('NOT_RUNNING', `stat ${id}: container is not running (its counters start with it)`, {
      hint: `berth start ${id}`,
    });
  }
  return readCounters(ctx, id);
}
