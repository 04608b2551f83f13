// A backup archive is hostile: its manifest, file listing and config are taken only as berth
// itself writes them (core/backup.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BackupManifest,
  backupName,
  checkMembers,
  fsListingCheck,
  isLayerName,
  parseManifest,
  restoredConfig,
  unquoteC,
} from '../../../src/core/backup.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import type { Layout } from '../../../src/core/layout.ts';
import { GLOBAL } from './fixtures.ts';

const refused = (e: unknown) => e instanceof BerthError && e.code === 'BAD_BACKUP';
const hex = 'ab'.repeat(32);
const overlay = {
  format: 1,
  ctid: '101',
  created: '2026-11-25T00:00:00.123Z',
  layout: 'overlay',
  layer: `busybox-${hex.slice(0, 12)}`,
  template: { name: 'busybox', sha256: hex },
  running: false,
  sha256: { 'ct.conf': hex, 'fs.tar.zst': hex },
  size: 10,
};

test('manifest: every field as berth writes it, nothing else (exit 152, "restore" in the message)', () => {
  assert.equal(parseManifest(JSON.stringify(overlay), 'f').layer, overlay.layer);
  assert.doesNotThrow(() =>
    parseManifest(JSON.stringify({ ...overlay, template: { name: 'busybox', sha256: '' } }), 'f'),
  );
  const bad: Array<[string, Record<string, unknown>]> = [
    ['a layer that walks out', { layer: '../../../../../root/x' }],
    ['a layer with a slash', { layer: `a/busybox-${hex.slice(0, 12)}` }],
    ['a layer of another grammar', { layer: 'busybox' }],
    ['a layer with ..', { layer: `a..b-${hex.slice(0, 12)}`, template: { name: 'a..b', sha256: '' } }],
    ['a layer of another template', { layer: `debian-${hex.slice(0, 12)}` }],
    ['a layer of another version', { layer: `busybox-${'cd'.repeat(6)}` }],
    ['a template name with a slash', { template: { name: '../busybox', sha256: hex } }],
    ['a template with more fields', { template: { name: 'busybox', sha256: hex, path: '/' } }],
    ['a template sha256 not hex', { template: { name: 'busybox', sha256: 'x'.repeat(64) } }],
    ['a dir backup naming a layer', { layout: 'dir' }],
    ['an invalid CTID', { ctid: '../etc' }],
    ['a date that is not one', { created: '\u001b[31mred' }],
    ['a size that is not one', { size: -1 }],
    ['a size that is not a number', { size: '10' }],
    ['running as a string', { running: 'yes' }],
    ['fields berth does not write', { veRoot: '/' }],
    ['checksums with a third file', { sha256: { 'ct.conf': hex, 'fs.tar.zst': hex, x: hex } }],
  ];
  for (const [what, change] of bad) {
    assert.throws(
      () => parseManifest(JSON.stringify({ ...overlay, ...change }), '/b.tar'),
      (e: unknown) => refused(e) && /^restore \/b\.tar: /.test((e as Error).message),
      what,
    );
  }
  const dir = { ...overlay, layout: 'dir', layer: null, template: null };
  assert.equal(parseManifest(JSON.stringify(dir), 'f').ctid, '101');
  for (const change of [
    { format: 2 },
    { layout: 'zfs' },
    { sha256: { 'ct.conf': hex } },
    { layout: 'overlay' },
    { ctid: '' },
  ]) {
    assert.throws(() => parseManifest(JSON.stringify({ ...dir, ...change }), 'f'), refused, JSON.stringify(change));
  }
  for (const text of ['{', 'null', '3', '[]', 'x'.repeat(70_000)])
    assert.throws(() => parseManifest(text, 'f'), refused);
  assert.ok(isLayerName(`debian-12-${hex.slice(0, 12)}`));
  assert.ok(!isLayerName('..-abcdefabcdef'));
  assert.doesNotThrow(() => checkMembers(['berth-backup.json', 'ct.conf', 'fs.tar.zst'], 'f'));
  assert.throws(() => checkMembers(['ct.conf', 'fs.tar.zst'], 'f'), refused);
  assert.throws(() => checkMembers(['berth-backup.json', 'ct.conf', 'fs.tar.zst', '../etc/passwd'], 'f'), refused);
  assert.equal(backupName('101', new Date('2026-11-25T23:17:00.123Z')), '101-20261125-231700.tar');
});

const line = (type: string, name: string, extra = '', size = '0') =>
  `${type}rw-r--r-- 0/0 ${size.padStart(10)} 2026-01-01 00:00 "${name}"${extra}`;

