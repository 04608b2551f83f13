// Managed bridges (berth net create): one KEY="value" file each under /etc/berth/net, and the
// interfaces of this network namespace (from /proc/net/dev, which follows the caller's namespace,
// unlike /sys/class/net, which follows sysfs's mount).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, toRecord } from '../core/config.ts';
import type { Bridge } from '../core/netif.ts';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import type { Paths } from './paths.ts';

const file = (p: Paths, name: string) => join(p.netDir, `${name}.conf`);

export function readBridge(p: Paths, name: string): Bridge | null {
  const text = readIfExists(file(p, name));
  if (text === null) return null;
  const rec = toRecord(parseConfig(text, file(p, name)));
  return { name, addrs: (rec['BRIDGE_ADDRS'] ?? '').split(/\s+/).filter(Boolean) };
}

export function writeBridge(p: Paths, b: Bridge): void {
  writeFileAtomic(
    file(p, b.name),
    `# berth managed bridge: re-created with these addresses when a container needs it\nBRIDGE_ADDRS="${b.addrs.join(' ')}"\n`,
  );
}

export function removeBridgeFile(p: Paths, name: string): void {
  rmSync(file(p, name), { force: true });
}

export function listBridges(p: Paths): Bridge[] {
  let names: string[] = [];
  try {
    names = readdirSync(p.netDir).filter((f) => f.endsWith('.conf'));
  } catch {}
  return names.flatMap((f) => {
    const b = readBridge(p, f.slice(0, -5));
    return b ? [b] : [];
  });
}

/** Interface names in the caller's network namespace. */
export function hostLinks(): string[] {
  return (readIfExists('/proc/net/dev') ?? '')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]?.trim() ?? '')
    .filter(Boolean);
}
