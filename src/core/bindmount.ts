// BINDMOUNT (vzctl's --bindmount_add): host directories or files shown inside a container.
// "SRC:DST[,ro][,noexec]" entries, space-separated; always nosuid and nodev (a host file must
// not become a setuid program or a device node of the container).
import { quote } from './config.ts';
import { BerthError } from './errors.ts';

export interface BindMount {
  /** absolute host path */
  source: string;
  /** absolute path inside the container */
  dest: string;
  ro: boolean;
  noexec: boolean;
}

/** a normalized absolute path: no empty, "." or ".." component, no character the format uses */
const PATH_RE = /^(\/[^/\s:,]+)+$/;
const normal = (p: string) => PATH_RE.test(p) && !p.split('/').some((c) => c === '.' || c === '..');

/** where berth itself mounts inside a container: a bind over them would undo its protections */
const OWN_TREES = ['/proc', '/sys', '/dev'];

export function parseBindmount(raw: string): BindMount {
  const [paths = '', ...opts] = raw.split(',');
  const at = paths.indexOf(':');
  const source = at < 0 ? '' : paths.slice(0, at);
  const dest = at < 0 ? paths : paths.slice(at + 1);
  const hint = 'SRC:DST[,ro][,noexec]: absolute paths without "..", spaces, commas or colons';
  if (!normal(source))
    throw new BerthError('BAD_VALUE', `bindmount ${quote(raw)}: host path ${quote(source)} is not valid`, { hint });
  if (!normal(dest))
    throw new BerthError('BAD_VALUE', `bindmount ${quote(raw)}: container path ${quote(dest)} is not valid`, { hint });
  if (OWN_TREES.some((t) => dest === t || dest.startsWith(`${t}/`))) {
    throw new BerthError(
      'BAD_VALUE',
      `bindmount ${quote(raw)}: ${dest} is under ${dest.split('/').slice(0, 2).join('/')}, which berth mounts itself`,
      { hint },
    );
  }
  const b: BindMount = { source, dest, ro: false, noexec: false };
  for (const o of opts) {
    if (o === 'ro') b.ro = true;
    else if (o === 'rw') b.ro = false;
    else if (o === 'noexec') b.noexec = true;
    else throw new BerthError('BAD_VALUE', `bindmount ${quote(raw)}: unknown option ${quote(o)}`, { hint });
  }
  return b;
}

/** BINDMOUNT's value: one entry per container path (a later one replaces an earlier one). */
export function parseBindmounts(raw: string): BindMount[] {
  const byDest = new Map<string, BindMount>();
  for (const w of raw.split(/\s+/).filter(Boolean)) {
    const b = parseBindmount(w);
    byDest.delete(b.dest);
    byDest.set(b.dest, b);
  }
  return [...byDest.values()];
}

export const formatBindmount = (b: BindMount): string =>
  `${b.source}:${b.dest}${b.ro ? ',ro' : ''}${b.noexec ? ',noexec' : ''}`;

export const formatBindmounts = (list: readonly BindMount[]): string => list.map(formatBindmount).join(' ');

/** The helper's mount options of a bind mount. */
export const bindOptions = (b: BindMount): string => `${b.ro ? 'ro,' : ''}nosuid,nodev${b.noexec ? ',noexec' : ''}`;

/** The bind mounts after --bindmount_add and --bindmount_del (a container path, or all). */
export function bindmountChanges(
  current: readonly BindMount[],
  add: readonly string[],
  del: readonly string[],
): BindMount[] {
  let next = del.includes('all') ? [] : current.filter((b) => !del.includes(b.dest));
  for (const d of del) {
    if (d !== 'all' && !current.some((b) => b.dest === d)) {
      throw new BerthError('BAD_VALUE', `--bindmount_del ${quote(d)}: no bind mount at that container path`);
    }
  }
  for (const raw of add) {
    const b = parseBindmount(raw);
    next = [...next.filter((x) => x.dest !== b.dest), b];
  }
  return next;
}
