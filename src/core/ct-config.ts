// The one internal model of a container, built from its KEY="value" config (and later OCI specs).

import { type BindMount, parseBindmounts } from './bindmount.ts';
import { parseBootorder } from './boot.ts';
import { type CapOverride, parseCapabilities } from './capabilities.ts';
import { checkValue, clip, quote } from './config.ts';
import type { CtId } from './ctid.ts';
import { type DevNode, parseDevnodes } from './devices.ts';
import { type DiskLimit, parseDiskinodes, parseDiskspace } from './disk.ts';
import { BerthError } from './errors.ts';
import { type FeatureSetting, parseFeatures } from './features.ts';
import { parseIdBase } from './idmap.ts';
import { type Layout, parseLayout } from './layout.ts';
import { type PortFwd, parsePortFwdList } from './nat.ts';
import { type IpAddr, parseIpList } from './net.ts';
import { type NetIf, parseNetifs } from './netif.ts';
import { parseNameserverList, parseSearchDomain } from './resolv.ts';
import { TEMPLATE_NAME_RE } from './samples.ts';
import { PAGE_SIZE, parseSize } from './size.ts';
import { templateOfLayer } from './template-meta.ts';

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
  /** BINDMOUNT: host paths shown inside */
  bindmounts: BindMount[];
  /** FEATURES: fuse, tun, nesting switched on */
  features: FeatureSetting[];
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
    throw new BerthError('BAD_HOSTNAME', `invalid hostname ${quote(h)}`, {
      hint: 'letters, digits and -, dot-separated labels of up to 63 characters, 253 in all',
    });
  }
  return h;
}

function intIn(raw: string, what: string, min: number, max: number): number {
  const v = raw.trim();
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new BerthError('BAD_VALUE', `invalid value for ${what}: ${quote(raw)}`, {
      hint: `expected a whole number from ${min} to ${max}`,
    });
  }
  return Number(v);
}

/** vzctl "barrier:limit" pairs: berth uses the limit (the last part). */
function lastPart(raw: string): string {
  return raw.includes(':') ? (raw.split(':').pop() ?? '') : raw;
}

/**
 * A memory size (--ram, --swap, PHYSPAGES, SWAPPAGES, RAM, SWAP) in bytes, rounded up to whole
 * pages as vzctl does: bare numbers are bytes, except in the *PAGES keys where they are pages.
 */
export function parseRam(raw: string, what = 'ram'): number | null {
  const bytes = parseSize(lastPart(raw), what, what.endsWith('PAGES'));
  if (bytes === null) return null;
  const pages = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
  if (!Number.isSafeInteger(pages)) throw new BerthError('BAD_VALUE', `size too large for ${what}: ${quote(raw)}`);
  return pages;
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

export function parseCpuunits(raw: string): number {
  return intIn(raw, 'cpuunits', 8, 500000);
}

/** yes/no keys (ONBOOT, NAT): unset or empty is no. */
export function parseYesNo(raw: string | undefined, what: string): boolean {
  if (raw === undefined || raw === '' || raw === 'no') return false;
  if (raw === 'yes') return true;
  throw new BerthError('BAD_VALUE', `invalid value for ${what}: ${quote(raw)}`, { hint: 'use yes or no' });
}

/** VE_ROOT, VE_PRIVATE: an absolute, normalized path ($VEID expanded). */
export function parseCtPath(raw: string, what: string): string {
  const ok = /^(\/[^/]+)+$/.test(raw) && raw.length <= 1024 && !raw.split('/').some((s) => s === '.' || s === '..');
  if (!ok) {
    throw new BerthError('BAD_VALUE', `invalid ${what} ${quote(raw)}`, {
      hint: 'an absolute path without . or .. parts, a trailing / or //',
    });
  }
  return raw;
}

/** LAYER: a template layer's name (NAME-<12 hex>), never a path. */
export function parseLayer(raw: string): string {
  if (templateOfLayer(raw) === null) {
    throw new BerthError('BAD_VALUE', `invalid layer ${quote(raw)}`, {
      hint: 'a layer is named TEMPLATE-<12 hex digits>, as under /var/lib/berth/template/layers',
    });
  }
  return raw;
}

function parseOstemplate(raw: string): string {
  if (!TEMPLATE_NAME_RE.test(raw)) {
    throw new BerthError('BAD_VALUE', `invalid template name ${quote(raw)}`, {
      hint: 'letters, digits and _ . + -, up to 64 characters',
    });
  }
  return raw;
}

/** Runs one key's parser; its error names the key (and the message stays short and printable). */
function field<T>(key: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    throw new BerthError(err.code, `${key}: ${clip(err.message)}`, {
      ...(err.hint ? { hint: clip(err.hint) } : {}),
      cause: err,
    });
  }
}

/** An optional key: unset and empty are the same (null). */
function opt<T>(rec: Record<string, string | undefined>, key: string, parse: (raw: string) => T): T | null {
  const raw = rec[key];
  return raw === undefined || raw === '' ? null : field(key, () => parse(raw));
}

