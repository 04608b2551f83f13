// Backup archives: one plain tar holding berth-backup.json (the manifest), ct.conf (the
// container's config) and fs.tar.zst (its own files, as a snapshot copies them). The manifest
// carries the checksums that restore verifies before it writes anything. Checksums are not a
// signature: restore treats every archive as hostile, and takes from it only what berth itself
// would have written (manifest fields, config keys, file entries), each checked here.
import { parseBootorder } from './boot.ts';
import { formatCapabilities, parseCapabilities } from './capabilities.ts';
import { formatConfig, parseConfig, setKeys, toRecord } from './config.ts';
import {
  type CtConfig,
  ctConfigFrom,
  type GlobalDefaults,
  parseCpulimit,
  parseCpus,
  parseCpuunits,
  parseNumproc,
  parseRam,
  validateHostname,
} from './ct-config.ts';
import { type CtId, parseCtId } from './ctid.ts';
import { parseDiskinodes, parseDiskspace } from './disk.ts';
import { BerthError } from './errors.ts';
import { LAYOUTS, type Layout } from './layout.ts';
import { parsePortFwdList } from './nat.ts';
import { parseIpList } from './net.ts';
import { defaultHostIfname, formatNetifs, parseNetifs } from './netif.ts';
import { parseNameserverList, parseSearchDomain } from './resolv.ts';
import { TEMPLATE_NAME_RE } from './samples.ts';
import { layerName, templateOfLayer } from './template-meta.ts';

export const BACKUP_FORMAT = 1;
export const MANIFEST = 'berth-backup.json';
export const CONF = 'ct.conf';
export const FS = 'fs.tar.zst';
export const MEMBERS = [MANIFEST, CONF, FS] as const;
/** the manifest and ct.conf berth writes are a few hundred bytes; more is not a berth backup */
export const SMALL_MEMBER_MAX = 64 * 1024;

export interface BackupManifest {
  format: number;
  ctid: string;
  created: string;
  layout: Layout;
  /** overlay: the layer its files sit on, and the template version that layer comes from */
  layer: string | null;
  template: { name: string; sha256: string } | null;
  /** the container ran (and was frozen while its files were read) */
  running: boolean;
  sha256: { [CONF]: string; [FS]: string };
  /** bytes of fs.tar.zst */
  size: number;
}

const HINT = 'the archive is damaged, altered or not a berth backup; nothing was written';

function bad(file: string, why: string): BerthError {
  return new BerthError('BAD_BACKUP', `restore ${file}: ${why}`, { hint: HINT });
}

/** A value from an archive, quoted and cut short for a message. */
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?Z$/;
const MANIFEST_KEYS = ['format', 'ctid', 'created', 'layout', 'layer', 'template', 'running', 'sha256', 'size'];

/** A template name as berth writes it, and one that can never walk out of a directory. */
const isTemplateName = (n: unknown): n is string =>
  typeof n === 'string' && TEMPLATE_NAME_RE.test(n) && !n.includes('..');

/** A layer name as berth writes it: TEMPLATE-<12 hex> (template-meta.ts layerName). */
export function isLayerName(n: unknown): n is string {
  return typeof n === 'string' && !n.includes('/') && !n.includes('..') && isTemplateName(templateOfLayer(n));
}

export function parseManifest(text: string, file: string): BackupManifest {
  if (text.length > SMALL_MEMBER_MAX) throw bad(file, 'its manifest is too large');
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad(file, 'its manifest is not JSON');
  }
  // found by the property tests: "null" or "3" is JSON too
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(file, 'its manifest is not an object');
  const extra = Object.keys(m).filter((k) => !MANIFEST_KEYS.includes(k));
  if (extra.length) throw bad(file, `the manifest has fields berth does not write: ${shown(extra.slice(0, 5))}`);
  if (m['format'] !== BACKUP_FORMAT) throw bad(file, `unknown format ${shown(m['format'])}`);
  if (typeof m['ctid'] !== 'string' || !m['ctid']) throw bad(file, 'the manifest names no container');
  try {
    parseCtId(m['ctid']);
  } catch {
    throw bad(file, `the manifest names an invalid CTID ${shown(m['ctid'])}`);
  }
  if (typeof m['created'] !== 'string' || !ISO_TIME.test(m['created'])) throw bad(file, 'the manifest has no date');
  if (!LAYOUTS.includes(m['layout'] as Layout)) throw bad(file, `unknown layout ${shown(m['layout'])}`);
  if (typeof m['running'] !== 'boolean') throw bad(file, 'the manifest does not say whether it ran');
  const sums = m['sha256'] as Record<string, unknown> | null;
  if (
    typeof sums !== 'object' ||
    sums === null ||
    Object.keys(sums).sort().join(' ') !== [CONF, FS].join(' ') ||
    !HEX64.test(String(sums[CONF])) ||
    !HEX64.test(String(sums[FS]))
  ) {
    throw bad(file, 'the manifest has no checksums');
  }
  if (!Number.isSafeInteger(m['size']) || (m['size'] as number) < 0) throw bad(file, 'the manifest has no size');
  checkLayer(m, file);
  return m as unknown as BackupManifest;
}

