// machine-id: templates carry none; create, clone and restore as a new CTID each give the
// container its own at its first start (a restore as the same CTID keeps it); a symlink the
// container planted at /etc/machine-id leads the write inside the container, never to the host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { carriesMachineId, machineIdMember } from '../../src/core/machine-id.ts';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const ID = /^[0-9a-f]{32}\n$/;

/** The template tarball's members named like a machine-id file, as `tar -tv` lists them. */
function idMembers(s: Sandbox, name: string): string[] {
  const file = join(s.root, `var/lib/berth/template/cache/${name}.tar.zst`);
  const r = spawnSync('tar', ['--zstd', '-tvf', file, '--numeric-owner'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => machineIdMember(/ (\S+)(?: -> .*)?$/.exec(l)?.[1] ?? ''));
}

const machineId = (s: Sandbox, id: string) => s.ok(['exec', id, '--', 'cat', '/etc/machine-id']);
const conf = (s: Sandbox, id: string) => readFileSync(join(s.root, `etc/berth/ct/${id}.conf`), 'utf8');

test('machine-id: each created, cloned and restored container has its own; the template none', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, (t) => {
  const s = sandbox(t);
  assert.deepEqual(idMembers(s, 'busybox').filter(carriesMachineId), [], 'the template carries no id');
  s.ok(['create', 'a']);
  s.ok(['create', 'b', '--layout', 'dir']);
  for (const id of ['a', 'b']) s.ok(['start', id]);
  const ids = new Map<string, string>([
    ['a', machineId(s, 'a')],
    ['b', machineId(s, 'b')],
  ]);
  assert.doesNotMatch(conf(s, 'a'), /RESET_MACHINE_ID/, 'written once, at the first start');
  // a later start keeps it
  s.ok(['restart', 'a']);
  assert.equal(machineId(s, 'a'), ids.get('a'));
  s.ok(['clone', 'a', 'c']);
  s.ok(['start', 'c']);
  ids.set('c', machineId(s, 'c'));
  const backup = join(s.root, 'a.tar');
  s.ok(['backup', 'a', '-o', backup]);
  s.ok(['restore', backup, 'd']);
  s.ok(['start', 'd']);
  ids.set('d', machineId(s, 'd'));
  for (const [id, mid] of ids) assert.match(mid, ID, `${id}: ${JSON.stringify(mid)}`);
  assert.equal(new Set(ids.values()).size, 4, `four distinct ids: ${[...ids.values()].join(' ')}`);
  // the same CTID back from its own backup is the same machine: it keeps its id
  const backupB = join(s.root, 'b.tar');
  s.ok(['backup', 'b', '-o', backupB]);
  s.ok(['stop', '--fast', 'b']);
  s.ok(['destroy', 'b']);
  s.ok(['restore', backupB]);
  s.ok(['start', 'b']);
  assert.equal(machineId(s, 'b'), ids.get('b'));
  t.diagnostic(`ids: ${[...ids].map(([k, v]) => `${k}=${v.trim()}`).join(' ')}`);
});

test('template import: a machine-id in the archive is taken out, D-Bus gets a symlink', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  const tree = join(s.root, 'dirty');
  mkdirSync(join(tree, 'var/lib/dbus'), { recursive: true });
  const sh = (cmd: string[]) => {
    const r = spawnSync(cmd[0] ?? '', cmd.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  };
  sh(['tar', '--zstd', '-xpf', join(s.root, 'var/lib/berth/template/cache/busybox.tar.zst'), '-C', tree]);
  const planted = '0123456789abcdef0123456789abcdef\n';
  writeFileSync(join(tree, 'etc/machine-id'), planted, { mode: 0o444 });
  writeFileSync(join(tree, 'var/lib/dbus/machine-id'), planted);
  sh(['tar', '-czf', join(s.root, 'dirty.tar.gz'), '-C', tree, '.']);
  const r = s.berth(['template', 'import', join(s.root, 'dirty.tar.gz'), '--name', 'dirty']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err + r.out, /removed the machine-id it carried/);
  const members = idMembers(s, 'dirty');
  assert.deepEqual(members.filter(carriesMachineId), [], members.join('\n'));
  assert.equal(members.length, 2, members.join('\n'));
  assert.ok(
    members.some((l) => /^l.* (\.\/)?var\/lib\/dbus\/machine-id -> \/etc\/machine-id$/.test(l)),
    members.join('\n'),
  );
  // an archive with nothing to take out is kept as it was
  const cache = join(s.root, 'var/lib/berth/template/cache');
  s.ok(['template', 'import', join(cache, 'dirty.tar.zst'), '--name', 'again']);
  const sum = (n: string) => JSON.parse(readFileSync(join(cache, `${n}.json`), 'utf8')).sha256;
  assert.equal(sum('again'), sum('dirty'));
  s.ok(['create', 'x', '--ostemplate', 'dirty']);
  s.ok(['start', 'x']);
  const mid = machineId(s, 'x');
  assert.match(mid, ID);
  assert.notEqual(mid, planted);
  assert.equal(s.ok(['exec', 'x', '--', 'cat', '/var/lib/dbus/machine-id']), mid, 'D-Bus reads the same');
});

test('a planted symlink at /etc/machine-id: clone and restore write inside the container, not the host', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, (t) => {
  const s = sandbox(t);
  const canary = join(s.root, 'host-canary');
  mkdirSync(canary);
  writeFileSync(join(canary, 'file'), 'host file\n');
  s.ok(['create', 'src']);
  s.ok(['start', 'src']);
  // symlinks to the canary's host path, which the container has too: to a host file that
  // exists, and (D-Bus's) to one that does not
  s.ok([
    'exec',
    'src',
    '--',
    'sh',
    '-c',
    `mkdir -p /var/lib/dbus ${canary} && ln -sf ${canary}/file /etc/machine-id && ln -sf ${canary}/new /var/lib/dbus/machine-id`,
  ]);
  s.ok(['clone', 'src', 'c']);
  s.ok(['backup', 'src', '-o', join(s.root, 'src.tar')]);
  s.ok(['restore', join(s.root, 'src.tar'), 'r']);
  for (const id of ['c', 'r']) {
    s.ok(['start', id]);
    const mid = machineId(s, id);
    assert.match(mid, ID, `${id}: the id landed inside, where the symlink leads there`);
    assert.equal(s.ok(['exec', id, '--', 'cat', `${canary}/file`]), mid);
  }
  // a symlink dangling inside (its directory missing there): the start refuses, the host untouched
  s.ok(['exec', 'src', '--', 'rm', '-r', canary]);
  s.ok(['clone', 'src', 'd']);
  const r = s.berth(['start', 'd']);
  assert.equal(r.code, 7, r.err);
  assert.match(r.err, /machine-id/);
  assert.equal(readFileSync(join(canary, 'file'), 'utf8'), 'host file\n', 'the host file is untouched');
  assert.ok(!existsSync(join(canary, 'new')), 'nothing made on the host');
});
