// The context every ops function takes first: paths, logging, and lazily-read host facts.
import type { CgroupLayout } from '../host/cgroups.ts';
import { hostLayout } from '../host/cgroups.ts';
import { readMountinfo } from '../host/mountinfo.ts';
import type { Paths } from '../host/paths.ts';
import type { ProgressLine } from '../host/progress.ts';

export interface Ctx {
  paths: Paths;
  /** progress and warnings for humans (stderr); never parsed */
  log: (msg: string) => void;
  layout: () => CgroupLayout;
  /**
   * /proc/self/mountinfo as first read by this command (the cgroup layout comes from it too):
   * for the read-only verbs, which report one moment; a verb that mounts reads it afresh.
   */
  mountinfo: () => string;
  /** a live status line, only on a terminal without --json (host/progress.ts) */
  progress?: ProgressLine;
}

export function makeCtx(paths: Paths, log: (msg: string) => void, layout?: CgroupLayout): Ctx {
  let cached = layout;
  let text: string | undefined;
  const mountinfo = () => {
    text ??= readMountinfo();
    return text;
  };
  return {
    paths,
    log,
    layout: () => {
      cached ??= hostLayout(mountinfo());
      return cached;
    },
    mountinfo,
  };
}
