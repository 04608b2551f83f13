// berth net create|list|destroy: bridges berth manages (created again when a container needs
// one after a reboot). Containers join them with --netif_add ...,BRIDGE or --ifname X --bridge B.
import { BerthError } from '../core/errors.ts';
import { type Bridge, bridgeAddr, bridgeOps, validateIfName } from '../core/netif.ts';
import type { Ctx } from '../engine/context.ts';
import { hostLinks, listBridges, readBridge, removeBridgeFile, writeBridge } from '../host/bridges.ts';
import { runNetOps } from '../host/net.ts';
import { listCtIds, readCt } from '../host/store.ts';

export function bridgeCreate(ctx: Ctx, name: string, subnets: string[]): Bridge {
  validateIfName(name, 'bridge name');
  if (readBridge(ctx.paths, name) || hostLinks().includes(name)) {
    throw new BerthError('BAD_VALUE', `net create ${name}: an interface with that name exists`, {
      hint: 'containers can join an existing bridge as it is: --netif_add eth0,,,,BRIDGE',
    });
  }
  const b: Bridge = { name, addrs: subnets.map(bridgeAddr) };
  runNetOps(ctx.host, ctx.paths.helper, `net create ${name}`, bridgeOps(b), null);
  writeBridge(ctx.paths, b);
  return b;
}

export function bridgeList(ctx: Ctx): Array<Bridge & { up: boolean; users: string[] }> {
  const links = hostLinks();
  const users = usersByBridge(ctx);
  return listBridges(ctx.paths).map((b) => ({ ...b, up: links.includes(b.name), users: users.get(b.name) ?? [] }));
}

function usersByBridge(ctx: Ctx): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const id of listCtIds(ctx.paths)) {
    for (const n of readCt(ctx.paths, id)?.config.netifs ?? []) {
      if (n.bridge) m.set(n.bridge, [...(m.get(n.bridge) ?? []), id]);
    }
  }
  return m;
}

export function bridgeDestroy(ctx: Ctx, name: string): void {
  if (!readBridge(ctx.paths, name)) {
    throw new BerthError('NO_BRIDGE', `net destroy ${name}: berth manages no bridge of that name`, {
      hint: 'berth net list',
    });
  }
  const users = usersByBridge(ctx).get(name) ?? [];
  if (users.length) {
    throw new BerthError('BAD_VALUE', `net destroy ${name}: containers still use it: ${users.join(', ')}`, {
      hint: `detach them first: berth set CTID --ifname IF --bridge '' --save`,
    });
  }
  runNetOps(ctx.host, ctx.paths.helper, `net destroy ${name}`, [['host', 'link-del', name, '-', '-']], null);
  removeBridgeFile(ctx.paths, name);
}
