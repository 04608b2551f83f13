// berth-oci update --resources FILE|- ID (the shim's form; runc's single-value flags too: --memory,
// --pids-limit, --cpu-quota, --cpu-period, --cpu-shares, --cpuset-cpus): new limits on a
// created or running container's cgroups, in the order the kernel takes them.
import { readFileSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { ociResourcesOver } from '../core/oci-plan.ts';
import { applyWrites, resourceWrites } from '../host/cgroups.ts';
import { writeOciRecord } from '../host/oci-state.ts';
import { readCallerStdin } from './caller.ts';
import { cgroupDirs, layoutNow, mustRecord, statusNow } from './container.ts';
import { type OciGlobal, parseFlags } from './main.ts';

const FLAGS = [
  'resources',
  'r',
  'memory',
  'memory-swap',
  'pids-limit',
  'cpu-quota',
  'cpu-period',
  'cpu-shares',
  'cpuset-cpus',
];

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('update', args, FLAGS, []);
  if (positionals.length !== 1) throw new BerthError('BAD_SYNTAX', 'update: takes one container id');
  const r = mustRecord(g, positionals[0]);
  if (statusNow(g, r) === 'stopped') throw new BerthError('NOT_RUNNING', 'container not running');
  const one = (k: string) => flags.get(k)?.at(-1);
  const file = one('resources') ?? one('r');
  let res: Record<string, unknown>;
  if (file !== undefined) {
    try {
      res = JSON.parse((file === '-' ? readCallerStdin(g) : readFileSync(file, 'utf8')).slice(0, 1 << 20)) as Record<
        string,
        unknown
      >;
    } catch (err) {
      throw new BerthError('BAD_VALUE', `update: --resources ${file}: ${(err as Error).message.slice(0, 200)}`);
    }
    if (res === null || typeof res !== 'object' || Array.isArray(res))
      throw new BerthError('BAD_VALUE', 'update: --resources must be an object');
  } else {
    const n = (k: string) => (one(k) === undefined ? undefined : Number(one(k)));
    res = {
      memory: { limit: n('memory'), swap: n('memory-swap') },
      pids: { limit: n('pids-limit') },
      cpu: { quota: n('cpu-quota'), period: n('cpu-period'), shares: n('cpu-shares'), cpus: one('cpuset-cpus') },
    };
  }
  // what the document or the flags name changes; the rest stays (as runc applies them)
  const next = ociResourcesOver(r.resources, res);
  const layout = layoutNow();
  applyWrites(cgroupDirs(r, layout), resourceWrites(layout, next, r.id));
  writeOciRecord(g.root, { ...r, resources: next });
  return 0;
}
