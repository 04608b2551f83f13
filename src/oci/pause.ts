// berth-oci pause ID / resume ID: freezes or thaws every process of a running container (its
// cgroups' freezer), as runc does; state says "paused" while frozen.
import { BerthError } from '../core/errors.ts';
import { setFrozen } from '../host/cgroups.ts';
import { cgroupDirs, layoutNow, mustRecord, statusNow } from './container.ts';
import type { OciGlobal } from './main.ts';

function freeze(g: OciGlobal, args: string[], frozen: boolean): number {
  const verb = frozen ? 'pause' : 'resume';
  if (args.length !== 1) throw new BerthError('BAD_SYNTAX', `${verb}: takes one container id`);
  const r = mustRecord(g, args[0]);
  const now = statusNow(g, r);
  const from = frozen ? 'running' : 'paused';
  if (now !== from) throw new BerthError('NOT_RUNNING', `container ${r.id} is ${now}, not ${from}`);
  const layout = layoutNow();
  setFrozen(layout, cgroupDirs(r, layout), frozen);
  return 0;
}

export const pause = async (g: OciGlobal, args: string[]) => freeze(g, args, true);
export const resume = async (g: OciGlobal, args: string[]) => freeze(g, args, false);
