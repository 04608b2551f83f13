// Host boot and shutdown order (vzctl's ONBOOT and BOOTORDER): at boot, containers with
// ONBOOT="yes" start, the highest BOOTORDER first and those without one last; at shutdown every
// running container stops in the reverse order, one BOOTORDER group at a time (a group stops
// in parallel: a clean shutdown takes seconds each).
import type { CtId } from './ctid.ts';
import { BerthError } from './errors.ts';

export interface BootEntry {
  id: CtId;
  onboot: boolean;
  /** BOOTORDER, null when unset */
  bootorder: number | null;
}

export function parseBootorder(raw: string): number {
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new BerthError('BAD_VALUE', `invalid value for bootorder: ${JSON.stringify(raw)}`, {
      hint: 'a whole number; higher starts earlier at boot and stops later at shutdown',
    });
  }
  return Number(raw);
}

/** Highest BOOTORDER first; unset last; ties keep their (CTID) order. */
function byOrder(a: BootEntry, b: BootEntry): number {
  return (b.bootorder ?? -1) - (a.bootorder ?? -1);
}

export function bootSequence(cts: readonly BootEntry[]): CtId[] {
  return cts
    .filter((c) => c.onboot)
    .sort(byOrder)
    .map((c) => c.id);
}

/** Groups to stop one after another, each stopped in parallel: the reverse of the boot order. */
export function shutdownGroups(running: readonly BootEntry[]): CtId[][] {
  const groups = new Map<number, CtId[]>();
  for (const c of [...running].sort(byOrder).reverse()) {
    const k = c.bootorder ?? -1;
    groups.set(k, [...(groups.get(k) ?? []), c.id]);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, ids]) => ids);
}