/** overlay: a layer and template named as berth names them, and consistent; others: none. */
function checkLayer(m: Record<string, unknown>, file: string): void {
  const { layer, template: t } = m;
  if (m['layout'] !== 'overlay') {
    if (layer !== null || t !== null) throw bad(file, `a ${m['layout']} backup names a template layer`);
    return;
  }
  if (!layer || !t) throw bad(file, 'an overlay backup without its layer');
  if (!isLayerName(layer)) throw bad(file, `invalid layer name ${shown(layer)}`);
  const tpl = t as Record<string, unknown>;
  if (
    typeof tpl !== 'object' ||
    Object.keys(tpl).sort().join(' ') !== 'name sha256' ||
    !isTemplateName(tpl['name']) ||
    (tpl['sha256'] !== '' && !HEX64.test(String(tpl['sha256'])))
  ) {
    throw bad(file, `invalid template ${shown(t)}`);
  }
  if (templateOfLayer(layer) !== tpl['name']) throw bad(file, `layer ${layer} is not of template ${tpl['name']}`);
  if (tpl['sha256'] && layerName({ name: tpl['name'], sha256: tpl['sha256'] as string }) !== layer) {
    throw bad(file, `layer ${layer} is not the one of template sha256 ${String(tpl['sha256']).slice(0, 12)}...`);
  }
}

