// The context every ops function takes first: paths, logging, and lazily-read host facts.
import type { CgroupLayout } from '../host/cgroups.ts';
import { hostLayout } from '../host/cgroups.ts';
import type { Paths } from '../host/paths.ts';

export interface Ctx {
  paths: Paths;
  /** progress and warnings for humans (stderr); never parsed */
  log: (msg: string) => void;
  layout: () => CgroupLayout;
}

export function makeCtx(paths: Paths, log: (msg: string) => void, layout?: CgroupLayout): Ctx {
  let cached = layout;
  return {
    paths,
    log,
    layout: () => {
      cached ??= hostLayout();
      return cached;
    },
  };
}