export function resourcesFrom(rec: Record<string, string | undefined>): Resources {
  const ramKey = rec['PHYSPAGES'] ? 'PHYSPAGES' : 'RAM';
  const swapKey = rec['SWAPPAGES'] ? 'SWAPPAGES' : 'SWAP';
  return {
    ram: opt(rec, ramKey, (v) => parseRam(v, ramKey)),
    swap: opt(rec, swapKey, (v) => parseRam(v, swapKey)),
    cpus: opt(rec, 'CPUS', parseCpus),
    cpulimit: opt(rec, 'CPULIMIT', parseCpulimit),
    cpuunits: opt(rec, 'CPUUNITS', parseCpuunits),
    numproc: opt(rec, 'NUMPROC', parseNumproc),
  };
}

/** $VEID is substituted in VE_ROOT and VE_PRIVATE only (vzctl). */
export function expandVeid(pattern: string, id: CtId): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: vzctl's literal ${VEID} form
  return pattern.replaceAll('$VEID', id).replaceAll('${VEID}', id);
}

/** Where a config was read from, so that an error names the file and the line of the key. */
export interface ConfigOrigin {
  path: string;
  lineOf: (key: string) => number;
}

/**
 * A container's model from its config keys. Every key berth knows is validated here with the
 * parser `set` uses, so a bad value is refused when read, before anything acts on it. With an
 * origin (a config file), any error is CONFIG_INVALID and names the file, line and key.
 */
export function ctConfigFrom(
  id: CtId,
  rec: Record<string, string>,
  g: GlobalDefaults,
  origin?: ConfigOrigin,
): CtConfig {
  if (!origin) return buildCtConfig(id, rec, g);
  try {
    return buildCtConfig(id, rec, g);
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    const key = /^([A-Z_][A-Z0-9_]*): /.exec(err.message)?.[1] ?? '';
    const line = key ? origin.lineOf(key) : 0;
    throw new BerthError('CONFIG_INVALID', `${origin.path}${line ? `:${line}` : ''}: ${err.message}`, {
      hint: err.hint ? `${err.hint}; see docs/config.md` : 'see docs/config.md',
      cause: err,
    });
  }
}

function buildCtConfig(id: CtId, rec: Record<string, string>, g: GlobalDefaults): CtConfig {
  const path = (key: 'VE_ROOT' | 'VE_PRIVATE', dflt: string) =>
    field(key, () => parseCtPath(expandVeid(rec[key] || dflt, id), key));
  checkOthers(rec);
  return {
    id,
    ostemplate: opt(rec, 'OSTEMPLATE', parseOstemplate) ?? g.defOstemplate,
    hostname: opt(rec, 'HOSTNAME', validateHostname) ?? defaultHostname(id),
    veRoot: path('VE_ROOT', g.veRoot),
    vePrivate: path('VE_PRIVATE', g.vePrivate),
    layout: opt(rec, 'LAYOUT', (v) => parseLayout(v, 'layout')) ?? 'dir',
    layer: opt(rec, 'LAYER', parseLayer),
    diskspace: opt(rec, 'DISKSPACE', parseDiskspace),
    diskinodes: opt(rec, 'DISKINODES', parseDiskinodes),
    onboot: field('ONBOOT', () => parseYesNo(rec['ONBOOT'], 'onboot')),
    bootorder: opt(rec, 'BOOTORDER', parseBootorder),
    ipAddr: opt(rec, 'IP_ADDRESS', parseIpList) ?? [],
    nat: field('NAT', () => parseYesNo(rec['NAT'], 'nat')),
    portFwd: opt(rec, 'PORTFWD', parsePortFwdList) ?? [],
    netifs: opt(rec, 'NETIF', parseNetifs) ?? [],
    nameservers: opt(rec, 'NAMESERVER', parseNameserverList) ?? [],
    searchDomains: opt(rec, 'SEARCHDOMAIN', parseSearchDomainList) ?? [],
    stopTimeout: opt(rec, 'STOP_TIMEOUT', (v) => intIn(v, 'STOP_TIMEOUT', 1, 3600)) ?? g.stopTimeout,
    resources: resourcesFrom(rec),
    idBase: field('ID_BASE', () => parseIdBase(rec['ID_BASE'], 'ID_BASE')),
    capabilities: opt(rec, 'CAPABILITY', parseCapabilities) ?? [],
    devnodes: opt(rec, 'DEVNODES', parseDevnodes) ?? [],
    bindmounts: opt(rec, 'BINDMOUNT', parseBindmounts) ?? [],
    features: opt(rec, 'FEATURES', parseFeatures) ?? [],
  };
}

/** Keys berth keeps but does not model: checked like `set` checks them. */
function checkOthers(rec: Record<string, string>): void {
  if (rec['DESCRIPTION'] !== undefined) field('DESCRIPTION', () => checkValue('description', rec['DESCRIPTION'] ?? ''));
  opt(rec, 'RESET_MACHINE_ID', (v) => parseYesNo(v, 'RESET_MACHINE_ID')); // core/machine-id.ts
}

export function parseSearchDomainList(value: string): string[] {
  return value.split(/\s+/).filter(Boolean).map(parseSearchDomain);
}

export function defaultHostname(id: CtId): string {
  const h = /^\d+$/.test(id) ? `ct${id}` : id.replace(/[_.]/g, '-').replace(/-+$/, '');
  return HOSTNAME_RE.test(h) ? h : 'ct';
}
