// Every on-disk path of berth, built from one prefix (--root / BERTH_ROOT, default /), and the
// mode of the directories that hold container data.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import { fnv1a } from '../core/hash.ts';
import { errCode, errText } from './fs-util.ts';

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

/** berth-oci's call server (src/oci/serve.ts): helper/oci-client.c builds the same path */
export const ociServerSocket = (p: Paths) => join(p.run, 'oci-server/sock');
/** its counters (`berth-oci serve --status`), beside the socket */
export const statsPath = (sock: string) => join(dirname(sock), 'stats.json');
export const ctConfigPath = (p: Paths, id: CtId) => join(p.ctConfigDir, `${id}.conf`);
export const sampleConfigPath = (p: Paths, name: string) => join(p.ctConfigDir, `ve-${name}.conf-sample`);
export const lockPath = (p: Paths, id: CtId) => join(p.lockDir, `${id}.lck`);
export const statePath = (p: Paths, id: CtId) => join(p.run, id, 'state.json');
/** Written before berth freezes a container for a copy: one left behind means "thaw it". */
export const thawMarkerPath = (p: Paths, id: CtId) => join(p.run, id, 'thaw-after-copy');
export const consoleLogPath = (p: Paths, id: CtId) => join(p.log, `${id}.console.log`);
/** the running container's keeper listens here (root only: the run directory is 0700) */
export const keeperSocketPath = (p: Paths, id: CtId) => join(p.run, id, 'keeper.sock');
/**
 * enter sessions record themselves here (the helper, as the container's root: the directory is
 * owned by its id base) so that chkpnt can carry them (ops/enter.ts)
 */
export const sessionsDir = (p: Paths, id: CtId) => join(p.run, id, 'sessions');
/** chkpnt's marks for the berth enters whose sessions it carried, beside the run directories */
export const carriedDir = (p: Paths) => join(p.run, 'carried');
/** the mark of berth enter NAME (its pid) of container ID: the number its session has */
export const carriedMarkPath = (p: Paths, id: CtId, name: string) => join(carriedDir(p), `${id}.${name}`);
export const templatePath = (p: Paths, name: string) => join(p.templateCache, `${name}.tar.zst`);
export const templateMetaPath = (p: Paths, name: string) => join(p.templateCache, `${name}.json`);
export const layerPath = (p: Paths, layer: string) => join(p.layersDir, layer);
export const snapshotsOf = (p: Paths, id: CtId) => join(p.snapshotDir, id);
export const snapshotPath = (p: Paths, id: CtId, name: string) => join(p.snapshotDir, id, name);
export const backupDir = (p: Paths) => join(p.lib, 'backup');
/** berth migrate's journals (CTID.json) and the archives it sends (CTID.tar), root's only */
export const migrateDir = (p: Paths) => join(p.lib, 'migrate');
export const migrateJournalPath = (p: Paths, id: CtId) => join(migrateDir(p), `${id}.json`);
export const migrateArchivePath = (p: Paths, id: CtId) => join(migrateDir(p), `${id}.tar`);
/** migrate --online's checkpoint of CTID, kept until DEST runs it (--abort restores it here) */
export const migrateDumpPath = (p: Paths, id: CtId) => join(migrateDir(p), `${id}.dump`);
/** held by berth migrate for its whole run: two migrations of one container never interleave */
export const migrateLockPath = (p: Paths, id: CtId) => join(p.lockDir, 'migrate', `${id}.lck`);

/**
 * berth's own top-level directories. Each holds container data (files, roots, layers, snapshots,
 * backups, console logs) or berth's control files (locks, runtime state), and no host user but
 * root may reach into one: a container's files keep on-disk uid 0, so a setuid-root file planted
 * by a container would make any host user root (a migration's archive holds them too). A VE_PRIVATE or VE_ROOT pattern DIR/$VEID
 * elsewhere (vzctl's /vz/private/$VEID) makes DIR one of them too.
 */
export function ownDirs(p: Paths, patterns: string[] = []): string[] {
  const dirs = [
    p.privateDir,
    p.rootDir,
    join(p.lib, 'template'),
    p.snapshotDir,
    backupDir(p),
    migrateDir(p),
    p.lockDir,
    p.log,
    p.run,
  ];
  for (const v of patterns) if (v.endsWith('/$VEID')) dirs.push(dirname(v));
  return [...new Set(dirs)];
}

/**
 * 0700, not 0711: CTIDs are guessable, so through a merely traversable parent a host user could
 * still run private/101/upper/tmp/x by its name. Nothing but root needs to walk these paths: an
 * unprivileged container's helper opens its root and bind sources while still host root, and an
 * overlay's layers are named through /proc/self/fd (helper/idmap.c).
 */
export const OWN_DIR_MODE = 0o700;

/**
 * The run directory holds berthd's socket: `berth daemon` makes it 0710 with the berth-admin
 * group, so that group's members (root's equals through the API anyway) can reach the socket
 * and nothing else (every entry in it is root's and 0700 or a socket of its own mode).
 */
export const RUN_DIR_DAEMON_MODE = 0o710;

/**
 * Makes each directory exist with OWN_DIR_MODE, and closes one that is wider (made by an older
 * berth, or by hand): a stat each when all is well. Returns what it did or could not do.
 * groupTraverse: directories that may be RUN_DIR_DAEMON_MODE with a group other than root's.
 */
export function secureDirs(dirs: string[], groupTraverse: readonly string[] = []): string[] {
  const notes: string[] = [];
  for (const dir of dirs) {
    try {
      const st = statSync(dir);
      const mode = st.mode & 0o7777;
      if (mode === RUN_DIR_DAEMON_MODE && st.gid !== 0 && groupTraverse.includes(dir)) continue;
      if (mode & 0o077) {
        chmodSync(dir, OWN_DIR_MODE);
        notes.push(`${dir}: mode ${mode.toString(8)} tightened to 700 (container files are root's only)`);
      }
    } catch (err) {
      try {
        if (errCode(err) !== 'ENOENT') throw err;
        mkdirSync(dirname(dir), { recursive: true });
        mkdirSync(dir, { mode: OWN_DIR_MODE });
      } catch (err2) {
        if (errCode(err2) !== 'EEXIST') notes.push(`warning: ${dir}: cannot make it mode 700: ${errText(err2)}`);
      }
    }
  }
  return notes;
}
/** berth chkpnt's default dump directory (vzctl's /vz/dump): CRIU's images and berth-meta.json */
export const dumpPath = (p: Paths, id: CtId) => join(p.lib, 'dump', id);
