// berth console: the detach key and the helper's attach argv (helper/console.c executes them).
import { BerthError } from './errors.ts';
import { STATUS_FD, WINSIZE_FD } from './helper-args.ts';

/** Esc, then '.', detaches: vzctl console's keys. */
export const DEFAULT_ESCAPE = 0x1b;

/**
 * --escape: "^X" (a control key, "^[" is Esc), one printable character, or "none" (nothing
 * detaches; for pipes carrying any byte). Returns the byte, or null for none.
 */
export function parseEscape(raw: string): number | null {
  if (raw === 'none') return null;
  const ctrl = /^\^([@-_a-z?])$/.exec(raw);
  if (ctrl) {
    const c = (ctrl[1] as string).toUpperCase().charCodeAt(0);
    return c === 0x3f ? 0x7f : c - 0x40;
  }
  if (/^[!-~]$/.test(raw) && raw !== '.') return raw.charCodeAt(0);
  throw new BerthError('BAD_VALUE', `invalid --escape ${JSON.stringify(raw.slice(0, 20))}`, {
    hint: 'a control key as ^X (^[ is Esc, ^a is Ctrl-A), one character other than ".", or none',
  });
}

/** How the admin types it: "Esc", "^A", "~". */
export function escapeName(byte: number): string {
  if (byte === 0x1b) return 'Esc';
  if (byte === 0x7f) return '^?';
  if (byte < 0x20) return `^${String.fromCharCode(byte + 0x40)}`;
  return String.fromCharCode(byte);
}

/** The helper's attach mode: SOCK is the keeper's, BANNER goes to stderr once attached. */
export function attachArgs(sock: string, key: number | null, banner: string, winsize = false, session = 0): string[] {
  return [
    '--attach',
    sock,
    String(key ?? -1),
    banner,
    ...(session > 0 ? ['--attach-session', String(session)] : []),
    ...(winsize ? ['--winsize-fd', String(WINSIZE_FD)] : []),
    '--status-fd',
    String(STATUS_FD),
  ];
}
