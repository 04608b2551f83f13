// Every on-disk path of berth, built from one prefix (--root / BERTH_ROOT, default /).
import { join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import { fnv1a } from '../core/hash.ts';

export interface Paths {
  prefix: string;
  etc: string;
  globalConfig: string;
  ctConfigDir: string;
  /** managed bridges: NAME.conf */
  netDir: string;
  lib: string;
  privateDir: string;
  rootDir: string;
  lockDir: string;
  templateCache: string;
  /** shared read-only template layers of overlay containers: NAME-<sha12>/ */
  layersDir: string;
  /** snapshots: CTID/NAME/{meta.json,ct.conf,fs/} */
  snapshotDir: string;
  run: string;
  log: string;
  /** cgroup directory name under each hierarchy: 'berth', or unique per prefix for test trees */
  cgroupParent: string;
  helper: string;
}

export function makePaths(prefix: string, helper: string): Paths {
  const lib = join(prefix, 'var/lib/berth');
  const p = prefix.replace(/\/+$/, '') || '/';
  return {
    prefix: p,
    etc: join(p, 'etc/berth'),
    globalConfig: join(p, 'etc/berth/berth.conf'),
    ctConfigDir: join(p, 'etc/berth/ct'),
    netDir: join(p, 'etc/berth/net'),
    lib,
    privateDir: join(lib, 'private'),
    rootDir: join(lib, 'root'),
    lockDir: join(lib, 'lock'),
    templateCache: join(lib, 'template/cache'),
    layersDir: join(lib, 'template/layers'),
    snapshotDir: join(lib, 'snapshots'),
    run: join(p, 'run/berth'),
    log: join(p, 'var/log/berth'),
    cgroupParent: p === '/' ? 'berth' : `berth-${fnv1a(p)}`,
    helper,
  };
}

export const ctConfigPath = (p: Paths, id: CtId) => join(p.ctConfigDir, `${id}.conf`);
export const sampleConfigPath = (p: Paths, name: string) => join(p.ctConfigDir, `ve-${name}.conf-sample`);
export const lockPath = (p: Paths, id: CtId) => join(p.lockDir, `${id}.lck`);
export const statePath = (p: Paths, id: CtId) => join(p.run, id, 'state.json');
/** Written before berth freezes a container for a copy: one left behind means "thaw it". */
export const thawMarkerPath = (p: Paths, id: CtId) => join(p.run, id, 'thaw-after-copy');
export const consoleLogPath = (p: Paths, id: CtId) => join(p.log, `${id}.console.log`);
/** the running container's keeper listens here (root only: the run directory is 0700) */
export const keeperSocketPath = (p: Paths, id: CtId) => join(p.run, id, 'keeper.sock');
export const templatePath = (p: Paths, name: string) => join(p.templateCache, `${name}.tar.zst`);
export const templateMetaPath = (p: Paths, name: string) => join(p.templateCache, `${name}.json`);
export const layerPath = (p: Paths, layer: string) => join(p.layersDir, layer);
export const snapshotsOf = (p: Paths, id: CtId) => join(p.snapshotDir, id);
export const snapshotPath = (p: Paths, id: CtId, name: string) => join(p.snapshotDir, id, name);
