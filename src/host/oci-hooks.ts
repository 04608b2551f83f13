// OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): each runs on the host as the caller
// wrote it (its path, its argv with its own argv[0], only its env), the container's state as
// JSON on stdin, killed at its timeout.
import type { OciHook } from '../core/oci-spec.ts';
import { childProcess } from './spawn.ts';

/** Runs HOOK with STATE on stdin; null when it succeeded, else why not. */
export function runHook(hook: OciHook, state: string): string | null {
  const r = childProcess().spawnSync(hook.path, hook.args.slice(1), {
    argv0: hook.args[0] ?? hook.path,
    // no env given: the runtime's own (Go's nil, as runc runs hooks)
    env:
      hook.env.length === 0
        ? process.env
        : Object.fromEntries(
            hook.env.flatMap((e) => {
              const at = e.indexOf('=');
              return at > 0 ? [[e.slice(0, at), e.slice(at + 1)]] : [];
            }),
          ),
    input: state,
    stdio: ['pipe', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 10,
    ...(hook.timeout === null ? {} : { timeout: hook.timeout * 1000, killSignal: 'SIGKILL' as const }),
  });
  if (r.error) return `${hook.path}: ${(r.error as Error).message}`;
  if (r.signal)
    return `${hook.path}: killed by ${r.signal}${hook.timeout !== null ? ` (timeout ${hook.timeout} s)` : ''}`;
  if (r.status !== 0)
    return `${hook.path}: exit ${r.status}: ${String(r.stderr ?? '')
      .trim()
      .slice(-500)}`;
  return null;
}
