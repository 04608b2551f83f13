// berth stat --prometheus and berthd's GET /metrics: each container's state, limits, counters,
// traffic and disk in Prometheus' text format (core/metrics.ts), read without locks, like list.

import { getKey } from '../core/config.ts';
import type { CtId } from '../core/ctid.ts';
import { type CtMetrics, configCounters, formatMetrics, parseNetDev, trafficFromHostEnd } from '../core/metrics.ts';
import { hostIfName, VENET_IF } from '../core/net.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import type { Ctx } from '../engine/context.ts';
import { readCounters } from '../engine/counters.ts';
import { inspect, mustExist } from '../engine/inspect.ts';
import { mountedUsage } from '../host/image.ts';
import { mountPoints } from '../host/mountinfo.ts';
import { hostNetDev } from '../host/net.ts';
import { listCtIds, readCtOrBroken, type StoredCt } from '../host/store.ts';
import { trace } from '../host/trace.ts';

export interface MetricsOptions {
  /** berth's version, for berth_build_info */
  version: string;
  /** only these containers, and no host-wide series (one textfile per container); undefined: all */
  ids?: CtId[] | undefined;
}

/** What one scrape reads once for all containers. */
interface Seen {
  mounts: Set<string>;
  netdev: ReturnType<typeof parseNetDev>;
}

/**
 * The exposition of every container (or those of `ids`, each of which must exist): state and
 * configured limits for all, counters, traffic and disk use for those that run. Nothing is
 * locked or spawned: cgroup files, /proc/self/net/dev and one statfs per running image.
 */
export function collectMetrics(ctx: Ctx, o: MetricsOptions): string {
  const seen: Seen = { mounts: mountPoints(ctx.mountinfo()), netdev: parseNetDev(hostNetDev(ctx.host)) };
  const cts: CtMetrics[] = [];
  for (const id of o.ids ?? listCtIds(ctx.paths)) {
    const ct = readCtOrBroken(ctx.paths, id);
    if (ct) cts.push(ctMetrics(ctx, id, 'error' in ct ? null : ct, seen));
    else if (o.ids) mustExist(id, null); // "does not exist"; a config removed during a scrape is skipped
  }
  trace(`metrics of ${cts.length}`);
  return formatMetrics({ version: o.version, host: o.ids === undefined, cts });
}

/**
 * One container's traffic (summed over its interfaces, from their host ends) and disk use, as
 * the API's stat shows them beside the beancounters; null for a figure berth cannot know.
 */
export function trafficAndDisk(
  ctx: Ctx,
  id: CtId,
): { rxBytes: number | null; txBytes: number | null; disk: CtMetrics['disk']; tree: string | null } {
  const read = readCtOrBroken(ctx.paths, id);
  const ct = read && !('error' in read) ? read : null;
  const seen: Seen = { mounts: mountPoints(ctx.mountinfo()), netdev: parseNetDev(hostNetDev(ctx.host)) };
  const m = ctMetrics(ctx, id, ct, seen);
  const sum = (k: 'rxBytes' | 'txBytes') => (m.net.length ? m.net.reduce((n, t) => n + t[k], 0) : null);
  const c = ct?.config;
  // dir and overlay: the tree whose walk gives the use (the caller decides when to walk it)
  const tree = c && c.layout !== 'image' ? ownFilesDir(c.layout, c.vePrivate) : null;
  return { rxBytes: sum('rxBytes'), txBytes: sum('txBytes'), disk: m.disk, tree };
}

/** One container; ct is null when its config is broken (then only what the kernel says). */
function ctMetrics(ctx: Ctx, id: CtId, ct: StoredCt | null, seen: Seen): CtMetrics {
  const c = ct?.config ?? null;
  const now = inspect(ctx, id);
  const live = now.status !== 'stopped';
  const started = live && now.state ? Date.parse(now.state.startedAt) / 1000 : Number.NaN;
  // host ends only: a container can make its own interfaces count anything, not these
  const ends: Array<[inside: string, hostEnd: string]> = [
    [VENET_IF, hostIfName(id)],
    ...(c?.netifs ?? []).map((n): [string, string] => [n.ifname, n.hostIfname]),
  ];
  const image = c?.layout === 'image' ? c : null;
  const usage = live && image && seen.mounts.has(image.veRoot) ? diskUsage(image.veRoot) : null;
  return {
    ctid: id,
    state: ct ? now.status : 'broken',
    startTime: Number.isNaN(started) ? null : started,
    info: ct
      ? {
          hostname: ct.config.hostname,
          description: getKey(ct.file, 'DESCRIPTION') ?? '',
          ostemplate: ct.config.ostemplate,
          layout: ct.config.layout,
        }
      : null,
    counters: live ? readCounters(ctx, id, 'bytes') : c ? configCounters(c.resources) : [],
    net: live
      ? ends.flatMap(([inside, end]) => {
          const t = seen.netdev.get(end);
          return t ? [trafficFromHostEnd(inside, t)] : [];
        })
      : [],
    // dir and overlay: skipped, their use is a walk of the tree (du), seconds for a big one
    // and as long as a container likes (millions of empty files): not for every scrape
    disk: { used: usage?.used ?? null, limit: image ? (image.diskspace?.hard ?? usage?.total ?? null) : null },
  };
}

/** statfs of a mounted image; null if it went away meanwhile. */
function diskUsage(root: string) {
  try {
    return mountedUsage(root);
  } catch {
    return null;
  }
}
