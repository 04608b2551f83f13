// The one internal model of a container, built from its KEY="value" config (and later OCI specs).

import { parseBootorder } from './boot.ts';
import { type CapOverride, parseCapabilities } from './capabilities.ts';
import type { CtId } from './ctid.ts';
import { type DevNode, parseDevnodes } from './devices.ts';
import { type DiskLimit, parseDiskinodes, parseDiskspace } from './disk.ts';
import { BerthError } from './errors.ts';
import { parseIdBase } from './idmap.ts';
import { type Layout, parseLayout } from './layout.ts';
import { type PortFwd, parsePortFwdList } from './nat.ts';
import { type IpAddr, parseIpList } from './net.ts';
import { type NetIf, parseNetifs } from './netif.ts';
import { parseNameserverList, parseSearchDomain } from './resolv.ts';
import { parseSize } from './size.ts';

export interface Resources {
  /** bytes of RAM (memory limit), null = unlimited */
  ram: number | null;
  /** bytes of swap on top of RAM (VSwap), null = unlimited */
  swap: number | null;
  /** CPUs worth of time the container may use */
  cpus: number | null;
  /** percent of one CPU (vzctl --cpulimit); 0/null = unlimited */
  cpulimit: number | null;
  /** relative CPU weight, vzctl scale (default 1000) */
  cpuunits: number | null;
  /** maximum number of processes/threads */
  numproc: number | null;
}

export interface CtConfig {
  id: CtId;
  ostemplate: string;
  hostname: string;
  veRoot: string;
  vePrivate: string;
  /** LAYOUT: how its files are kept (a config without one predates layouts: dir) */
  layout: Layout;
  /** LAYER: the shared template layer under an overlay container */
  layer: string | null;
  /** DISKSPACE (bytes) and DISKINODES: enforced by the image layout only */
  diskspace: DiskLimit | null;
  diskinodes: DiskLimit | null;
  onboot: boolean;
  /** BOOTORDER: higher starts earlier at host boot; null = after those that have one */
  bootorder: number | null;
  /** routed (venet-style) addresses, IP_ADDRESS */
  ipAddr: IpAddr[];
  /** masquerade the private addresses on the way out (NAT="yes") */
  nat: boolean;
  /** PORTFWD="tcp:8080:80 udp:5353:53" */
  portFwd: PortFwd[];
  /** bridged (veth) interfaces, NETIF */
  netifs: NetIf[];
  /** NAMESERVER: resolver addresses, or "inherit" */
  nameservers: string[];
  /** SEARCHDOMAIN */
  searchDomains: string[];
  stopTimeout: number;
  resources: Resources;
  /** ID_BASE: the host uid/gid of root inside (a user namespace); null = privileged */
  idBase: number | null;
  /** CAPABILITY: changes to the default capability set */
  capabilities: CapOverride[];
  /** DEVNODES: host device nodes the container gets */
  devnodes: DevNode[];
}

export interface GlobalDefaults {
  veRoot: string;
  vePrivate: string;
  defOstemplate: string;
  stopTimeout: number;
  /** NEIGHBOUR_DEVS: 'detect' (the default-route devices), 'none', or interface names */
  neighbourDevs: string;
  /** LAYOUT: for new containers */
  layout: Layout;
  /** VENET_MTU: the MTU of every routed pair */
  venetMtu: number;
  /** VENET_FASTPATH: container-to-container packets skip the host's forwarding path */
  venetFastpath: boolean;
  /** PRIVILEGED: new containers get no user namespace (create --privileged overrides it) */
  privileged: boolean;
  /** LXCFS: show containers their own figures in /proc through lxcfs (when installed) */
  lxcfs: boolean;
  /** CONSOLE_LOG_SIZE: bytes a console log and its older half hold together */
  consoleLogSize: number;
  /** SYSINFO: sysinfo(2) answers with the container's figures (the keeper's seccomp handler) */
  sysinfo: boolean;
}

const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function validateHostname(h: string): string {
  if (!HOSTNAME_RE.test(h)) {
    throw new BerthError('BAD_HOSTNAME', `invalid hostname ${JSON.stringify(h)}`, {
      hint: 'letters, digits and -, dot-separated labels of up to 63 characters',
    });
  }
  return h;
}

function intIn(raw: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new BerthError('BAD_VALUE', `invalid value for ${what}: ${JSON.stringify(raw)}`, {
      hint: `expected a whole number from ${min} to ${max}`,
    });
  }
  return Number(raw);
}

