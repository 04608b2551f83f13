// linux.sysctl: only the kernel's namespaced settings, and only of a namespace that is the
// container's (made for it, or a pod's joined by path); any other key would change the host.
import { BerthError } from './errors.ts';
import type { MountOp } from './mounts.ts';

/** the namespace a key belongs to, by its /proc/sys path (runc's list) */
function namespaceOf(path: string): string | null {
  if (path.startsWith('net/')) return 'net';
  if (/^kernel\/(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)$/.test(path)) return 'ipc';
  if (path.startsWith('fs/mqueue/')) return 'ipc';
  if (path === 'kernel/hostname' || path === 'kernel/domainname') return 'uts';
  return null;
}

export interface SysctlPlan {
  /** written by the container's own process through its /proc (namespaces made for it) */
  ops: MountOp[];
  /** written by the helper's parent from inside a namespace joined by path: [namespace, path, value] */
  joined: [string, string, string][];
}

/**
 * Each key as a path under /proc/sys ("net.ipv4.ip_forward", or "net/ipv4/conf/eth0.1/rp_filter"
 * where a name has a dot), checked and given to whoever may write it: the container's root in
 * a namespace of its own (and its user namespace's), the host's root in a pod's joined one.
 */
export function ociSysctls(
  sysctl: Readonly<Record<string, string>>,
  ns: { make: readonly string[]; join: readonly string[]; procMounted: boolean },
): SysctlPlan {
  const plan: SysctlPlan = { ops: [], joined: [] };
  for (const [key, value] of Object.entries(sysctl)) {
    const bad = (why: string, hint?: string) =>
      new BerthError('BAD_VALUE', `config.json: linux.sysctl ${JSON.stringify(key.slice(0, 100))}: ${why}`, {
        ...(hint && { hint }),
      });
    const path = key.includes('/') ? key : key.replaceAll('.', '/');
    if (
      key.length > 256 ||
      !/^[A-Za-z0-9_][A-Za-z0-9_.:@+-]*(\/[A-Za-z0-9_.:@+-]+)*$/.test(path) ||
      path.split('/').some((c) => c === '.' || c === '..')
    )
      throw bad('not a sysctl name');
    if (value.length > 4096 || value.includes('\0')) throw bad('value longer than 4096 bytes or with a NUL');
    const type = namespaceOf(path);
    if (type === null)
      throw bad(
        'not a setting of a namespace: it would change the host',
        'only net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, kernel.hostname and kernel.domainname',
      );
    if (ns.join.includes(type)) plan.joined.push([type, path, value]);
    else if (!ns.make.includes(type))
      throw bad(`the container shares the host's ${type} namespace: the setting would be the host's`);
    else if (!ns.procMounted) throw bad('needs a proc mount at /proc, through which the container writes it');
    else plan.ops.push({ op: 'write', dest: `/proc/sys/${path}`, content: value });
  }
  return plan;
}
