// Id ranges of unprivileged containers: each has its own 65536 host uids and gids, starting at
// ID_BASE (container id 0 = host id ID_BASE), recorded in its config. A config without ID_BASE
// is a privileged container (root inside is root on the host): the containers made before
// berth had user namespaces, and those created with --privileged yes.
import { BerthError } from './errors.ts';

/** ids per container: a whole 16-bit range, as distributions expect (nobody = 65534) */
export const ID_COUNT = 65536;
/** the first id berth hands out; ranges are aligned to ID_COUNT from here */
export const ID_POOL_START = 16 * ID_COUNT; // 1048576, above any normal user or subuid default
/** the last range ends at 2^32 - 1 (uid 4294967295 is the kernel's "invalid") */
export const ID_POOL_END = 2 ** 32 - ID_COUNT;

export interface IdRange {
  start: number;
  count: number;
}

/** ID_BASE from a container's config: null for a privileged container. */
export function parseIdBase(raw: string | undefined, what: string): number | null {
  if (raw === undefined || raw === '') return null;
  const n = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= ID_POOL_END)) {
    throw new BerthError('CONFIG_INVALID', `${what}: ID_BASE=${JSON.stringify(raw)}: not an id range start`, {
      hint: `a host uid from 1 to ${ID_POOL_END}; remove the line to make the container privileged`,
    });
  }
  return n;
}

const overlaps = (a: IdRange, b: IdRange) => a.start < b.start + b.count && b.start < a.start + a.count;

/**
 * The lowest free aligned range: not another container's, and not one that /etc/subuid or
 * /etc/subgid gives to a user (`reserved`), so rootless tools on the host never share ids with
 * a container.
 */
export function allocateIdBase(taken: readonly number[], reserved: readonly IdRange[]): number {
  // one sweep over the ranges by start: a host with hundreds of containers allocates in
  // microseconds (trying each start against every range took milliseconds)
  const busy = [...taken.map((start) => ({ start, count: ID_COUNT })), ...reserved].sort((a, b) => a.start - b.start);
  let start = ID_POOL_START;
  for (const b of busy) {
    if (start > ID_POOL_END || b.start >= start + ID_COUNT) break;
    // every aligned start before the end of what it hit overlaps it too: jump past (a subuid
    // range of a billion ids would be 15,000 steps one by one)
    if (overlaps({ start, count: ID_COUNT }, b))
      start = ID_POOL_START + Math.ceil((b.start + b.count - ID_POOL_START) / ID_COUNT) * ID_COUNT;
  }
  if (start <= ID_POOL_END) return start;
  throw new BerthError('SYSTEM', 'no free id range for an unprivileged container', {
    hint: 'destroy unused containers, or create this one with --privileged yes',
  });
}

/**
 * Why BASE cannot be kept for a container here (a migration keeps the range its checkpoint's
 * user namespace map names): null when it is free. TAKEN: other containers' bases.
 */
export function idBaseRefusal(base: number, taken: readonly number[], reserved: readonly IdRange[]): string | null {
  const want = { start: base, count: ID_COUNT };
  if (!(base >= 1 && base <= ID_POOL_END)) return `${base} is not a host uid from 1 to ${ID_POOL_END}`;
  if (taken.some((t) => overlaps(want, { start: t, count: ID_COUNT })))
    return `ids ${base}-${base + ID_COUNT - 1} overlap another container's range`;
  const sub = reserved.find((r) => overlaps(want, r));
  if (sub) return `ids ${base}-${base + ID_COUNT - 1} overlap /etc/subuid or /etc/subgid (${sub.start}+${sub.count})`;
  return null;
}

/** The ranges of /etc/subuid or /etc/subgid ("user:start:count" lines). */
export function parseSubIds(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length !== 3 || !/^\d+$/.test(f[1] ?? '') || !/^\d+$/.test(f[2] ?? '')) continue;
    out.push({ start: Number(f[1]), count: Number(f[2]) });
  }
  return out;
}

/** --privileged yes|no at create, PRIVILEGED in berth.conf. */
export function parsePrivileged(raw: string, what = 'privileged'): boolean {
  if (raw === 'yes') return true;
  if (raw === 'no') return false;
  throw new BerthError('BAD_VALUE', `invalid value for ${what}: ${JSON.stringify(raw)}`, {
    hint: 'yes (root inside is root on the host) or no (the default: a user namespace)',
  });
}
