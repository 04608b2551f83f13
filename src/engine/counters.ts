// A running container's beancounters from its cgroups: berth stat and list's failcnt share it.

import { type Counter, type MemoryUnit, V1_FILES, V2_FILES, v1Counters, v2Counters } from '../core/beancounters.ts';
import type { CtId } from '../core/ctid.ts';
import { readCounterFiles } from '../host/cgroups.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf } from './inspect.ts';

/** The counters in a running container's cgroups (a stopped one has none), at its limits level. */
export function readCounters(ctx: Ctx, id: CtId, unit: MemoryUnit = 'pages'): Counter[] {
  const layout = ctx.layout();
  const dirs = cgroupDirsOf(ctx, id);
  return layout.kind === 'v2'
    ? v2Counters(readCounterFiles(layout, dirs, V2_FILES), unit)
    : v1Counters(readCounterFiles(layout, dirs, V1_FILES), unit);
}