/** vzctl "barrier:limit" pairs: berth uses the limit (the last part). */
function lastPart(raw: string): string {
  return raw.includes(':') ? (raw.split(':').pop() ?? '') : raw;
}

export function parseRam(raw: string, what = 'ram'): number | null {
  return parseSize(lastPart(raw), what, what.endsWith('PAGES'));
}

export function parseNumproc(raw: string): number | null {
  const v = lastPart(raw);
  return v === 'unlimited' ? null : intIn(v, 'numproc', 1, 4194304);
}

export function parseCpus(raw: string): number | null {
  return raw === 'unlimited' || raw === '0' ? null : intIn(raw, 'cpus', 1, 4096);
}

export function parseCpulimit(raw: string): number | null {
  const v = raw.endsWith('%') ? raw.slice(0, -1) : raw;
  const n = intIn(v, 'cpulimit', 0, 409600);
  return n === 0 ? null : n;
}

export function parseCpuunits(raw: string): number | null {
  return intIn(raw, 'cpuunits', 8, 500000);
}

export function resourcesFrom(rec: Record<string, string | undefined>): Resources {
  const ramRaw = rec['PHYSPAGES'] ?? rec['RAM'];
  const swapRaw = rec['SWAPPAGES'] ?? rec['SWAP'];
  return {
    ram: ramRaw ? parseRam(ramRaw, rec['PHYSPAGES'] ? 'PHYSPAGES' : 'RAM') : null,
    swap: swapRaw ? parseRam(swapRaw, rec['SWAPPAGES'] ? 'SWAPPAGES' : 'SWAP') : null,
    cpus: rec['CPUS'] ? parseCpus(rec['CPUS']) : null,
    cpulimit: rec['CPULIMIT'] ? parseCpulimit(rec['CPULIMIT']) : null,
    cpuunits: rec['CPUUNITS'] ? parseCpuunits(rec['CPUUNITS']) : null,
    numproc: rec['NUMPROC'] ? parseNumproc(rec['NUMPROC']) : null,
  };
}

/** $VEID is substituted in VE_ROOT and VE_PRIVATE only (vzctl). */
export function expandVeid(pattern: string, id: CtId): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: vzctl's literal ${VEID} form
  return pattern.replaceAll('$VEID', id).replaceAll('${VEID}', id);
}

export function ctConfigFrom(id: CtId, rec: Record<string, string>, g: GlobalDefaults): CtConfig {
  const hostname = rec['HOSTNAME'] || defaultHostname(id);
  return {
    id,
    ostemplate: rec['OSTEMPLATE'] ?? g.defOstemplate,
    hostname,
    veRoot: expandVeid(rec['VE_ROOT'] ?? g.veRoot, id),
    vePrivate: expandVeid(rec['VE_PRIVATE'] ?? g.vePrivate, id),
    layout: rec['LAYOUT'] ? parseLayout(rec['LAYOUT'], 'LAYOUT') : 'dir',
    layer: rec['LAYER'] || null,
    diskspace: rec['DISKSPACE'] ? parseDiskspace(rec['DISKSPACE']) : null,
    diskinodes: rec['DISKINODES'] ? parseDiskinodes(rec['DISKINODES']) : null,
    onboot: rec['ONBOOT'] === 'yes',
    bootorder: rec['BOOTORDER'] ? parseBootorder(rec['BOOTORDER']) : null,
    ipAddr: parseIpList(rec['IP_ADDRESS'] ?? ''),
    nat: rec['NAT'] === 'yes',
    portFwd: parsePortFwdList(rec['PORTFWD'] ?? ''),
    netifs: parseNetifs(rec['NETIF'] ?? ''),
    nameservers: parseNameserverList(rec['NAMESERVER'] ?? ''),
    searchDomains: (rec['SEARCHDOMAIN'] ?? '').split(/\s+/).filter(Boolean).map(parseSearchDomain),
    stopTimeout: rec['STOP_TIMEOUT'] ? intIn(rec['STOP_TIMEOUT'], 'STOP_TIMEOUT', 1, 3600) : g.stopTimeout,
    resources: resourcesFrom(rec),
    idBase: parseIdBase(rec['ID_BASE'], 'ID_BASE'),
    capabilities: parseCapabilities(rec['CAPABILITY'] ?? ''),
    devnodes: parseDevnodes(rec['DEVNODES'] ?? ''),
  };
}

export function defaultHostname(id: CtId): string {
  const h = /^\d+$/.test(id) ? `ct${id}` : id.replace(/[_.]/g, '-').replace(/-+$/, '');
  return HOSTNAME_RE.test(h) ? h : 'ct';
}
