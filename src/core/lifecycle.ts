// Container statuses, as `status` and `list` report them (vzctl wording).
import type { CarriedSession } from './criu.ts';

export type RunStatus = 'running' | 'stopped' | 'suspended';

/** The runtime state file: written atomically, it names init by pid AND start time. */
export interface RuntimeState {
  status: 'starting' | 'running';
  pid: number | null;
  /** /proc/<pid>/stat field 22: a recycled pid never matches */
  startTime: number | null;
  startedAt: string;
  stopSignal: number;
  /** the routed addresses the running container has (live --ipadd/--ipdel change them) */
  ips?: string[] | undefined;
  /** the elements of berth's nftables sets and maps this container holds (NAT, port forwards) */
  nft?: string[] | undefined;
  /** its keeper (helper/keeper.c): pid, and whether it answers sysinfo (exec's filters then ask it) */
  keeper?: { pid: number; startTime: number | null; sysinfo: boolean } | undefined;
  /**
   * false: its seccomp filter refuses new UTS and IPC namespaces (no FEATURES nesting at start,
   * src/core/seccomp.ts); exec gives its commands the same filter. Absent (older states): allowed.
   */
  nesting?: boolean | undefined;
  /** where its root is mounted: a stop finds it even when the config has become unreadable */
  veRoot?: string | undefined;
  /**
   * enter sessions a restore carried over, which its keeper holds (number, the pty's CRIU key):
   * a later chkpnt carries them again
   */
  sessions?: CarriedSession[] | undefined;
}

export type InitKind = 'systemd' | 'busybox' | 'sysv';

/** How each init wants to be asked to power off (signal numbers on Linux). */
export function stopSignalFor(kind: InitKind): number {
  switch (kind) {
    case 'systemd':
      return 38; // SIGRTMIN+4: systemd's "poweroff"
    case 'busybox':
      return 12; // SIGUSR2: busybox init's "poweroff"
    case 'sysv':
      return 15; // SIGTERM, then the kill after the timeout
  }
}

export function initKindFromLink(target: string | null): InitKind {
  if (target?.includes('systemd')) return 'systemd';
  if (target?.includes('busybox')) return 'busybox';
  return 'sysv';
}
