// The device nodes a container gets, as start and restore bind them and chkpnt names them.
import type { CtConfig } from '../core/ct-config.ts';
import type { HostDevice } from '../core/devices.ts';
import { featureDevnodes } from '../core/features.ts';
import { hostDevices, ownDeviceNodes } from '../host/devices.ts';
import type { Ctx } from './context.ts';

/**
 * The device nodes CFG gets (DEVNODES, and FEATURES fuse and tun) as bind sources: the host's
 * nodes, or with MAKE an unprivileged container's own copies (made afresh, owned by its root),
 * which start and restore bind; a chkpnt needs only where they go.
 */
export function devicesHere(ctx: Ctx, cfg: CtConfig, what: string, make: boolean): HostDevice[] {
  const found = hostDevices(featureDevnodes(cfg.features, cfg.devnodes), what);
  return make && cfg.idBase !== null ? ownDeviceNodes(ctx.host, ctx.paths, cfg.id, cfg.idBase, found) : found;
}
