// A container's machine-id (machine-id(5)): templates carry none, and berth writes a fresh one
// at the first start of each new machine (create, clone, restore under a new CTID).
import type { ContainerFile } from './mounts.ts';

/**
 * Set in a new container's config; its next start writes a fresh machine-id and drops the key.
 * An admin may set it by hand to give an existing container a new id.
 */
export const RESET_MACHINE_ID = 'RESET_MACHINE_ID';

/** 16 random bytes as systemd writes an id: 32 lowercase hex digits and a newline, UUID v4 bits. */
export function machineId(random: Uint8Array): string {
  if (random.length !== 16) throw new RangeError('a machine-id takes 16 random bytes');
  const b = Uint8Array.from(random);
  // systemd's sd_id128_randomize marks its ids as version 4, variant 1 UUIDs: so do we
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return `${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}\n`;
}

/**
 * The files a fresh id goes into. With systemd, also D-Bus's copy: an older template's regular
 * file there would keep dbus-daemon on the template's id (a symlink to /etc/machine-id, what
 * templates carry now, is written through inside the root).
 */
export function machineIdFiles(random: Uint8Array, systemd: boolean): ContainerFile[] {
  const content = machineId(random);
  return [{ dest: '/etc/machine-id', content }, ...(systemd ? [{ dest: '/var/lib/dbus/machine-id', content }] : [])];
}

/** Where a root filesystem keeps its id: systemd's file and D-Bus's older one. */
export const ETC_MACHINE_ID = 'etc/machine-id';
export const DBUS_MACHINE_ID = 'var/lib/dbus/machine-id';

/** The machine-id file a tar member name is (with or without "./"), or null. */
export function machineIdMember(name: string): string | null {
  const path = name.replace(/^\.\//, '');
  return path === ETC_MACHINE_ID || path === DBUS_MACHINE_ID ? path : null;
}

/**
 * Whether a machine-id member, as `tar -tv` lists it, would give containers a shared id: only
 * an empty regular /etc/machine-id and a symlink for D-Bus's (which systemd does not copy from)
 * carry none.
 */
export function carriesMachineId(line: string): boolean {
  const m = /^(\S)\S*\s+\S+\s+(\S+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
  if (!m) return true;
  const [, type, size, rest] = m as unknown as [string, string, string, string];
  const path = machineIdMember(rest.split(' ')[0] ?? '');
  if (path === ETC_MACHINE_ID) return !(type === '-' && size === '0');
  return type !== 'l';
}
