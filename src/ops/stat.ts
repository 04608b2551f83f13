// berth stat: a running container's beancounters (held, maxheld, limit, failcnt) from its cgroups.

import { existsSync } from 'node:fs';
import { type Counter, V1_FILES, V2_FILES, v1Counters, v2Counters } from '../core/beancounters.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { readCounterFiles } from '../host/cgroups.ts';
import { ctConfigPath } from '../host/paths.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, inspect, loadCt } from './inspect.ts';

/** The counters in a running container's cgroups (a stopped one has none), at its limits level. */
export function readCounters(ctx: Ctx, id: CtId): Counter[] {
  const layout = ctx.layout();
  const dirs = cgroupDirsOf(ctx, id);
  return layout.kind === 'v2'
    ? v2Counters(readCounterFiles(layout, dirs, V2_FILES))
    : v1Counters(readCounterFiles(layout, dirs, V1_FILES));
}

export function statContainer(ctx: Ctx, id: CtId): Counter[] {
  if (!existsSync(ctConfigPath(ctx.paths, id))) loadCt(ctx, id); // "does not exist"
  if (inspect(ctx, id).status === 'stopped') {
    throw new BerthError('NOT_RUNNING', `stat ${id}: container is not running (its counters start with it)`, {
      hint: `berth start ${id}`,
    });
  }
  return readCounters(ctx, id);
}
