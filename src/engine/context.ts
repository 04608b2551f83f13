// The context every ops function takes first: paths, logging, the host (the kernel and its
// processes, host/host.ts: a fake in unit tests), and lazily-read host facts.
import type { CtId } from '../core/ctid.ts';
import type { CgroupLayout } from '../host/cgroups.ts';
import { detectLayout } from '../host/cgroups.ts';
import type { HelperOptions, HelperResult } from '../host/helper.ts';
import { type Host, linuxHost } from '../host/host.ts';
import { readMountinfo } from '../host/mountinfo.ts';
import type { Paths } from '../host/paths.ts';
import type { ProgressLine } from '../host/progress.ts';
import type { WatchedReads } from '../host/watched.ts';

export interface Ctx {
  paths: Paths;
  /** progress and warnings for humans (stderr); never parsed */
  log: (msg: string) => void;
  /** processes, /proc, signals: everything the verbs do to Linux outside the files under paths */
  host: Host;
  layout: () => CgroupLayout;
  /**
   * /proc/self/mountinfo as first read by this command (the cgroup layout comes from it too):
   * for the read-only verbs, which report one moment; a verb that mounts reads it afresh.
   */
  mountinfo: () => string;
  /** a live status line, only on a terminal without --json (host/progress.ts) */
  progress?: ProgressLine;
  /** berthd's request this work is for: lock records name it (two requests of one daemon apart) */
  request?: string;
  /**
   * Other work shares this process (berthd): helper runs must not block its event loop. A CLI
   * command has nothing else to do and takes the synchronous spawn, which starts faster.
   */
  concurrent?: boolean;
  /** this command is the migration of that container (berth migrate): its journal does not stop it */
  migrating?: CtId;
  /** berthd's reads: values of files that inotify watches (host/watched.ts); none in the CLI */
  memo?: WatchedReads;
}

export function makeCtx(paths: Paths, log: (msg: string) => void, layout?: CgroupLayout, host: Host = linuxHost): Ctx {
  let cached = layout;
  let text: string | undefined;
  const mountinfo = () => {
    text ??= readMountinfo(host);
    return text;
  };
  return {
    paths,
    log,
    host,
    layout: () => {
      cached ??= detectLayout(mountinfo());
      return cached;
    },
    mountinfo,
  };
}

/** Runs the helper to its end: without blocking where other work shares the process (berthd). */
export async function helperRun(ctx: Ctx, args: string[], opts: HelperOptions): Promise<HelperResult> {
  if (!ctx.concurrent) return ctx.host.runHelper(ctx.paths.helper, args, opts);
  const { stdio, seccompFd } = opts;
  return ctx.host.runHelperAsync(ctx.paths.helper, args, { stdio, ...(seccompFd === undefined ? {} : { seccompFd }) });
}

/** LOAD's value, from berthd's memo while FILES have not changed (only files that change by a write). */
export function remembered<T>(ctx: Ctx, key: string, files: readonly string[], load: () => T): T {
  return ctx.memo ? ctx.memo.get(key, files, load) : load();
}
