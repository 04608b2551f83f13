// Bad input: each case gives its documented exit code and message, and changes no file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, ROOT_SKIP, sandbox } from './harness.ts';

/** Every path under root with type, mode, size and content hash (symlink targets for links). */
function snapshot(root: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      // lxcfs's live view of the host's and containers' figures is not on-disk state
      if (p === join(root, 'run/berth/lxcfs')) continue;
      const st = lstatSync(p);
      let what = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
      else if (st.isFile()) what += ` ${st.size} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
      out.push(`${p.slice(root.length)} ${what}`);
      if (st.isDirectory() && !p.includes('/private/')) walk(p);
    }
  };
  walk(root);
  return out.join('\n');
}

test('bad input: documented exit codes, clear messages, nothing changed on disk', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', '101']);
  s.ok(['create', '102']);
  s.ok(['start', '102']);
  const cases: Array<[string, string[], number, RegExp]> = [
    ['existing CTID', ['create', '101'], 44, /^berth: create 101: container already exists\nberth: hint: /],
    [
      'unknown verb',
      ['frobnicate', '101'],
      20,
      /^berth: unknown verb "frobnicate"\nberth: hint: berth help lists the verbs/,
    ],
    [
      'unknown option',
      ['start', '101', '--turbo'],
      20,
      /^berth: start: unknown option '--turbo'\nberth: hint: see berth help start/,
    ],
    ['missing CTID', ['start'], 20, /^berth: missing CTID/],
    [
      'bad size',
      ['set', '101', '--ram', '12Q', '--save'],
      21,
      /^berth: invalid size for ram: "12Q"\nberth: hint: use a number with an optional K, M, G or T suffix/,
    ],
    ['bad number', ['set', '101', '--numproc', 'lots', '--save'], 21, /^berth: invalid value for numproc: "lots"/],
    ['bad hostname', ['set', '101', '--hostname', 'bad_name!', '--save'], 70, /^berth: invalid hostname "bad_name!"/],
    ['CTID with /', ['create', 'a/b'], 21, /^berth: invalid CTID "a\/b"/],
    ['CTID with ..', ['destroy', '..'], 21, /^berth: invalid CTID "\.\."/],
    [
      'missing template',
      ['create', '103', '--ostemplate', 'centos-9'],
      47,
      /^berth: create 103: template centos-9 not found\nberth: hint: available: busybox/,
    ],
    [
      'start of a running CT',
      ['start', '102'],
      32,
      /^berth: start 102: container is already running\nberth: hint: berth restart 102/,
    ],
    [
      'stop of a stopped CT',
      ['stop', '101'],
      31,
      /^berth: stop 101: container is not running\nberth: hint: berth start 101/,
    ],
    ['destroy of a running CT', ['destroy', '102'], 32, /^berth: destroy 102: container is running/],
    ['no such CT', ['start', '999'], 14, /^berth: container 999 does not exist\nberth: hint: create it with/],
    ['set on a stopped CT without --save', ['set', '101', '--cpus', '1'], 31, /not running.*\nberth: hint: add --save/],
    ['exec on a stopped CT', ['exec', '101', '--', 'true'], 31, /^berth: exec 101: container is not running/],
    ['bad list field', ['list', '-o', 'ctid,colour'], 21, /^berth: list: unknown field "colour"/],
  ];
  const before = snapshot(s.root);
  for (const [name, args, code, msg] of cases) {
    const r = s.berth(args);
    assert.equal(r.code, code, `${name}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, msg, name);
    assert.equal(r.out, '', `${name}: nothing on stdout`);
    assert.equal(snapshot(s.root), before, `${name} changed files`);
  }
  // non-root caller: refused before anything is read or written
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', BERTH, '--root', s.root, 'start', '101'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 12, r.stderr);
  assert.match(r.stderr, /^berth: start: berth must run as root\nberth: hint: sudo berth start/);
  assert.equal(snapshot(s.root), before);
});
