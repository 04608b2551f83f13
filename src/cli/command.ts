// The shape of one CLI verb, and the argument parsing every verb shares.
import { type Options, type Parsed, parseArgv } from '../core/argv.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { trace } from '../host/trace.ts';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** whether fd is a terminal; async: node:tty loads net and streams (~5 ms) */
  isTty: (fd: number) => Promise<boolean>;
}

export interface Command {
  summary: string;
  usage: string;
  /** man-page style body for `berth help VERB` */
  help: string;
  /** may run as non-root (read-only, or no host access at all) */
  noRoot?: boolean;
  /**
   * Every option the verb takes, in parseArgs' form (a one-letter key is a flag like exec's -t);
   * test/cli-documented.test.ts checks that its help names each one.
   */
  options?: Options;
  /** long work: a live status line on a terminal (not with --json) */
  progress?: boolean;
  run(ctx: Ctx, args: string[], io: Io): Promise<number>;
}

export type { Options };

/** core/argv.ts's parseArgs for VERB: its errors (BAD_SYNTAX, 20) name the verb and its help. */
export function parse<O extends Options>(verb: string, args: string[], options: O, maxPositionals = 1) {
  const hint = `see berth help ${verb}`;
  let r: Parsed<O>;
  try {
    r = parseArgv(args, options);
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    throw new BerthError(err.code, `${verb}: ${err.message}`, { hint: err.hint ?? hint });
  }
  trace('parsed');
  if (r.positionals.length > maxPositionals) {
    const extra = JSON.stringify(r.positionals[maxPositionals]);
    throw new BerthError('BAD_SYNTAX', `${verb}: unexpected argument ${extra}`, { hint });
  }
  return r;
}

/** --winsize-fd N: an open file descriptor above stdio (berthd passes its websocket's sizes so). */
export function parseFd(text: string): number {
  const fd = Number(text);
  if (!/^\d{1,4}$/.test(text) || fd < 3)
    throw new BerthError(
      'BAD_VALUE',
      `--winsize-fd ${JSON.stringify(text.slice(0, 20))}: not a file descriptor above 2`,
    );
  return fd;
}