function listing(layout: Layout, lines: string[]): number {
  const c = fsListingCheck(layout, '/b.tar');
  for (const l of lines) c.line(l);
  return c.done();
}

test("fs listing: a container's tree passes; what would reach outside it is refused", () => {
  const tree = [
    line('d', './'),
    line('d', './etc/'),
    line('-', './etc/passwd', '', '42'),
    line('l', './etc/localtime', ' -> "/usr/share/zoneinfo/UTC"'),
    line('l', './bin/sh', ' -> "../usr/bin/busybox"'),
    line('h', './etc/group', ' link to "./etc/passwd"'),
    line('c', './dev/null', '', '1,3'),
    line('c', './old-file', '', '0,0'), // an overlay whiteout
    line('p', './run/fifo'),
    line('-', './bin/su'), // setuid files are normal inside a container
    line('-', './odd \\"name\\" -> \\303\\274\\n'),
  ];
  assert.equal(listing('overlay', tree), tree.length);
  const attacks: Array<[string, string[]]> = [
    ['an absolute name', [line('-', '/etc/shadow')]],
    ['a name with ..', [line('-', './../../etc/shadow')]],
    ['a file under a symlink', [line('l', './l', ' -> "/etc"'), line('-', './l/shadow')]],
    ['a file under a relative symlink', [line('l', './l', ' -> "../.."'), line('d', './l/x/')]],
    ['a file under a file', [line('-', './f'), line('-', './f/x')]],
    ['a hard link to an absolute path', [line('h', './h', ' link to "/etc/shadow"')]],
    ['a hard link out', [line('h', './h', ' link to "../../etc/shadow"')]],
    ['a hard link to nothing before it', [line('h', './h', ' link to "./later"')]],
    ['a hard link through a symlink', [line('l', './l', ' -> "/etc"'), line('h', './h', ' link to "./l/shadow"')]],
    ['a block device', [line('b', './sda', '', '8,0')]],
    ['a host memory device', [line('c', './mem', '', '1,1')]],
    ['a name twice', [line('-', './a'), line('l', './a', ' -> "/etc/shadow"')]],
    ['the top as a symlink', [line('l', './', ' -> "/etc"')]],
    ['a volume label', ['V--------- 0/0 0 2026-01-01 00:00 "label"--Volume Header--']],
    ['an unreadable line', ['garbage']],
    ['an unknown escape', [line('-', './a\\q')]],
  ];
  for (const [what, lines] of attacks) {
    assert.throws(() => listing('dir', [line('d', './'), ...lines]), refused, what);
  }
  assert.equal(listing('image', [line('d', './'), line('-', './root.img', '', '67108864')]), 2);
  for (const extra of [line('-', './other'), line('l', './root.img', ' -> "/dev/sda"'), line('d', './root.img/')]) {
    assert.throws(() => listing('image', [line('d', './'), extra]), refused, extra);
  }
  assert.equal(unquoteC('a\\tb\\\\c\\"\\101'), 'a\tb\\c"A');
  assert.equal(unquoteC('bad\\q'), null);
});

const m = (layout: Layout): BackupManifest =>
  ({
    ...overlay,
    layout,
    ...(layout === 'overlay' ? {} : { layer: null, template: null }),
  }) as BackupManifest;
const id = parseCtId('201');

