// Sizes as vzctl writes them: bytes with K/M/G/T suffixes, or a page count (P suffix or bare in *PAGES).
import { quote } from './config.ts';
import { BerthError } from './errors.ts';

export const PAGE_SIZE = 4096;
const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses "64M", "1.5G", "1048576"; 'unlimited' gives null. bare numbers are bytes unless pages. */
export function parseSize(raw: string, what: string, bareIsPages = false): number | null {
  const s = raw.trim();
  if (s === 'unlimited' || s === '-1') return null;
  const m = /^(\d+(?:\.\d+)?)([bBkKmMgGtTpP]?)$/.exec(s);
  if (!m) {
    throw new BerthError('BAD_VALUE', `invalid size for ${what}: ${quote(raw)}`, {
      hint: 'use a number with an optional K, M, G or T suffix, e.g. 512M',
    });
  }
  const num = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const mult = unit === 'P' || (unit === '' && bareIsPages) ? PAGE_SIZE : (UNITS[unit] ?? 1);
  const bytes = Math.round(num * mult);
  if (!Number.isSafeInteger(bytes)) throw new BerthError('BAD_VALUE', `size too large for ${what}: ${quote(raw)}`);
  return bytes;
}

/** Formats bytes with the largest exact binary suffix: 67108864 -> "64M"; parseSize reads it back. */
export function formatSize(bytes: number | null): string {
  if (bytes === null) return 'unlimited';
  for (const u of ['T', 'G', 'M', 'K'] as const) {
    const mult = UNITS[u] ?? 1;
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${u}`;
  }
  return String(bytes);
}

/** A byte count for people reading a status line or a summary: 1.5 MB (binary megabytes). */
export const formatMB = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

/** A duration as vzctl-style tools write one: 90, 90s, 15m, 12h (no unit: seconds); in ms. */
export function parseDuration(what: string, raw: string): number {
  const m = /^(\d{1,7})([smh]?)$/.exec(raw.trim());
  const n = Number(m?.[1]);
  if (!m || n <= 0) {
    throw new BerthError('BAD_VALUE', `${what}: duration ${JSON.stringify(raw.slice(0, 40))}: a number of s, m or h`, {
      hint: 'for example 15m',
    });
  }
  return n * ({ '': 1, s: 1, m: 60, h: 3600 }[m[2] ?? ''] ?? 1) * 1000;
}
