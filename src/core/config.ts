// vzctl-style KEY="value" files: a strict parser that keeps every line it does not change as it was.
import { BerthError } from './errors.ts';

/** A kv line keeps its text while unchanged, so a rewrite changes only the keys it sets. */
type Line = { kind: 'raw'; text: string } | { kind: 'kv'; key: string; value: string; text?: string };

export interface ConfigFile {
  readonly lines: Line[];
}

/** A config is a few KiB; anything near this is not one (and is not read into messages). */
export const MAX_CONFIG_BYTES = 1 << 20;

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LINE_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))\s*(?:#.*)?$/;
// C0 controls but tab, DEL, and C1 controls: nothing a config value holds, and terminal escapes
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
// what a message must not carry raw: every control, and the bidirectional overrides
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const UNPRINTABLE_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A value for a message: quoted, control characters escaped, cut after `max` characters. */
export function quote(value: string, max = 64): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  const q = JSON.stringify(cut).replace(UNPRINTABLE_RE, escapeChar);
  return value.length > max ? `${q}... (${value.length} characters)` : q;
}

/** A whole message made safe to print: controls escaped, at most `max` characters. */
export function clip(text: string, max = 400): string {
  const safe = text.replace(UNPRINTABLE_RE, escapeChar);
  return safe.length > max ? `${safe.slice(0, max)}... (${safe.length} characters)` : safe;
}

export function parseConfig(text: string, source: string): ConfigFile {
  if (text.length > MAX_CONFIG_BYTES) {
    throw new BerthError('CONFIG_INVALID', `${source}: ${text.length} bytes, not a config file`, {
      hint: `a config file is KEY="value" lines, at most ${MAX_CONFIG_BYTES} bytes`,
    });
  }
  const lines: Line[] = [];
  const rows = text.split('\n');
  if (rows.at(-1) === '') rows.pop();
  rows.forEach((row, i) => {
    if (/^\s*(#.*)?$/.test(row)) {
      lines.push({ kind: 'raw', text: row });
      return;
    }
    const m = LINE_RE.exec(row);
    if (!m?.[1]) {
      throw new BerthError('CONFIG_INVALID', `${source}:${i + 1}: cannot parse ${quote(row)}`, {
        hint: 'lines must look like KEY="value"',
      });
    }
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    if (CONTROL_RE.test(value)) {
      throw new BerthError('CONFIG_INVALID', `${source}:${i + 1}: ${m[1]}: control character in ${quote(value)}`, {
        hint: 'values are printable text',
      });
    }
    lines.push({ kind: 'kv', key: m[1], value, text: row });
  });
  return { lines };
}

/**
 * The keys of a file that may not parse as a whole: the lines that do (last one wins). Only for
 * reporting on, or finding the leftovers of, a broken config; never to run a container from.
 */
export function looseRecord(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of text.slice(0, MAX_CONFIG_BYTES).split('\n')) {
    const m = LINE_RE.exec(row);
    const value = m?.[2] ?? m?.[3] ?? m?.[4] ?? '';
    if (m?.[1] && !CONTROL_RE.test(value)) out[m[1]] = value;
  }
  return out;
}

/**
 * looseRecord(text)[key], reading only the lines that name KEY: a create reads the ID_BASE of
 * every container, and parsing each whole file made creates slower the more containers a host had.
 */
export function looseValue(text: string, key: string): string | undefined {
  const body = text.slice(0, MAX_CONFIG_BYTES);
  let out: string | undefined;
  for (let at = body.indexOf(`${key}=`); at !== -1; at = body.indexOf(`${key}=`, at + 1)) {
    const end = body.indexOf('\n', at);
    const m = LINE_RE.exec(body.slice(body.lastIndexOf('\n', at) + 1, end === -1 ? undefined : end));
    const value = m?.[2] ?? m?.[3] ?? m?.[4] ?? '';
    if (m?.[1] === key && !CONTROL_RE.test(value)) out = value;
  }
  return out;
}

/** Unchanged lines come out byte for byte as they were read; a key set since is KEY="value". */
export function formatConfig(cfg: ConfigFile): string {
  if (cfg.lines.length === 0) return '';
  return `${cfg.lines.map((l) => (l.kind === 'raw' ? l.text : (l.text ?? `${l.key}="${l.value}"`))).join('\n')}\n`;
}

/** The line number (1-based) of KEY's last assignment, which is the one that counts; 0 if none. */
export function lineOf(cfg: ConfigFile, key: string): number {
  let at = 0;
  cfg.lines.forEach((l, i) => {
    if (l.kind === 'kv' && l.key === key) at = i + 1;
  });
  return at;
}

/** The last assignment wins, as when a shell sources the file. */
export function getKey(cfg: ConfigFile, key: string): string | undefined {
  let v: string | undefined;
  for (const l of cfg.lines) if (l.kind === 'kv' && l.key === key) v = l.value;
  return v;
}

export function toRecord(cfg: ConfigFile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of cfg.lines) if (l.kind === 'kv') out[l.key] = l.value;
  return out;
}

/** What berth writes between double quotes: no quote, backslash, $, ` or control character. */
export function checkValue(key: string, value: string): string {
  if (/["\\$`]/.test(value) || CONTROL_RE.test(value)) {
    throw new BerthError('BAD_VALUE', `invalid value for ${key}: ${quote(value)}`, {
      hint: 'values cannot contain quotes, backslashes, $, `, newlines or other control characters',
    });
  }
  return value;
}

/** Returns a copy with KEY set in place (or appended); undefined deletes every assignment of KEY. */
export function setKey(cfg: ConfigFile, key: string, value: string | undefined): ConfigFile {
  if (!KEY_RE.test(key)) throw new BerthError('BAD_VALUE', `invalid config key ${quote(key)}`);
  if (value !== undefined) checkValue(key, value);
  const lines: Line[] = [];
  let done = false;
  for (const l of cfg.lines) {
    if (l.kind === 'kv' && l.key === key) {
      if (value !== undefined && !done) lines.push(l.value === value ? l : { kind: 'kv', key, value });
      done = true;
    } else {
      lines.push(l);
    }
  }
  if (!done && value !== undefined) lines.push({ kind: 'kv', key, value });
  return { lines };
}

export function setKeys(cfg: ConfigFile, values: Record<string, string | undefined>): ConfigFile {
  let out = cfg;
  for (const [k, v] of Object.entries(values)) out = setKey(out, k, v);
  return out;
}
