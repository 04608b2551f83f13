// FEATURES (vzctl's --features NAME:on|off): the knobs that make sense on a stock kernel.
import type { DevNode } from './devices.ts';
import { BerthError } from './errors.ts';

export const FEATURES = ['fuse', 'tun', 'nesting'] as const;
export type Feature = (typeof FEATURES)[number];

/** One FEATURES entry; the list keeps the last word for each name. */
export interface FeatureSetting {
  name: Feature;
  on: boolean;
}

/** vzctl's other names, and why berth has no switch for them. */
const REFUSED: Record<string, string> = {
  sysfs: 'always on: every container has its own read-only /sys',
  bridge: 'nothing to switch: a container makes bridges in its own network namespace where the host kernel has them',
  ipip: 'nothing to switch: a container makes ipip tunnels in its own network namespace where the host kernel has them',
  sit: 'nothing to switch: a container makes sit tunnels in its own network namespace where the host kernel has them',
  ipgre: 'nothing to switch: a container makes GRE tunnels in its own network namespace where the host kernel has them',
  ppp: "not available: a stock kernel's ppp is not usable from a user namespace",
  nfs: 'not available: a stock kernel does not let a user namespace mount nfs',
  nfsd: 'not available: the kernel NFS server cannot be run from a container',
};

/** "fuse:on tun:on nesting:off" (vzctl's FEATURES; commas also separate). */
export function parseFeatures(raw: string): FeatureSetting[] {
  const out: FeatureSetting[] = [];
  for (const word of raw.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([a-z]+):(on|off)$/.exec(word.toLowerCase());
    const name = m?.[1] ?? '';
    // an old vzctl config's nfs:off (or ppp:off...) asks for what berth gives: nothing to refuse
    if (name in REFUSED && name !== 'sysfs' && m?.[2] === 'off') continue;
    if (name in REFUSED) {
      throw new BerthError('BAD_VALUE', `feature ${name}: ${REFUSED[name]}`, {
        hint: `berth's features are ${FEATURES.join(', ')} (docs/security.md)`,
      });
    }
    if (!m || !(FEATURES as readonly string[]).includes(name)) {
      throw new BerthError('BAD_VALUE', `invalid feature ${JSON.stringify(word)}`, {
        hint: `NAME:on|off with NAME one of ${FEATURES.join(', ')}`,
      });
    }
    const at = out.findIndex((f) => f.name === name);
    if (at >= 0) out.splice(at, 1);
    out.push({ name: name as Feature, on: m[2] === 'on' });
  }
  return out;
}

/** Only what is on is kept: off is the default, as in vzctl's saved lists. */
export const formatFeatures = (list: readonly FeatureSetting[]) =>
  list
    .filter((f) => f.on)
    .map((f) => `${f.name}:on`)
    .join(' ');

export const featureOn = (list: readonly FeatureSetting[], name: Feature) => list.some((f) => f.name === name && f.on);

/** The device nodes fuse and tun bring (the same path as --devnodes); a DEVNODES entry of the same node wins. */
export function featureDevnodes(list: readonly FeatureSetting[], devnodes: readonly DevNode[]): DevNode[] {
  const wanted: DevNode[] = [
    ...(featureOn(list, 'fuse') ? [{ name: 'fuse', perm: 'rw' } as const] : []),
    ...(featureOn(list, 'tun') ? [{ name: 'net/tun', perm: 'rw' } as const] : []),
  ];
  return [...wanted.filter((w) => !devnodes.some((d) => d.name === w.name)), ...devnodes];
}