/** The archive's members must be exactly berth's three, in order. */
export function checkMembers(names: string[], file: string): void {
  const clean = names.map((n) => n.replace(/^\.\//, '')).filter(Boolean);
  if (clean.join(' ') !== MEMBERS.join(' ')) {
    throw bad(
      file,
      `unexpected contents (${shown(clean.slice(0, 5).join(', ') || 'empty')}; a berth backup holds ${MEMBERS.join(', ')})`,
    );
  }
}

export function checkSum(what: string, got: string, want: string, file: string): void {
  if (got !== want) throw bad(file, `${what} does not match its checksum (the archive is damaged)`);
}

/** The default file name: CTID-20261125-231700.tar */
export function backupName(id: string, now: Date): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${id}-${iso}.tar`;
}

// ---- the file entries of fs.tar.zst ----

/**
 * Character devices a container's tree holds on disk: overlayfs whiteouts (0:0) and the nodes
 * of a /dev that debootstrap makes (null, zero, full, random, urandom, tty, console, ptmx).
 * Any other device node, and every block device, is refused: berth never writes one, and a
 * container cannot open it anyway (core/devices.ts), so one in an archive is only a hazard
 * for whatever on the host might open the file.
 */
export const RESTORABLE_DEVICES = ['0,0', '1,3', '1,5', '1,7', '1,8', '1,9', '5,0', '5,1', '5,2'];

// GNU tar -tv --numeric-owner --quoting-style=c: MODE UID/GID SIZE|MAJ,MIN DATE TIME "NAME"[ -> "T" | link to "T"]
const ENTRY_RE = /^(.)\S+ \d+\/\d+ +(\d+|\d+,\s*\d+) [^"]*"((?:[^"\\]|\\.)*)"(?: (->|link to) "((?:[^"\\]|\\.)*)")?$/;
const C_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Undoes tar's C quoting (LC_ALL=C: other bytes are octal escapes, kept as latin1 chars). */
export function unquoteC(s: string): string | null {
  let bad = false;
  const out = s.replace(/\\([0-7]{3}|.)/g, (_, e: string) => {
    if (e.length === 3) return String.fromCharCode(Number.parseInt(e, 8));
    if (e === '\\' || e === '"' || e === '?') return e;
    const c = C_ESCAPES[e];
    if (c === undefined) bad = true;
    return c ?? '';
  });
  return bad ? null : out;
}

/** A member path as components: "./a//b/./c" is a/b/c; null when absolute or with "..". */
function components(name: string): string[] | null {
  if (name.startsWith('/')) return null;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? null : parts;
}

export interface FsListingCheck {
  /** one line of the listing; throws BAD_BACKUP at the first entry berth would not write */
  line(l: string): void;
  /** after the last line: entries seen */
  done(): number;
}

/**
 * Checks the listing of fs.tar.zst entry by entry, before anything is unpacked: names stay
 * inside the tree (no absolute names, no ".."), nothing is unpacked through an earlier
 * symlink or file of the same archive, hard links point at an earlier entry, no name comes
 * twice, device nodes are only those a container's tree holds, and an image backup holds
 * nothing but its root.img. GNU tar refuses most of this by itself; this is the second wall.
 */
export function fsListingCheck(layout: Layout, file: string): FsListingCheck {
  /** path -> is a directory */
  const seen = new Map<string, boolean>();
  const refuse = (name: string, why: string) => bad(file, `${FS}: ${shown(name)}: ${why}`);
  return {
    line(l: string): void {
      const m = ENTRY_RE.exec(l);
      const raw = m?.[3] !== undefined ? unquoteC(m[3]) : null;
      if (!m || raw === null) throw bad(file, `${FS}: cannot read its listing at ${shown(l)}`);
      const type = m[1] ?? '';
      const parts = components(raw);
      if (!parts) throw refuse(raw, 'an absolute name or one with ".."');
      const path = parts.join('/');
      if (seen.has(path)) throw refuse(raw, 'appears twice');
      for (let i = 1; i < parts.length; i++) {
        if (seen.get(parts.slice(0, i).join('/')) === false) throw refuse(raw, 'lies under a symlink or file');
      }
      if (path === '' && type !== 'd') throw refuse(raw, 'the top of the tree is not a directory');
      if (layout === 'image' && !((path === '' && type === 'd') || (path === 'root.img' && type === '-'))) {
        throw refuse(raw, 'an image backup holds only root.img');
      }
      if (type === 'b' || (type === 'c' && !RESTORABLE_DEVICES.includes((m[2] ?? '').replace(/\s/g, '')))) {
        throw refuse(raw, `device node ${type} ${m[2]}, which no container keeps on disk`);
      }
      if (!['-', 'd', 'l', 'h', 'c', 'p'].includes(type)) throw refuse(raw, `an entry of type ${shown(type)}`);
      if (type === 'h') {
        const target = m[4] === 'link to' && m[5] !== undefined ? unquoteC(m[5]) : null;
        const t = target === null ? null : components(target);
        if (!t || seen.get(t.join('/')) !== false)
          throw refuse(raw, `a hard link to ${shown(target)} outside the tree`);
      }
      seen.set(path, type === 'd');
    },
    done: () => seen.size,
  };
}

// ---- the config of a restored container ----

const yesNo = (v: string, key: string) => {
  if (v !== 'yes' && v !== 'no') throw new BerthError('BAD_VALUE', `invalid value for ${key}: ${shown(v)}`);
  return v;
};
/** A value that `parse` accepts, written as it was. */
const kept =
  (parse: (v: string, key: string) => unknown) =>
  (v: string, key: string): string => {
    parse(v, key);
    return v;
  };
const wholeIn = (v: string, key: string, min: number, max: number) => {
  if (!/^\d{1,7}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new BerthError('BAD_VALUE', `invalid value for ${key}: ${shown(v)}`);
  }
  return v;
};

/**
 * Per-container keys a restore takes from an archive's ct.conf (docs/config.md), each checked
 * by the parser `set` and `create` use; the returned value is what is written.
 */
const TAKEN: Record<string, (v: string, key: string) => string> = {
  OSTEMPLATE: (v) => {
    if (!isTemplateName(v)) throw new BerthError('BAD_VALUE', `invalid template name ${shown(v)}`);
    return v;
  },
  HOSTNAME: (v) => validateHostname(v),
  PHYSPAGES: kept(parseRam),
  SWAPPAGES: kept(parseRam),
  RAM: kept(parseRam),
  SWAP: kept(parseRam),
  CPUS: kept(parseCpus),
  CPULIMIT: kept(parseCpulimit),
  CPUUNITS: kept(parseCpuunits),
  NUMPROC: kept(parseNumproc),
  ONBOOT: yesNo,
  NAT: yesNo,
  BOOTORDER: (v) => String(parseBootorder(v)),
  STOP_TIMEOUT: (v, k) => wholeIn(v, k, 1, 3600),
  DESCRIPTION: (v) => {
    // free text, but one line without terminal escapes (an admin reads it with cat)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
    if (v.length > 1024 || /[\x00-\x1f\x7f]/.test(v)) throw new BerthError('BAD_VALUE', 'invalid description');
    return v;
  },
  NAMESERVER: (v) => parseNameserverList(v).join(' '),
  SEARCHDOMAIN: (v) => v.split(/\s+/).filter(Boolean).map(parseSearchDomain).join(' '),
  IP_ADDRESS: (v) =>
    parseIpList(v)
      .map((i) => i.addr)
      .join(' '),
  PORTFWD: kept(parsePortFwdList),
  DISKSPACE: kept(parseDiskspace),
  DISKINODES: kept(parseDiskinodes),
  RESET_MACHINE_ID: (v, k) => {
    if (v !== 'yes') throw new BerthError('BAD_VALUE', `invalid value for ${k}: ${shown(v)}`);
    return v;
  },
};

/** Never taken from an archive: paths and the id range come from berth.conf and the new CTID. */
export const DERIVED_KEYS = ['VE_ROOT', 'VE_PRIVATE', 'ID_BASE', 'LAYER', 'LAYOUT'] as const;

export interface RestoredConfig {
  /** the config to write: taken keys, derived LAYOUT/LAYER, no ID_BASE (ops hands one out) */
  text: string;
  /** what it says, with berth.conf's paths for the new CTID */
  config: CtConfig;
  /** what was left out (key names, and capabilities turned on), for a warning */
  dropped: string[];
  /** the archive's config had no ID_BASE: it was a privileged container */
  wasPrivileged: boolean;
}

/**
 * The config a restore writes for container ID from an archive's ct.conf: only the keys in
 * TAKEN, each checked as `set` checks it (a bad value refuses the archive); paths, the id range,
 * the layout and layer derived; bridged interfaces get this container's host-side names; what
 * would grant privilege (DEVNODES, CAPABILITY NAME:on) and unknown keys are left out.
 */
export function restoredConfig(
  text: string,
  m: BackupManifest,
  id: CtId,
  g: GlobalDefaults,
  file: string,
): RestoredConfig {
  if (text.length > SMALL_MEMBER_MAX) throw bad(file, `${CONF} is too large`);
  // parse errors name ct.conf and its line themselves; a message quotes at most 200 characters
  const inConf = (err: unknown) => {
    if (!(err instanceof BerthError)) return err as Error;
    const msg = err.message.length > 200 ? `${err.message.slice(0, 197)}...` : err.message;
    return bad(file, msg.startsWith(`${CONF}:`) ? msg : `${CONF}: ${msg}`);
  };
  try {
    const parsed = parseConfig(text, CONF);
    const rec = toRecord(parsed);
    const dropped: string[] = [];
    if (rec['LAYOUT'] !== undefined && rec['LAYOUT'] !== m.layout) {
      throw new BerthError('BAD_VALUE', `LAYOUT=${shown(rec['LAYOUT'])}, the manifest says ${m.layout}`);
    }
    const keep: Record<string, string> = {};
    for (const [key, value] of Object.entries(rec)) {
      const check = TAKEN[key];
      if (check) keep[key] = check(value, key);
      else if (key === 'CAPABILITY') {
        const caps = parseCapabilities(value);
        const off = caps.filter((c) => !c.on);
        if (off.length) keep[key] = formatCapabilities(off);
        dropped.push(...caps.filter((c) => c.on).map((c) => `CAPABILITY ${c.cap}:on`));
      } else if (key === 'NETIF') {
        // host-side names are this host's and this CTID's, never the archive's
        const netifs = parseNetifs(value).map((n, i) => ({ ...n, hostIfname: defaultHostIfname(id, i) }));
        if (netifs.length) keep[key] = formatNetifs(netifs);
      } else if (key === 'VE_ROOT' || key === 'VE_PRIVATE' || !(DERIVED_KEYS as readonly string[]).includes(key)) {
        dropped.push(key); // the id range, layout and layer are derived without a word
      }
    }
    // the image layout alone enforces disk limits (create drops them for the others too)
    if (m.layout !== 'image') {
      for (const k of ['DISKSPACE', 'DISKINODES']) {
        if (keep[k] !== undefined) dropped.push(k);
        delete keep[k];
      }
    }
    // comments and order stay; each kept key is rewritten in place (set's character check)
    const derived = { LAYOUT: m.layout, ...(m.layout === 'overlay' && m.layer ? { LAYER: m.layer } : {}) };
    const lines = parsed.lines.filter((l) => l.kind === 'raw' || keep[l.key] !== undefined || l.key in derived);
    const out = setKeys({ lines }, { ...keep, ...derived });
    const outText = formatConfig(out);
    return {
      text: outText,
      config: ctConfigFrom(id, toRecord(out), g),
      dropped,
      wasPrivileged: (rec['ID_BASE'] ?? '') === '',
    };
  } catch (err) {
    throw inConf(err);
  }
}
