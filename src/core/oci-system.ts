// berth-oci's system containers: what a config.json becomes unless its annotation opts out.
// Docker, Podman and containerd write specs for application containers (no user namespace,
// root inside is root on the host, the host's /proc figures, no room for systemd). A system
// container gets what `berth create` gives: a user namespace with an id range of its own, a
// cgroup namespace, berth's capabilities for its root (they are its user namespace's), and
// $container for systemd. The plan (oci-plan.ts) adds the mounts: an idmapped root and binds,
// lxcfs's files, cgroups systemd may write. Pure: the id range comes in, the spec goes out.
import { ALL_CAPS, DEFAULT_DROP } from './capabilities.ts';
import { BerthError } from './errors.ts';
import { ID_COUNT } from './idmap.ts';
import type { OciSpec } from './oci-spec.ts';

/** The annotation that opts a container out ("false") or, the default, in ("true"). */
export const SYSTEM_ANNOTATION = 'berth.io/system';

/**
 * Whether the spec asks for a system container: annotation "true" or "false"; without it, yes,
 * unless the spec shares the host's pid namespace or is privileged (every capability: Docker's
 * --privileged, a privileged pod), which a user namespace of its own would silently break.
 */
export function wantsSystem(spec: OciSpec): boolean {
  const v = spec.annotations[SYSTEM_ANNOTATION];
  if (v === 'true') return true;
  if (v === undefined) {
    const hostPid = !spec.linux.namespaces.some((n) => n.type === 'pid');
    const privileged = spec.process?.capabilities.includes('CAP_SYS_MODULE') ?? false;
    return !hostPid && !privileged;
  }
  if (v === 'false') return false;
  throw new BerthError(
    'BAD_VALUE',
    `config.json: annotations.${SYSTEM_ANNOTATION}: ${JSON.stringify(v.slice(0, 40))}`,
    {
      hint: '"false" runs it as runc would (no user namespace, no lxcfs); "true" or none: a system container',
    },
  );
}

/** Whether berth hands out the id range: the spec has no user namespace of its own (Docker's userns-remap has). */
export const needsIdRange = (spec: OciSpec): boolean => !spec.linux.namespaces.some((n) => n.type === 'user');

/** A process running as root gets berth's capabilities, in its own user namespace. */
const BERTH_CAPS = ALL_CAPS.filter((c) => !DEFAULT_DROP.includes(c)).map((c) => `CAP_${c.toUpperCase()}`);

/**
 * The sets Docker, Podman and containerd (and `runc spec`, `berth-oci spec`) give when nobody
 * chose one: only those become berth's. A set someone chose (Kubernetes' drop: [ALL],
 * --cap-add) is kept as it is.
 */
const SPEC_DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
export const ENGINE_DEFAULT_CAPS = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];
/** Podman's (containers.conf default_capabilities): Docker's less AUDIT_WRITE, MKNOD and NET_RAW */
const PODMAN_DEFAULT_CAPS = ENGINE_DEFAULT_CAPS.filter(
  (c) => !['CAP_AUDIT_WRITE', 'CAP_MKNOD', 'CAP_NET_RAW'].includes(c),
);
const isEngineDefault = (caps: readonly string[]) =>
  [ENGINE_DEFAULT_CAPS, PODMAN_DEFAULT_CAPS, SPEC_DEFAULT_CAPS].some(
    (set) => new Set(caps).size === set.length && set.every((c) => caps.includes(c)),
  );

const PING_GROUPS = 'net.ipv4.ping_group_range';

/**
 * Sysctls whose values are ids, within the user namespace berth adds: the engine wrote them
 * for the host's ids (Docker's ping_group_range "0 2147483647", every group), which the kernel
 * refuses where they are not mapped; the same intent is the namespace's own ids.
 */
function inRange(sysctl: Readonly<Record<string, string>>): Record<string, string> {
  const v = sysctl[PING_GROUPS];
  const m = v === undefined ? null : /^\s*(\d+)\s+(\d+)\s*$/.exec(v);
  if (!m) return { ...sysctl };
  const clamp = (x: string) => String(Math.min(Number(x), ID_COUNT - 1));
  return { ...sysctl, [PING_GROUPS]: `${clamp(m[1] as string)} ${clamp(m[2] as string)}` };
}

/**
 * SPEC as a system container: with ID_BASE (from berth's allocator) a user namespace mapping
 * 0..65535 there when the spec has none, and a cgroup namespace when it has none. Where root's
 * capabilities become berth's, so does the seccomp policy: the engine's profile was made for
 * the engine's set (it refuses mount, unshare and others that systemd needs and berth grants).
 */
export function systemSpec(spec: OciSpec, idBase: number | null): OciSpec {
  const has = (t: string) => spec.linux.namespaces.some((n) => n.type === t);
  const namespaces = [
    ...(has('user') || idBase === null ? [] : [{ type: 'user' as const, path: null }]),
    ...spec.linux.namespaces,
    ...(has('cgroup') ? [] : [{ type: 'cgroup' as const, path: null }]),
  ];
  const map = idBase === null ? [] : [{ containerID: 0, hostID: idBase, size: ID_COUNT }];
  const p = spec.process;
  const berthCaps = p !== null && p.uid === 0 && isEngineDefault(p.capabilities);
  const process = p && {
    ...p,
    capabilities: berthCaps ? BERTH_CAPS : p.capabilities,
    // systemd reads it to know it runs in a container (as in berth's own)
    env: p.env.some((e) => e.startsWith('container=')) ? p.env : [...p.env, 'container=berth'],
  };
  return {
    ...spec,
    process,
    linux: {
      ...spec.linux,
      sysctl: idBase === null ? spec.linux.sysctl : inRange(spec.linux.sysctl),
      namespaces,
      uidMappings: idBase === null ? spec.linux.uidMappings : map,
      gidMappings: idBase === null ? spec.linux.gidMappings : map,
      seccomp: berthCaps ? null : spec.linux.seccomp,
    },
  };
}
