// A served call's caller (docs/oci.md, "The call server"): what a worker of berth-oci's server
// leaves to its client (helper/oci-client.c), which is the caller's own process, and the verbs'
// one way to each, served or not.
import { readFileSync } from 'node:fs';
import type { HelperResult } from '../host/helper.ts';
import { linuxHost } from '../host/host.ts';
import { isTerminal } from '../host/terminal.ts';
import { Declined, type OciGlobal } from './main.ts';

/**
 * What a worker leaves to its client (helper/oci-client.c), which is the caller's process: a
 * container's process must be the caller's descendant (the shim, a subreaper, reaps it and
 * reports its exit) with the caller's stdio, as runc makes it.
 */
export interface CallerSide {
  /**
   * a helper run the client makes as its child: the one that makes a container's process (with
   * its seccomp policy), and the one that runs poststart and poststop hooks (none)
   */
  runHelper(helper: string, args: string[], seccompFd: number | null): HelperResult;
  /** the client's stdin, read to its end */
  readStdin(): string;
  /** whether the client's fd N is a terminal (its isatty) */
  isTerminal(fd: number): boolean;
}

/** A served verb that cannot run in a worker says so, before it changes anything. */
export function declineIf(g: OciGlobal, cond: boolean, why: string): void {
  if (g.caller && cond) throw new Declined(why);
}

/** Whether the caller's fd is a terminal. */
export async function callerTerminal(g: OciGlobal, fd: number): Promise<boolean> {
  return g.caller ? g.caller.isTerminal(fd) : isTerminal(fd);
}

/** A helper run as the caller's child, with its stdio (a container's process, hooks). */
export function runAsCaller(
  g: OciGlobal,
  args: string[],
  o: { seccompFd?: number; relaysSignals?: boolean },
): HelperResult {
  if (g.caller) return g.caller.runHelper(g.helper, args, o.seccompFd ?? null);
  return linuxHost.runHelper(g.helper, args, { stdio: ['inherit', 'inherit', 'inherit'], ...o });
}

/** The caller's stdin, to its end. */
export function readCallerStdin(g: OciGlobal): string {
  return g.caller ? g.caller.readStdin() : readFileSync(0, 'utf8');
}
