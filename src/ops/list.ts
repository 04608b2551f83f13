// berth list / status: what each container is and holds, read without taking locks.

import { existsSync } from 'node:fs';
import type { CtId } from '../core/ctid.ts';
import { formatIpList } from '../core/net.ts';
import { formatSize } from '../core/size.ts';
import { cgroupPids } from '../host/cgroups.ts';
import { isMounted } from '../host/mounts.ts';
import { listCtIds, readCt } from '../host/store.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, inspect } from './runtime.ts';

export interface CtRow {
  ctid: string;
  nproc: number | null;
  status: string;
  ip: string;
  hostname: string;
  ostemplate: string;
  onboot: string;
  pid: number | null;
  physpages: string;
  swappages: string;
  cpus: string;
  cpulimit: string;
  cpuunits: string;
  numproc: string;
  ve_root: string;
  ve_private: string;
  layout: string;
  layer: string;
  mounted: boolean;
  exists: boolean;
}

export const LIST_FIELDS = [
  'ctid',
  'nproc',
  'status',
  'ip',
  'hostname',
  'ostemplate',
  'onboot',
  'pid',
  'physpages',
  'swappages',
  'cpus',
  'cpulimit',
  'cpuunits',
  'numproc',
  've_root',
  've_private',
  'layout',
  'layer',
] as const;
export type ListField = (typeof LIST_FIELDS)[number];

export function ctRow(ctx: Ctx, id: CtId): CtRow | null {
  const ct = readCt(ctx.paths, id);
  if (!ct) return null;
  const c = ct.config;
  const now = inspect(ctx, id);
  const r = c.resources;
  return {
    ctid: id,
    nproc: now.status === 'stopped' ? null : cgroupPids(cgroupDirsOf(ctx, id)).length,
    status: now.status,
    ip: formatIpList(c.ipAddr) || '-',
    hostname: c.hostname,
    ostemplate: c.ostemplate,
    onboot: c.onboot ? 'yes' : 'no',
    pid: now.pid,
    physpages: formatSize(r.ram),
    swappages: formatSize(r.swap),
    cpus: r.cpus === null ? 'unlimited' : String(r.cpus),
    cpulimit: r.cpulimit === null ? '0' : String(r.cpulimit),
    cpuunits: String(r.cpuunits ?? 1000),
    numproc: r.numproc === null ? 'unlimited' : String(r.numproc),
    ve_root: c.veRoot,
    ve_private: c.vePrivate,
    layout: c.layout,
    layer: c.layer ?? '-',
    mounted: isMounted(c.veRoot),
    exists: existsSync(c.vePrivate),
  };
}

export function listContainers(ctx: Ctx, all: boolean): CtRow[] {
  return listCtIds(ctx.paths)
    .map((id) => ctRow(ctx, id))
    .filter((r): r is CtRow => r !== null && (all || r.status !== 'stopped'));
}