test('restored config: paths and id range derived, privilege never taken, values checked as set checks them', () => {
  const conf = [
    '# my comment',
    'HOSTNAME="web1"',
    'VE_ROOT="/"',
    'VE_PRIVATE="/etc"',
    'ID_BASE=""',
    'LAYER="../../../../root/x"',
    'LAYOUT="overlay"',
    'PHYSPAGES="0:256M"',
    'CAPABILITY="sys_admin:on net_raw:off"',
    'DEVNODES="sda:rw"',
    'NETIF="ifname=eth0,mac=02:00:00:00:00:01,host_ifname=eth0,host_mac=02:00:00:00:00:02,bridge=br0"',
    'IP_ADDRESS="192.0.2.7"',
    'FOO="bar"',
    'ONBOOT="yes"',
  ].join('\n');
  const r = restoredConfig(conf, m('overlay'), id, GLOBAL, '/b.tar');
  assert.equal(r.config.vePrivate, '/p/201');
  assert.equal(r.config.veRoot, '/r/201');
  assert.equal(r.config.idBase, null, 'ops hands out a fresh range');
  assert.equal(r.config.layer, overlay.layer);
  assert.equal(r.config.hostname, 'web1');
  assert.equal(r.config.resources.ram, 256 * 1024 * 1024);
  assert.deepEqual(r.config.capabilities, [{ cap: 'net_raw', on: false }]);
  assert.deepEqual(r.config.devnodes, []);
  assert.equal(r.config.netifs[0]?.hostIfname, 'veth201.0', "the host side is this CTID's");
  assert.equal(r.config.netifs[0]?.mac, '02:00:00:00:00:01');
  assert.ok(r.wasPrivileged);
  assert.deepEqual(r.dropped.sort(), ['CAPABILITY sys_admin:on', 'DEVNODES', 'FOO', 'VE_PRIVATE', 'VE_ROOT']);
  assert.match(
    r.text,
    /^# my comment\nHOSTNAME="web1"\nLAYER="busybox-[ab]{12}"\nLAYOUT="overlay"\nPHYSPAGES="0:256M"\n/,
  );
  assert.match(
    restoredConfig('A="1"\nA="2"\nONBOOT="no"\nONBOOT="yes"\n', m('dir'), id, GLOBAL, 'f').text,
    /^ONBOOT="yes"\nLAYOUT="dir"\n$/,
  );
  assert.doesNotMatch(r.text, /VE_ROOT|VE_PRIVATE|ID_BASE|DEVNODES|FOO|sys_admin/);
  assert.ok(!restoredConfig('ID_BASE="1048576"\n', m('dir'), id, GLOBAL, 'f').wasPrivileged);
  assert.match(restoredConfig('', m('dir'), id, GLOBAL, 'f').text, /^LAYOUT="dir"$/m);
  // the image layout alone keeps disk limits
  assert.deepEqual(restoredConfig('DISKSPACE="1G:1G"\n', m('dir'), id, GLOBAL, 'f').dropped, ['DISKSPACE']);
  assert.equal(restoredConfig('DISKSPACE="1G:1G"\n', m('image'), id, GLOBAL, 'f').config.diskspace?.hard, 2 ** 30);
  for (const bad of [
    'HOSTNAME="a_b"',
    `HOSTNAME="${'x'.repeat(100_000)}"`,
    'LAYOUT="dir"',
    'PHYSPAGES="lots"',
    'NUMPROC="-1"',
    'ONBOOT="maybe"',
    'STOP_TIMEOUT="0"',
    'IP_ADDRESS="127.0.0.1"',
    'PORTFWD="tcp:99999:80"',
    'NETIF="ifname=../x"',
    'CAPABILITY="sys_god:on"',
    'DESCRIPTION=\'say "hi"\'',
    'DESCRIPTION="\u001b]0;owned\u0007"',
    'OSTEMPLATE="../x"',
    'RESET_MACHINE_ID="no"',
    'not a config line',
  ]) {
    assert.throws(() => restoredConfig(`${bad}\n`, m('overlay'), id, GLOBAL, '/b.tar'), refused, bad.slice(0, 40));
  }
});

test('properties: any archive text gives a checked value or exit 152, and never a path of its own', () => {
  const keys = fc.constantFrom('VE_ROOT', 'VE_PRIVATE', 'ID_BASE', 'LAYER', 'HOSTNAME', 'NETIF', 'DEVNODES', 'X');
  const conf = fc
    .array(fc.tuple(keys, fc.string({ maxLength: 40 })), { maxLength: 6 })
    .map((kv) => kv.map(([k, v]) => `${k}="${v.replace(/["\n]/g, '')}"`).join('\n'));
  fc.assert(
    fc.property(conf, fc.constantFrom<Layout>('overlay', 'dir', 'image'), (text, layout) => {
      try {
        const r = restoredConfig(text, m(layout), id, GLOBAL, 'f');
        assert.equal(r.config.vePrivate, '/p/201');
        assert.equal(r.config.veRoot, '/r/201');
        assert.equal(r.config.idBase, null);
        assert.deepEqual(r.config.devnodes, []);
        assert.equal(r.config.layer, layout === 'overlay' ? overlay.layer : null);
      } catch (err) {
        assert.ok(refused(err), String(err));
      }
    }),
  );
  const names = fc.string({ maxLength: 30 }).map((s) => s.replace(/["\\]/g, ''));
  const types = fc.constantFrom('-', 'd', 'l', 'h', 'c', 'b', 'p', 'V');
  fc.assert(
    fc.property(fc.array(fc.tuple(types, names, names), { maxLength: 8 }), (entries) => {
      try {
        const seen = listing(
          'dir',
          entries.map(([t, n, target]) =>
            line(t, n, t === 'l' ? ` -> "${target}"` : t === 'h' ? ` link to "${target}"` : ''),
          ),
        );
        // what passes never names a path out of the tree
        for (const [, n] of entries.slice(0, seen)) assert.ok(!n.startsWith('/') && !n.split('/').includes('..'));
      } catch (err) {
        assert.ok(refused(err), String(err));
      }
    }),
  );
});
