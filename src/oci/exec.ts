// berth-oci exec [--process FILE | -e K=V --cwd DIR -u UID[:GID] ID CMD ARGS...] [--detach]
// [--pid-file F] ID: a process in a running container's namespaces and cgroups. Detached (the
// shim's way), it returns once the process runs, which keeps the caller's stdio; else it waits
// and exits with the process's status.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { ociExecArgs } from '../core/oci-plan.ts';
import { type OciProcess, parseProcess, parseProcessText } from '../core/oci-spec.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { procsFiles } from '../host/cgroups.ts';
import { policyFd } from '../host/helper.ts';
import { linuxHost } from '../host/host.ts';
import { ownCapabilities } from '../host/proc.ts';
import { callerTerminal, declineIf, runAsCaller } from './caller.ts';
import { cgroupDirs, mustRecord, statusNow, writePidFile } from './container.ts';
import { type OciGlobal, parseFlags } from './main.ts';

const VALUED = [
  'process',
  'p',
  'pid-file',
  'console-socket',
  'cwd',
  'env',
  'e',
  'user',
  'u',
  'cap',
  'c',
  'preserve-fds',
  'process-label',
  'apparmor',
];
const BOOLEAN = ['detach', 'd', 'tty', 't', 'no-new-privs'];

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('exec', args, VALUED, BOOLEAN, true);
  const one = (...ks: string[]) => ks.map((k) => flags.get(k)?.at(-1)).find((v) => v !== undefined);
  const [id, ...cmd] = positionals;
  const r = mustRecord(g, id);
  if (statusNow(g, r) !== 'running' || r.pid === null) throw new BerthError('NOT_RUNNING', 'container not running');
  if (Number(one('preserve-fds') ?? 0))
    throw new BerthError('BAD_VALUE', 'exec: --preserve-fds is not supported by berth-oci yet');
  const file = one('process', 'p');
  const tty = one('tty', 't') === 'true';
  const proc: OciProcess = file ? parseProcessText(readFileSync(file, 'utf8')) : fromFlags(flags, cmd, r.bundle, tty);
  const detach = one('detach', 'd') === 'true';
  const consoleSocket = one('console-socket') ?? null;
  // a worker of the server has no signals of the caller's to pass on, nor a caller to keep waiting
  declineIf(g, !detach, 'exec waits for its process');
  // detached, the process keeps our stdio: never a terminal it could push input into (TIOCSTI)
  for (const fd of detach && consoleSocket === null ? [0, 1, 2] : []) {
    if (await callerTerminal(g, fd))
      throw new BerthError('BAD_VALUE', `exec: fd ${fd} is a terminal, which the process would keep`);
  }
  // the caller's child with its stdio, as runc's process is (a shim, its subreaper, reaps it)
  const h = runAsCaller(
    g,
    ociExecArgs(proc, {
      pid: r.pid,
      namespaces: r.namespaces,
      cgroupProcs: procsFiles(cgroupDirs(r)),
      availableCaps: ownCapabilities(linuxHost),
      detach,
      consoleSocket: consoleSocket === null ? null : resolve(consoleSocket),
    }),
    {
      // the container's policy (a record from before it was kept: berth's own, which it got)
      seccompFd: policyFd(g.berth.run, r.seccomp ?? seccompPolicy(process.arch, { sysinfo: false })),
      relaysSignals: !detach,
    },
  );
  if (h.error) throw new BerthError('CT_CREATE', `exec ${r.id}: ${h.error.message ?? h.error.error}`);
  if (detach && (h.exitCode !== 0 || h.pid === null)) {
    throw new BerthError('CT_CREATE', `exec ${r.id}: the helper exited with ${h.exitCode} and no process`);
  }
  const pidFile = one('pid-file');
  if (pidFile && h.pid !== null) {
    writePidFile(pidFile, h.pid);
  }
  return detach ? 0 : h.exitCode;
}

/** runc's flags for a process (without --process): the config's process, changed by them. */
function fromFlags(flags: Map<string, string[]>, cmd: string[], bundle: string, tty: boolean): OciProcess {
  if (cmd.length === 0) throw new BerthError('BAD_SYNTAX', 'exec: ID and a command (or --process FILE)');
  let base: Record<string, unknown> = {};
  try {
    base =
      (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process?: Record<string, unknown> })
        .process ?? {};
  } catch {}
  const user = flags.get('user')?.at(-1) ?? flags.get('u')?.at(-1);
  const [uid, gid] = (user ?? '0:0').split(':'); // runc: no group given is group 0
  const env = [
    ...((base['env'] as string[] | undefined) ?? []),
    ...(flags.get('env') ?? []),
    ...(flags.get('e') ?? []),
  ];
  return parseProcess({
    ...base,
    terminal: tty,
    args: cmd,
    env,
    cwd: flags.get('cwd')?.at(-1) ?? base['cwd'] ?? '/',
    user: { uid: Number(uid), gid: Number(gid ?? 0) },
    noNewPrivileges: flags.has('no-new-privs') || base['noNewPrivileges'] === true,
  });
}
