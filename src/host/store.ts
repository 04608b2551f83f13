// Reading and writing berth's config files and runtime state (all under one Paths prefix).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ConfigFile, clip, lineOf, looseRecord, parseConfig, toRecord } from '../core/config.ts';
import { type CtConfig, ctConfigFrom, type GlobalDefaults } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { parsePrivileged } from '../core/idmap.ts';
import { parseConsoleLogSize, parseSysinfo } from '../core/keeper.ts';
import { DEFAULT_LAYOUT, parseLayout } from '../core/layout.ts';
import type { RuntimeState } from '../core/lifecycle.ts';
import { lxcfsWanted } from '../core/lxcfs.ts';
import { venetFastpath, venetMtu } from '../core/net.ts';
import { errText, listDir, readIfExists, writeFileAtomic } from './fs-util.ts';
import { ctConfigPath, type Paths, sessionsDir, statePath } from './paths.ts';
import { trace } from './trace.ts';

/** berth.conf is read once per command (each command makes its own Paths): list reads many configs. */
const globals = new WeakMap<Paths, GlobalDefaults>();

export function readGlobal(p: Paths): GlobalDefaults {
  let g = globals.get(p);
  if (!g) {
    g = parseGlobal(p);
    globals.set(p, g);
  }
  return g;
}

function parseGlobal(p: Paths): GlobalDefaults {
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
  /** set by readCtOrDerived only: the config is broken, and `config` is derived, not read */
  broken?: BerthError;
}

/** A container config that exists but cannot be used: what is wrong and where (in the message). */
export interface BrokenCt {
  path: string;
  error: BerthError;
  /** the keys of the lines that did parse: for messages only, never to act on */
  loose: Record<string, string>;
}

/** A container's config, validated; a broken one throws CONFIG_INVALID naming file, line and key. */
export function readCt(p: Paths, id: CtId): StoredCt | null {
  const r = readCtOrBroken(p, id);
  if (r && 'error' in r) throw r.error;
  return r;
}

/** Like readCt, but a broken config is an answer (list, status, destroy), not an error. */
export function readCtOrBroken(p: Paths, id: CtId): StoredCt | BrokenCt | null {
  const path = ctConfigPath(p, id);
  const text = readIfExists(path);
  if (text === null) return null;
  const g = readGlobal(p); // a broken global config breaks every container: that error stands
  try {
    const file = parseConfig(text, path);
    const config = ctConfigFrom(id, toRecord(file), g, { path, lineOf: (k) => lineOf(file, k) });
    trace(`config ${id} read`);
    return { file, config };
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    const error =
      err.code === 'CONFIG_INVALID' ? err : new BerthError('CONFIG_INVALID', `${path}: ${clip(err.message)}`);
    return { path, error, loose: looseRecord(text) };
  }
}

/**
 * For destroy: a broken config's container with the paths berth.conf gives its CTID (the
 * broken file's own VE_ROOT or VE_PRIVATE cannot be trusted), and `broken` set.
 */
export function readCtOrDerived(p: Paths, id: CtId): StoredCt | null {
  const r = readCtOrBroken(p, id);
  if (!r || !('error' in r)) return r;
  return { file: parseConfig('', r.path), config: derivedConfig(p, id), broken: r.error };
}

/** What berth.conf alone says of container ID: its paths, and no settings of its own. */
export function derivedConfig(p: Paths, id: CtId): CtConfig {
  return ctConfigFrom(id, {}, readGlobal(p));
}

export function writeCtText(p: Paths, id: CtId, text: string): void {
  writeFileAtomic(ctConfigPath(p, id), text);
}

export interface StagedText {
  /** renames the written file into place: the one step left that could fail is this rename */
  commit(): void;
  /** removes it, when what it was staged for did not happen */
  discard(): void;
}

/**
 * writeCtText in two halves: the text is written and synced to a temporary file now (a full
 * disk fails here, before anything else changed), and renamed over the config by commit().
 */
export function stageCtText(p: Paths, id: CtId, text: string): StagedText {
  const file = ctConfigPath(p, id);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BerthError('SYSTEM', `write ${file}: ${errText(err)}`, { cause: err });
  }
  return {
    commit: () => {
      try {
        renameSync(tmp, file);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new BerthError('SYSTEM', `write ${file}: ${errText(err)}`, { cause: err });
      }
    },
    discard: () => rmSync(tmp, { force: true }),
  };
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
  // enter sessions' records (ops/enter.ts): files only, which mean nothing once it stops
  rmSync(sessionsDir(p, id), { recursive: true, force: true });
  try {
    rmdirSync(join(p.run, id));
  } catch {}
}
