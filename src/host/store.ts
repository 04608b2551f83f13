// Reading and writing berth's config files and runtime state (all under one Paths prefix).
import { rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ConfigFile, parseConfig, toRecord } from '../core/config.ts';
import { type CtConfig, ctConfigFrom, type GlobalDefaults } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { parsePrivileged } from '../core/idmap.ts';
import { parseConsoleLogSize, parseSysinfo } from '../core/keeper.ts';
import { DEFAULT_LAYOUT, parseLayout } from '../core/layout.ts';
import type { RuntimeState } from '../core/lifecycle.ts';
import { lxcfsWanted } from '../core/lxcfs.ts';
import { venetFastpath, venetMtu } from '../core/net.ts';
import { listDir, readIfExists, writeFileAtomic } from './fs-util.ts';
import { ctConfigPath, type Paths, statePath } from './paths.ts';

export function readGlobal(p: Paths): GlobalDefaults {
  const text = readIfExists(p.globalConfig);
  const rec = text === null ? {} : toRecord(parseConfig(text, p.globalConfig));
  return {
    veRoot: rec['VE_ROOT'] ?? join(p.rootDir, '$VEID'),
    vePrivate: rec['VE_PRIVATE'] ?? join(p.privateDir, '$VEID'),
    defOstemplate: rec['DEF_OSTEMPLATE'] ?? 'busybox',
    stopTimeout: Number(rec['STOP_TIMEOUT'] ?? 60) || 60,
    neighbourDevs: rec['NEIGHBOUR_DEVS'] ?? 'detect',
    layout: rec['LAYOUT'] ? parseLayout(rec['LAYOUT'], `LAYOUT in ${p.globalConfig}`) : DEFAULT_LAYOUT,
    venetMtu: venetMtu(rec['VENET_MTU'], p.globalConfig),
    venetFastpath: venetFastpath(rec['VENET_FASTPATH'], p.globalConfig),
    lxcfs: lxcfsWanted(rec['LXCFS']),
    consoleLogSize: parseConsoleLogSize(rec['CONSOLE_LOG_SIZE'], p.globalConfig),
    sysinfo: parseSysinfo(rec['SYSINFO'], p.globalConfig),
    privileged: rec['PRIVILEGED'] ? parsePrivileged(rec['PRIVILEGED'], `PRIVILEGED in ${p.globalConfig}`) : false,
  };
}

export interface StoredCt {
  file: ConfigFile;
  config: CtConfig;
}

export function readCt(p: Paths, id: CtId): StoredCt | null {
  const path = ctConfigPath(p, id);
  const text = readIfExists(path);
  if (text === null) return null;
  const file = parseConfig(text, path);
  return { file, config: ctConfigFrom(id, toRecord(file), readGlobal(p)) };
}

export function writeCtText(p: Paths, id: CtId, text: string): void {
  writeFileAtomic(ctConfigPath(p, id), text);
}

/** Container ids that have a config file, sorted numerically then by name. */
export function listCtIds(p: Paths): CtId[] {
  return listDir(p.ctConfigDir)
    .filter((n) => n.endsWith('.conf') && !n.startsWith('ve-'))
    .map((n) => n.slice(0, -5) as CtId)
    .sort((a, b) => {
      const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
      const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
      if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
      if (!Number.isNaN(na)) return -1;
      if (!Number.isNaN(nb)) return 1;
      return a.localeCompare(b);
    });
}

export function readState(p: Paths, id: CtId): RuntimeState | null {
  const text = readIfExists(statePath(p, id));
  if (text === null) return null;
  try {
    return JSON.parse(text) as RuntimeState;
  } catch {
    return null; // a torn file cannot happen (atomic writes); anything else is treated as absent
  }
}

export function writeState(p: Paths, id: CtId, s: RuntimeState): void {
  writeFileAtomic(statePath(p, id), `${JSON.stringify(s)}\n`, 0o644, false);
}

export function removeState(p: Paths, id: CtId): void {
  rmSync(statePath(p, id), { force: true });
  try {
    rmdirSync(join(p.run, id));
  } catch {}
}
