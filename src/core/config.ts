// vzctl-style KEY="value" files: a strict parser that keeps comments, blank lines and key order.
import { BerthError } from './errors.ts';

type Line = { kind: 'raw'; text: string } | { kind: 'kv'; key: string; value: string };

export interface ConfigFile {
  readonly lines: Line[];
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LINE_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))\s*(?:#.*)?$/;

export function parseConfig(text: string, source: string): ConfigFile {
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
      throw new BerthError('CONFIG_INVALID', `${source}:${i + 1}: cannot parse ${JSON.stringify(row)}`, {
        hint: 'lines must look like KEY="value"',
      });
    }
    lines.push({ kind: 'kv', key: m[1], value: m[2] ?? m[3] ?? m[4] ?? '' });
  });
  return { lines };
}

export function formatConfig(cfg: ConfigFile): string {
  return `${cfg.lines.map((l) => (l.kind === 'raw' ? l.text : `${l.key}="${l.value}"`)).join('\n')}\n`;
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

/** Returns a copy with KEY set in place (or appended); undefined deletes every assignment of KEY. */
export function setKey(cfg: ConfigFile, key: string, value: string | undefined): ConfigFile {
  if (!KEY_RE.test(key)) throw new BerthError('BAD_VALUE', `invalid config key ${JSON.stringify(key)}`);
  if (value !== undefined && /["\n\\$`]/.test(value)) {
    throw new BerthError('BAD_VALUE', `invalid value for ${key}: ${JSON.stringify(value)}`, {
      hint: 'values cannot contain quotes, backslashes, $, ` or newlines',
    });
  }
  const lines: Line[] = [];
  let done = false;
  for (const l of cfg.lines) {
    if (l.kind === 'kv' && l.key === key) {
      if (value !== undefined && !done) lines.push({ kind: 'kv', key, value });
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
