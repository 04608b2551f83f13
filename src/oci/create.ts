// berth-oci create --bundle DIR [--pid-file F] ID: builds the container from DIR/config.json and
// leaves its process waiting on the exec FIFO until `start`. The record is written first
// ("creating"), so a create killed at any point leaves what `delete --force` takes away.
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEVICE_ALLOW } from '../core/devices.ts';
import { BerthError } from '../core/errors.ts';
import { ID_POOL_START } from '../core/idmap.ts';
import { ociDeviceRules } from '../core/oci-devices.ts';
import { ociNamespaces, ociResources, ociStartArgs, overlayLayers, type SystemFacts } from '../core/oci-plan.ts';
import { ociSeccompPolicy } from '../core/oci-seccomp.ts';
import { MAX_CONFIG_BYTES, type OciSpec, parseSpec } from '../core/oci-spec.ts';
import { needsIdRange, SYSTEM_ANNOTATION, systemSpec, wantsSystem } from '../core/oci-system.ts';
import { makeCtx } from '../engine/context.ts';
import { allocateOciIdBase } from '../engine/idmap.ts';
import {
  containerCgroupMounts,
  ctDirs,
  detectLayout,
  prepareCgroups,
  procsFiles,
  resourceWrites,
} from '../host/cgroups.ts';
import { hostNode } from '../host/devices.ts';
import { errCode } from '../host/fs-util.ts';
import { policyFd } from '../host/helper.ts';
import { linuxHost } from '../host/host.ts';
import { ensureLxcfs } from '../host/lxcfs.ts';
import { mountAt, readMountinfo } from '../host/mountinfo.ts';
import { checkOciId, execFifoPath, type OciRecord, writeOciRecord } from '../host/oci-state.ts';
import { ownCapabilities, readProcStat } from '../host/proc.ts';
import { trace } from '../host/trace.ts';
import { callerTerminal, runAsCaller } from './caller.ts';
import { hookStatePrefix, removeContainer, stageDirOf, writePidFile } from './container.ts';
import { type OciGlobal, parseFlags, warn } from './main.ts';

/** create's valued flags, which run takes too */
export const CREATE_VALUED = ['bundle', 'b', 'pid-file', 'console-socket', 'preserve-fds'];
// --detach: create always returns once the process waits (go-runc may pass it)
const BOOLEAN = ['no-pivot', 'no-new-keyring', 'detach'];

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('create', args, CREATE_VALUED, BOOLEAN);
  if (positionals.length !== 1) throw new BerthError('BAD_SYNTAX', 'create: takes one container id');
  await createContainer(g, checkOciId(positionals[0]), createOptions(flags, null));
  return 0;
}

/** The options create's flags (CREATE_VALUED) give, and run's exit file. */
export function createOptions(flags: Map<string, string[]>, exitFile: string | null): CreateOptions {
  const one = (k: string) => flags.get(k)?.at(-1);
  return {
    bundle: resolve(one('bundle') ?? one('b') ?? '.'),
    pidFile: one('pid-file') ?? null,
    preserveFds: Number(one('preserve-fds') ?? 0),
    consoleSocket: one('console-socket') ?? null,
    exitFile,
  };
}

export interface CreateOptions {
  bundle: string;
  pidFile: string | null;
  preserveFds: number;
  consoleSocket: string | null;
  /** run: a waiter of the helper's stays the init's parent and writes its status here */
  exitFile: string | null;
}

const realOr = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p; // a root that is not there: the helper says so
  }
};

