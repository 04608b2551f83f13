// CtConfig + host facts -> the helper plans for start and exec (pure; what a container *is*).

import { dropsWith, keptCapabilities } from './capabilities.ts';
import type { CtConfig } from './ct-config.ts';
import type { HostDevice } from './devices.ts';
import { BerthError } from './errors.ts';
import { featureOn } from './features.ts';
import type { JoinPlan, StartPlan } from './helper-args.ts';
import { ID_COUNT } from './idmap.ts';
import type { KeeperPlan } from './keeper.ts';
import type { LxcfsView } from './lxcfs.ts';
import { type CgroupMount, type ContainerFile, type MountPlanInput, planMounts } from './mounts.ts';

export const NAMESPACES = ['pid', 'uts', 'ipc', 'mnt', 'net', 'cgroup'] as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HostFacts {
  cgroupMounts: readonly CgroupMount[];
  cgroupProcs: readonly string[];
  /** the keeper's plan: console log, socket, sysinfo sources (null: no keeper) */
  keeper: KeeperPlan | null;
  /** CapPrm of berth's own process */
  availableCaps: bigint;
  /** written into the container at start: resolv.conf, the distro's network config */
  files?: readonly ContainerFile[];
  /** berth's blocks in the container's own files: /etc/hosts */
  blocks?: readonly ContainerFile[];
  /** the running lxcfs, whose files show the container its own figures */
  lxcfs?: LxcfsView | null;
  /** the host nodes of its DEVNODES (type and numbers read from the host) */
  devices?: readonly HostDevice[];
  /** BINDMOUNT, with a stage path each for an unprivileged container (host/bindmounts.ts) */
  binds?: MountPlanInput['binds'];
  /** the kernel has time namespaces (/proc/self/ns/time) */
  timens?: boolean;
}

/**
 * A user namespace first (its maps come with it), for an unprivileged container. A time
 * namespace of its own (offsets 0) when the kernel has them: CRIU restores a tree into a new
 * one, and every later process (exec, enter) must share init's, or the next dump restores
 * into two (docs/design/criu-recipe.md).
 */
export function namespacesOf(userns: boolean, timens = false): readonly string[] {
  return [...(userns ? ['user'] : []), ...NAMESPACES, ...(timens ? ['time'] : [])];
}

export function startPlan(cfg: CtConfig, facts: HostFacts): StartPlan {
  return {
    rootfs: cfg.veRoot,
    namespaces: namespacesOf(cfg.idBase !== null, facts.timens === true),
    idmap: cfg.idBase === null ? null : { base: cfg.idBase, count: ID_COUNT },
    cgroupProcs: facts.cgroupProcs,
    mounts: planMounts({
      cgroups: facts.cgroupMounts,
      hostname: cfg.hostname,
      files: facts.files ?? [],
      blocks: facts.blocks ?? [],
      lxcfs: facts.lxcfs ?? null,
      devices: facts.devices ?? [],
      binds: facts.binds ?? [],
      nesting: featureOn(cfg.features, 'nesting'),
    }),
    hostname: cfg.hostname,
    caps: keptCapabilities(facts.availableCaps, dropsWith(cfg.capabilities)),
    // systemd reads $container to know it runs in a container (systemd-detect-virt: container-other)
    env: [`PATH=${DEFAULT_PATH}`, 'container=berth', 'TERM=linux', 'HOME=/root'],
    init: ['/sbin/init'],
    keeper: facts.keeper,
  };
}

export function execPlan(
  pid: number,
  cgroupProcs: readonly string[],
  argv: readonly string[],
  /** availableCaps: what the command may keep (berth's own, and the container init's bounding set) */
  opts: {
    pty: boolean;
    term?: string | undefined;
    availableCaps: bigint;
    userns: boolean;
    /** join init's time namespace (the kernel has them) */
    timens?: boolean;
    keeperSocket?: string | null;
    /** NAME=VALUE pairs from exec --env (parseEnvPair checked them): they win over berth's */
    env?: readonly string[];
  },
): JoinPlan {
  const extra = opts.env ?? [];
  const names = new Set(extra.map((e) => e.slice(0, e.indexOf('='))));
  return {
    pid,
    namespaces: namespacesOf(opts.userns, opts.timens === true),
    cgroupProcs,
    // the container's own set (its CAPABILITY applied at start), read from its init
    caps: keptCapabilities(opts.availableCaps, []),
    env: [
      ...[`PATH=${DEFAULT_PATH}`, 'HOME=/root', `TERM=${opts.term || 'xterm'}`, 'container=berth'].filter(
        (e) => !names.has(e.slice(0, e.indexOf('='))),
      ),
      ...extra,
    ],
    cwd: '/',
    pty: opts.pty,
    argv,
    keeperSocket: opts.keeperSocket ?? null,
  };
}

/** exec --env NAME=VALUE: a name the shell could export, a value without NUL (argv cannot hold it). */
export function parseEnvPair(verb: string, text: string): string {
  const eq = text.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(0, eq)) || text.includes('\0')) {
    throw new BerthError('BAD_VALUE', `${verb}: --env ${JSON.stringify(text.slice(0, 80))}: not NAME=VALUE`, {
      hint: 'a name of letters, digits and _, not starting with a digit: --env LANG=C.UTF-8',
    });
  }
  return text;
}
