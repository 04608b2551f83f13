// `berth set` options -> config keys: validation happens here, before anything is written.

import { parseBindmount } from './bindmount.ts';
import { parseBootorder } from './boot.ts';
import { parseCapabilities } from './capabilities.ts';
import { checkValue, quote } from './config.ts';
import { parseCpulimit, parseCpus, parseCpuunits, parseNumproc, parseRam, validateHostname } from './ct-config.ts';
import { parseDevnodes } from './devices.ts';
import { formatDiskinodes, formatDiskspace, parseDiskinodes, parseDiskspace } from './disk.ts';
import { BerthError } from './errors.ts';
import { parseFeatures } from './features.ts';
import { parsePrivileged } from './idmap.ts';
import { parseNameserverList, parseSearchDomain } from './resolv.ts';
import { formatSize } from './size.ts';

export interface SetOptions {
  ram?: string;
  swap?: string;
  cpus?: string;
  cpulimit?: string;
  cpuunits?: string;
  numproc?: string;
  hostname?: string;
  onboot?: string;
  bootorder?: string;
  description?: string;
  /** routed addresses to add / delete ('all'); applied against the current list in ops/set */
  ipadd?: string[];
  ipdel?: string[];
  nat?: string;
  /** bridged interfaces (vzctl): add, delete, or change the one named by ifname */
  netif_add?: string[];
  netif_del?: string[];
  ifname?: string;
  mac?: string;
  host_ifname?: string;
  host_mac?: string;
  bridge?: string;
  gw?: string;
  gw6?: string;
  dhcp?: string;
  /** replace NAMESERVER / SEARCHDOMAIN with these (vzctl) */
  nameserver?: string[];
  searchdomain?: string[];
  /** port forwards to add / delete ('all'), against the current PORTFWD */
  portfwd?: string[];
  'portfwd-del'?: string[];
  /** disk limits, soft[:hard] (the image layout only) */
  diskspace?: string;
  diskinodes?: string;
  /** yes|no: drop or take a user namespace (stopped containers, --save) */
  privileged?: string;
  /** NAME:on|off and NAME:r|w|rw|none, merged into CAPABILITY and DEVNODES (--save, next start) */
  capability?: string[];
  devnodes?: string[];
  /** NAME:on|off for fuse, tun, nesting, merged into FEATURES (--save, next start) */
  features?: string[];
  /** BINDMOUNT entries to add (SRC:DST[,ro][,noexec]) and container paths to drop ('all') */
  bindmount_add?: string[];
  bindmount_del?: string[];
  /** USER:PASSWORD, set in the running container by its own tools; never saved (vzctl) */
  userpasswd?: string[];
}

/** user names as Debian's adduser and busybox accept them */
const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;

/**
 * --userpasswd USER:PASSWORD, split at the first colon (a password may hold more). The password
 * never appears in a message.
 */
export function parseUserPasswd(raw: string): { user: string; password: string } {
  const at = raw.indexOf(':');
  const user = at < 0 ? raw : raw.slice(0, at);
  const password = at < 0 ? '' : raw.slice(at + 1);
  if (!USER_RE.test(user)) {
    throw new BerthError('BAD_VALUE', `--userpasswd: invalid user name ${quote(user)}`, {
      hint: 'USER:PASSWORD, the user name in lowercase letters, digits, _ . - (at most 32)',
    });
  }
  // chpasswd reads one line per user
  const control = [...password].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (password === '' || control) {
    throw new BerthError('BAD_VALUE', `--userpasswd ${user}: the password is empty or holds a control character`, {
      hint: 'USER:PASSWORD on one line',
    });
  }
  return { user, password };
}

/** The config keys to write; every value has been validated. */
export function setOptionsToKeys(o: SetOptions): Record<string, string> {
  const keys: Record<string, string> = {};
  // checked here; ops/set hands out or drops the range (ID_BASE) itself
  if (o.privileged !== undefined) parsePrivileged(o.privileged);
  if (o.capability) parseCapabilities(o.capability.join(' '));
  if (o.devnodes) parseDevnodes(o.devnodes.join(' '));
  if (o.features) parseFeatures(o.features.join(' '));
  for (const u of o.userpasswd ?? []) parseUserPasswd(u);
  for (const b of o.bindmount_add ?? []) parseBindmount(b);
  if (o.ram !== undefined) keys['PHYSPAGES'] = `0:${formatSize(parseRam(o.ram))}`;
  if (o.swap !== undefined) keys['SWAPPAGES'] = `0:${formatSize(parseRam(o.swap, 'swap'))}`;
  if (o.cpus !== undefined) keys['CPUS'] = String(parseCpus(o.cpus) ?? 'unlimited');
  if (o.cpulimit !== undefined) keys['CPULIMIT'] = String(parseCpulimit(o.cpulimit) ?? 0);
  if (o.cpuunits !== undefined) keys['CPUUNITS'] = String(parseCpuunits(o.cpuunits));
  if (o.numproc !== undefined) keys['NUMPROC'] = String(parseNumproc(o.numproc) ?? 'unlimited');
  if (o.hostname !== undefined) keys['HOSTNAME'] = validateHostname(o.hostname);
  if (o.onboot !== undefined) {
    if (o.onboot !== 'yes' && o.onboot !== 'no') {
      throw new BerthError('BAD_VALUE', `invalid value for onboot: ${quote(o.onboot)}`, {
        hint: 'use yes or no',
      });
    }
    keys['ONBOOT'] = o.onboot;
  }
  if (o.bootorder !== undefined) keys['BOOTORDER'] = String(parseBootorder(o.bootorder));
  if (o.description !== undefined) keys['DESCRIPTION'] = checkValue('description', o.description);
  if (o.diskspace !== undefined) keys['DISKSPACE'] = formatDiskspace(parseDiskspace(o.diskspace));
  if (o.diskinodes !== undefined) keys['DISKINODES'] = formatDiskinodes(parseDiskinodes(o.diskinodes));
  if (o.nameserver !== undefined) keys['NAMESERVER'] = parseNameserverList(o.nameserver.join(' ')).join(' ');
  if (o.searchdomain !== undefined) keys['SEARCHDOMAIN'] = o.searchdomain.map(parseSearchDomain).join(' ');
  if (o.nat !== undefined) {
    if (!['on', 'off', 'yes', 'no'].includes(o.nat)) {
      throw new BerthError('BAD_VALUE', `invalid value for nat: ${quote(o.nat)}`, { hint: 'use on or off' });
    }
    keys['NAT'] = o.nat === 'on' || o.nat === 'yes' ? 'yes' : 'no';
  }
  return keys;
}