function readSpec(bundle: string): OciSpec {
  const file = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, { encoding: 'utf8', flag: 'r' }).slice(0, MAX_CONFIG_BYTES + 1);
  } catch (err) {
    throw new BerthError(
      'BAD_VALUE',
      `create: ${file}: ${errCode(err) === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  return parseSpec(text);
}

/** cgroupsPath "/a/b/c" (the cgroupfs driver's form) as parent "a/b" and name "c". */
function cgroupOf(spec: OciSpec, id: string): OciRecord['cgroup'] {
  const path = spec.linux.cgroupsPath ?? `/berth-oci/${id}`;
  const parts = path.split('/').filter(Boolean);
  if (path.includes(':') || parts.length === 0 || parts.some((p) => p === '..' || p === '.')) {
    throw new BerthError(
      'BAD_VALUE',
      `config.json: linux.cgroupsPath ${JSON.stringify(path.slice(0, 200))}: not a cgroupfs path`,
      {
        hint: 'berth-oci takes the cgroupfs driver\'s "/parent/name" (systemd\'s "slice:prefix:name" is not supported)',
      },
    );
  }
  return { parent: parts.slice(0, -1).join('/'), name: parts.at(-1) as string };
}

export async function createContainer(g: OciGlobal, id: string, o: CreateOptions): Promise<OciRecord> {
  const spec = readSpec(o.bundle);
  if (o.preserveFds) throw new BerthError('BAD_VALUE', 'create: --preserve-fds is not supported by berth-oci yet');
  // without a terminal of its own the process gets our stdio: never a terminal it could push
  // input into (TIOCSTI)
  for (const fd of o.consoleSocket === null ? [0, 1, 2] : []) {
    if (await callerTerminal(g, fd)) {
      throw new BerthError('BAD_VALUE', `create: fd ${fd} is a terminal, which the container would get`, {
        hint: 'give it pipes or files (as containerd and Docker do), or set process.terminal',
      });
    }
  }
  // one read of the mount table: the cgroup layout, and whether the root is an overlay
  const mountinfo = readMountinfo(linuxHost);
  const layout = detectLayout(mountinfo);
  const cgroup = cgroupOf(spec, id);
  const fifo = execFifoPath(g.root, id);
  const system = wantsSystem(spec);
  const ownRange = system && needsIdRange(spec);
  const stageDir = stageDirOf(g, id);
  // the real path: mountinfo names the overlay there (a bundle reached through a link would miss it)
  const rootfs = realOr(resolve(o.bundle, spec.root.path));
  const top = mountAt(rootfs, mountinfo);
  const rootOverlay = top?.fstype === 'overlay' ? top.options : null;
  const berth = makeCtx(g.berth, (m) => warn(g, m), layout);
  const hostNodes = Object.fromEntries(spec.linux.devices.map((d) => [d.path, hostNode(d.path)]));
  // the plan is checked before anything is made (a refusal changes nothing): with a stand-in
  // for the id range, which is handed out once the record exists
  const plan = (procs: string[], idBase: number | null, lxcfs: SystemFacts['lxcfs']) => {
    const planned = system ? systemSpec(spec, idBase) : spec;
    const argv = ociStartArgs(planned, {
      bundle: o.bundle,
      cgroupMounts: containerCgroupMounts(layout),
      cgroupProcs: procs,
      availableCaps: ownCapabilities(linuxHost),
      execFifo: fifo,
      consoleSocket: o.consoleSocket === null ? null : resolve(o.consoleSocket),
      system: system ? { stageDir: ownRange ? stageDir : null, lxcfs, rootOverlay } : null,
      hookState: hookStatePrefix({ id, bundle: o.bundle, annotations: spec.annotations }),
      hostNodes,
    });
    return { spec: planned, argv };
  };
  const checked = plan([], ownRange ? ID_POOL_START : null, null).spec;
  trace('oci create: spec read and planned');
  // its cgroup must be new: one that exists is another container's or the host's (a slice),
  // whose processes delete would kill and whose limits create would overwrite
  const before = ctDirs(layout, cgroup.parent, cgroup.name);
  if (before.some((d) => existsSync(d.path))) {
    throw new BerthError(
      'PRIVATE_EXISTS',
      `create ${id}: cgroup /${cgroup.parent ? `${cgroup.parent}/` : ''}${cgroup.name} exists already`,
      {
        hint: 'each container needs a cgroupsPath of its own',
      },
    );
  }
  // the default parent is berth-oci's own; another one only if create makes it now
  cgroup.ownParent = cgroup.parent === 'berth-oci' || !before.some((d) => existsSync(dirname(d.path)));
  mkdirSync(g.root, { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dirname(fifo), { mode: 0o700 });
  } catch (err) {
    if (errCode(err) === 'EEXIST') throw new BerthError('PRIVATE_EXISTS', `container with id exists: ${id}`);
    throw err;
  }
  const record: OciRecord = {
    id,
    pid: null,
    startTime: null,
    bundle: o.bundle,
    rootfs,
    created: new Date().toISOString(),
    status: 'creating',
    annotations: spec.annotations,
    cgroup,
    namespaces: ociNamespaces(checked).all,
    resources: ociResources(spec.linux.resources),
    hooks: { poststart: spec.hooks.poststart, poststop: spec.hooks.poststop },
  };
  writeOciRecord(g.root, record);
  try {
    const idBase = ownRange
      ? allocateOciIdBase(berth, { root: resolve(g.root), id }, (base) => {
          record.idBase = base;
          writeOciRecord(g.root, record);
        })
      : null;
    trace('oci create: ids');
    if (ownRange) {
      mkdirSync(stageDir, { recursive: true, mode: 0o700 });
      // the overlay made anew needs a work directory of its own, beside the upper one
      const work = rootOverlay && overlayLayers(rootOverlay).workdir;
      if (work) mkdirSync(work, { recursive: true, mode: 0o700 });
    }
    const lxcfs = system ? ensureLxcfs(linuxHost, berth.paths, g.helper, berth.log) : null;
    trace('oci create: lxcfs');
    const idmap = idBase ?? spec.linux.uidMappings[0]?.hostID ?? null;
    const dirs = prepareCgroups(linuxHost, layout, cgroup.parent, cgroup.name, {
      devices: [...DEVICE_ALLOW, ...ociDeviceRules(spec.linux.devices, spec.linux.resources)],
      writes: resourceWrites(layout, record.resources, id),
      owner: idmap,
    });
    trace('oci create: cgroups');
    const { argv } = plan(procsFiles(dirs), idBase, lxcfs);
    if (o.exitFile) argv.splice(argv.indexOf('--'), 0, '--exit-file', o.exitFile);
    // exec loads the same policy: the record keeps it (as runc keeps the container's config)
    record.seccomp = ociSeccompPolicy(checked, system, process.arch);
    // the caller's child with its stdio, as runc's init is (a shim, its subreaper, reaps it)
    const r = runAsCaller(g, argv, {
      // berth's own cache of policies (by their hash), not the caller's --root
      seccompFd: policyFd(berth.paths.run, record.seccomp),
    });
    if (r.exitCode !== 0 || r.pid === null) {
      const why = r.error?.message ?? `helper exited with ${r.exitCode}`;
      // a root on a filesystem without idmapped mounts (tmpfs before Linux 6.3, NFS)
      const unmappable = ownRange && /idmapped (copy|layers) of .*Invalid argument/.test(why);
      throw new BerthError('CT_CREATE', `create ${id}: ${why}`, {
        ...(unmappable && {
          hint: `its root's filesystem cannot be idmapped: keep bundles on ext4, xfs, btrfs or overlayfs, or annotate ${SYSTEM_ANNOTATION}: "false"`,
        }),
      });
    }
    trace('oci create: helper');
    record.pid = r.pid;
    record.startTime = readProcStat(linuxHost, r.pid)?.startTime ?? null;
    record.status = 'created';
    writeOciRecord(g.root, record);
    if (o.pidFile) writePidFile(o.pidFile, r.pid);
    return record;
  } catch (err) {
    // nothing half-made stays: the process (if any), its cgroups, the record
    try {
      removeContainer(g, record); // kills what it finds in the cgroups first
    } catch {}
    throw err;
  }
}
