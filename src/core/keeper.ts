// The keeper of a running container (helper/keeper.c): its console log's bound and whether it
// answers sysinfo(2) from the container's cgroups. Both come from berth.conf.
import { BerthError } from './errors.ts';
import { parseSize } from './size.ts';

/** CONSOLE_LOG_SIZE: what a container's console log and its older half may hold together. */
export const DEFAULT_CONSOLE_LOG_SIZE = 2 * 1024 * 1024;
const MIN_CONSOLE_LOG_SIZE = 16 * 1024;
const MAX_CONSOLE_LOG_SIZE = 1024 * 1024 * 1024;

export function parseConsoleLogSize(raw: string | undefined, where: string): number {
  if (raw === undefined || raw === '') return DEFAULT_CONSOLE_LOG_SIZE;
  const n = parseSize(raw, `CONSOLE_LOG_SIZE in ${where}`);
  if (n === null || n < MIN_CONSOLE_LOG_SIZE || n > MAX_CONSOLE_LOG_SIZE) {
    throw new BerthError('BAD_VALUE', `invalid CONSOLE_LOG_SIZE in ${where}: ${JSON.stringify(raw.slice(0, 40))}`, {
      hint: 'a size from 16K to 1G, e.g. 2M',
    });
  }
  return n;
}

/** SYSINFO: yes (the default: the container's figures) or no (the host's, as the kernel says). */
export function parseSysinfo(raw: string | undefined, where: string): boolean {
  if (raw === undefined || raw === '' || raw === 'yes') return true;
  if (raw === 'no') return false;
  throw new BerthError('BAD_VALUE', `invalid SYSINFO in ${where}: ${JSON.stringify(raw.slice(0, 40))}`, {
    hint: 'yes or no',
  });
}

/** Where the keeper finds the container's limits and tasks (one hierarchy on v2, two on v1). */
export interface SysinfoSource {
  v2: boolean;
  memDir: string;
  pidsDir: string;
}

export interface KeeperPlan {
  consoleLog: string;
  consoleLogSize: number;
  /** the unix socket on which `berth exec` hands the keeper its seccomp listener */
  socket: string;
  sysinfo: SysinfoSource | null;
}

export function keeperArgs(k: KeeperPlan): string[] {
  return [
    '--keeper',
    k.consoleLog,
    String(k.consoleLogSize),
    k.socket,
    ...(k.sysinfo ? ['--sysinfo', k.sysinfo.v2 ? 'v2' : 'v1', k.sysinfo.memDir, k.sysinfo.pidsDir] : []),
  ];
}
