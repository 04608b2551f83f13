// Running a container's action scripts at their moments (docs/scripts.md): the mount and unmount
// of its root with their scripts around them, and the start and stop scripts inside it.
import { join } from 'node:path';
import {
  describeExit,
  ownScriptNames,
  SCRIPT_TIMEOUT_MS,
  type ScriptAction,
  type ScriptEnd,
  scriptAborts,
  scriptEnv,
  scriptFailed,
  scriptsFor,
} from '../core/action-scripts.ts';
import type { CtConfig } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { openScript, scriptPresent, vetScript } from '../host/action-scripts.ts';
import { closeFd, renamePath } from '../host/files.ts';
import { isMounted, readMountinfo } from '../host/mountinfo.ts';
import { mountRoot, unmountRoot } from '../host/mounts.ts';
import { ctConfigPath } from '../host/paths.ts';
import type { Ctx } from './context.ts';
import { inspect } from './inspect.ts';
import { joinRun } from './join.ts';

/** Whether any script of these actions is there for ID (a stat each; absent is the usual case). */
export function hasScripts(ctx: Ctx, id: CtId, actions: readonly ScriptAction[]): boolean {
  return actions.some((a) => scriptsFor(a, id).some((s) => scriptPresent(join(ctx.paths.ctConfigDir, s.name))));
}

/**
 * Runs the scripts of ACTION for container ID in vzctl's order. One that fails, times out or is
 * refused throws ACTION_SCRIPT for premount, mount and start (the caller undoes its work), and is
 * warned about for the others, which then go on: a stop or unmount always completes.
 */
export async function runScripts(ctx: Ctx, id: CtId, cfg: CtConfig, action: ScriptAction, veRoot = cfg.veRoot) {
  for (const s of scriptsFor(action, id)) {
    const path = join(ctx.paths.ctConfigDir, s.name);
    if (!scriptPresent(path)) continue;
    let failure: BerthError | null;
    try {
      failure = s.inside ? runInside(ctx, id, path, action) : await runOnHost(ctx, id, cfg, path, action, veRoot);
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      failure = err.code === 'ACTION_SCRIPT' ? err : scriptFailed(path, action, err.message);
    }
    if (!failure) continue;
    if (scriptAborts(action)) throw failure;
    ctx.log(`warning: ${failure.message}; going on`);
  }
}

async function runOnHost(
  ctx: Ctx,
  id: CtId,
  cfg: CtConfig,
  path: string,
  action: ScriptAction,
  veRoot: string,
): Promise<BerthError | null> {
  const refused = vetScript(path, false);
  if (refused) return refused;
  const env = scriptEnv(id, { conf: ctConfigPath(ctx.paths, id), veRoot, vePrivate: cfg.vePrivate });
  return failureOf(path, action, await ctx.host.runScript(path, env));
}

/** start and stop: the script's text goes to the container's /bin/sh, run as by `berth exec`. */
function runInside(ctx: Ctx, id: CtId, path: string, action: ScriptAction): BerthError | null {
  const refused = vetScript(path, true);
  if (refused) return refused;
  const opened = openScript(path);
  if ('refused' in opened) return opened.refused;
  try {
    const now = inspect(ctx, id);
    const r = joinRun(ctx, id, now, ['/bin/sh'], {
      pty: false,
      verb: action,
      stdin: opened.fd,
      stdout: 2,
      timeoutMs: SCRIPT_TIMEOUT_MS,
    });
    return failureOf(path, action, { code: r.code, signal: null, timedOut: r.timedOut });
  } finally {
    closeFd(opened.fd);
  }
}

function failureOf(path: string, action: ScriptAction, end: ScriptEnd): BerthError | null {
  const why = describeExit(end);
  return why === null ? null : scriptFailed(path, action, why);
}

/**
 * Mounts the container's root at VE_ROOT with ARGS (core/layout.ts) between its premount and
 * mount scripts; a failing mount script unmounts it again (without the umount scripts, as vzctl).
 */
export async function mountWithScripts(ctx: Ctx, id: CtId, cfg: CtConfig, args: string[]): Promise<void> {
  await runScripts(ctx, id, cfg, 'premount');
  mountRoot(ctx.host, ctx.paths.helper, args);
  try {
    await runScripts(ctx, id, cfg, 'mount');
  } catch (err) {
    unmountRoot(ctx.host, ctx.paths.helper, cfg.veRoot);
    throw err;
  }
}

/** Unmounts VE_ROOT between the umount and postumount scripts, if it is mounted (else nothing runs). */
export async function unmountWithScripts(ctx: Ctx, id: CtId, cfg: CtConfig | null, veRoot: string): Promise<void> {
  if (!isMounted(veRoot, readMountinfo(ctx.host))) return;
  if (cfg) await runScripts(ctx, id, cfg, 'umount', veRoot);
  unmountRoot(ctx.host, ctx.paths.helper, veRoot);
  if (cfg) await runScripts(ctx, id, cfg, 'postumount', veRoot);
}

/**
 * destroy: CTID.<action> become CTID.<action>.destroyed, as vzctl's move_config does: never run
 * for a new container of that CTID, and the admin's work is not lost.
 */
export function retireScripts(ctx: Ctx, id: CtId): void {
  for (const name of presentScripts(ctx, id)) {
    const path = join(ctx.paths.ctConfigDir, name);
    renamePath(path, `${path}.destroyed`);
  }
}

/** The container's own action scripts that are there (CTID.mount, ...), by file name. */
export const presentScripts = (ctx: Ctx, id: CtId): string[] =>
  ownScriptNames(id).filter((name) => scriptPresent(join(ctx.paths.ctConfigDir, name)));
