// BINDMOUNT at start: each host path checked as it is now (it must exist, and lie outside
// berth's own trees, whose files are containers' and berth's), and, for an unprivileged
// container, the stage where the helper attaches its idmapped copy for the clone.
import { mkdirSync, realpathSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BindMount, bindOptions } from '../core/bindmount.ts';
import { quote } from '../core/config.ts';
import type { CtConfig } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { errCode } from './fs-util.ts';
import type { Host } from './host.ts';
import { unmountRoot } from './mounts.ts';
import { ownDirs, type Paths } from './paths.ts';

export interface PlannedBind {
  source: string;
  stage: string | null;
  dest: string;
  options: string;
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/** The host path of a bind mount as the kernel will find it, refused where berth keeps its own. */
export function checkBindSource(p: Paths, b: BindMount, patterns: string[], what: string): string {
  let real: string;
  try {
    real = realpathSync(b.source);
  } catch (err) {
    throw new BerthError(
      'BAD_VALUE',
      `${what}: bindmount ${b.source}: ${errCode(err) === 'ENOENT' ? 'no such host path' : String(err)}`,
      {
        hint: 'make the directory on the host first, or remove it: berth set CTID --bindmount_del DST --save',
      },
    );
  }
  const own = [...ownDirs(p, patterns), join(p.prefix, 'etc/berth')];
  const hit = real === '/' ? '/' : own.find((d) => under(real, d) || under(d, real));
  if (hit) {
    throw new BerthError(
      'BAD_VALUE',
      `${what}: bindmount ${b.source}: ${quote(real)} holds or is inside ${hit}, berth's own`,
      {
        hint: "containers' files and berth's state are never shown to a container; bind another directory",
      },
    );
  }
  return real;
}

/** The bind mounts of a start: checked sources and, when unprivileged, empty stages. */
export function planBinds(host: Host, p: Paths, cfg: CtConfig, patterns: string[], helper: string): PlannedBind[] {
  const dir = join(p.run, cfg.id, 'bind');
  return cfg.bindmounts.map((b, i) => {
    const source = checkBindSource(p, b, patterns, `start ${cfg.id}`);
    let stage: string | null = null;
    if (cfg.idBase !== null) {
      stage = join(dir, String(i));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      unmountRoot(host, helper, stage); // a killed start's
    }
    return { source, stage, dest: b.dest, options: bindOptions(b) };
  });
}

/**
 * The bind mounts as a checkpoint names them and a restore binds them: checked sources, no
 * stage made (an unprivileged container's idmapped copies are the CRIU helper's, in its own
 * stage); STAGE only tells the mount plan which kind of bind it is.
 */
export function bindsForCriu(p: Paths, cfg: CtConfig, patterns: string[], what: string): PlannedBind[] {
  return cfg.bindmounts.map((b) => ({
    source: checkBindSource(p, b, patterns, what),
    stage: cfg.idBase === null ? null : '-',
    dest: b.dest,
    options: bindOptions(b),
  }));
}

/** After the start: the helper has detached the stages; their directories go. */
export function removeStages(binds: readonly PlannedBind[]): void {
  for (const b of binds) {
    if (b.stage === null) continue;
    try {
      rmdirSync(b.stage);
    } catch {}
  }
}
