// The mounts CRIU must be told about: start's mount plan of a container on this host. chkpnt
// takes the external mounts of a checkpoint from it, restore their sources on this host.
import type { CtConfig } from '../core/ct-config.ts';
import type { HostDevice } from '../core/devices.ts';
import { featureOn } from '../core/features.ts';
import type { LxcfsView } from '../core/lxcfs.ts';
import { type MountOp, planMounts } from '../core/mounts.ts';
import type { PlannedBind } from '../host/bindmounts.ts';
import { containerCgroupMounts } from '../host/cgroups.ts';
import { ensureLxcfs } from '../host/lxcfs.ts';
import type { Ctx } from './context.ts';

/** CFG's mount plan here, with the lxcfs it binds from (started if the host uses lxcfs). */
export function mountPlanHere(
  ctx: Ctx,
  cfg: CtConfig,
  lxcfsOn: boolean,
  devices: readonly HostDevice[],
  binds: readonly PlannedBind[],
): { plan: MountOp[]; lxcfs: LxcfsView | null } {
  const lxcfs = lxcfsOn ? ensureLxcfs(ctx.host, ctx.paths, ctx.paths.helper, ctx.log) : null;
  const plan = planMounts({
    cgroups: containerCgroupMounts(ctx.layout()),
    hostname: cfg.hostname,
    lxcfs,
    nesting: featureOn(cfg.features, 'nesting'),
    devices,
    binds,
  });
  return { plan, lxcfs };
}
