// Crafted backup archives: a real backup rebuilt with a changed manifest, config or file tree
// and recomputed checksums (checksums are not a signature). Each attack is refused with exit
// 152 and leaves nothing behind, or is ignored safely; either way a canary on the host is
// neither read into a container nor written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

interface Entry {
  name: string;
  /** ustar type: 0 file, 1 hard link, 2 symlink, 3 char device, 4 block device, 5 directory */
  type: '0' | '1' | '2' | '3' | '4' | '5';
  data?: string;
  link?: string;
  mode?: number;
  dev?: [number, number];
}

/** A ustar tarball of exactly these entries: names and links as given, nothing normalized. */
function ustar(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const put = (at: number, len: number, s: string) => h.write(s, at, len, 'latin1');
    const num = (at: number, len: number, n: number) => put(at, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
    const data = Buffer.from(e.data ?? '');
    put(0, 100, e.name);
    num(100, 8, e.mode ?? (e.type === '5' ? 0o755 : 0o644));
    num(108, 8, 0);
    num(116, 8, 0);
    num(124, 12, e.type === '0' ? data.length : 0);
    num(136, 12, 1_700_000_000);
    put(148, 8, '        ');
    put(156, 1, e.type);
    put(157, 100, e.link ?? '');
    put(257, 8, 'ustar\u000000');
    num(329, 8, e.dev?.[0] ?? 0);
    num(337, 8, e.dev?.[1] ?? 0);
    let sum = 0;
    for (const b of h) sum += b;
    put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(h);
    if (e.type === '0' && data.length) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

const zstd = (b: Buffer) => spawnSync('zstd', ['-q', '-c'], { input: b, maxBuffer: 1 << 28 }).stdout as Buffer;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** fs.tar.zst of a tree with these entries under its top directory */
const tree = (...entries: Entry[]) => zstd(ustar([{ name: './', type: '5' }, ...entries]));

interface Change {
  manifest?: (m: Record<string, unknown>) => Record<string, unknown>;
  conf?: (text: string) => string;
  fs?: Buffer;
}

/** Rebuilds backup `good` into `out` with the changes, checksums and size made to match. */
function craft(s: Sandbox, good: string, out: string, c: Change): string {
  const dir = mkdtempSync(join(s.root, 'craft-'));
  try {
    assert.equal(spawnSync('tar', ['-xf', good, '-C', dir]).status, 0);
    const conf = (c.conf ?? ((t) => t))(readFileSync(join(dir, 'ct.conf'), 'utf8'));
    writeFileSync(join(dir, 'ct.conf'), conf);
    if (c.fs) writeFileSync(join(dir, 'fs.tar.zst'), c.fs);
    const fs = readFileSync(join(dir, 'fs.tar.zst'));
    const m = JSON.parse(readFileSync(join(dir, 'berth-backup.json'), 'utf8'));
    const next = (c.manifest ?? ((x) => x))({
      ...m,
      sha256: { 'ct.conf': sha(conf), 'fs.tar.zst': sha(fs) },
      size: fs.length,
    });
    writeFileSync(join(dir, 'berth-backup.json'), JSON.stringify(next));
    rmSync(out, { force: true });
    assert.equal(spawnSync('tar', ['-cf', out, '-C', dir, 'berth-backup.json', 'ct.conf', 'fs.tar.zst']).status, 0);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file under dir with its size and mtime: the canary's fingerprint. */
function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      out.push(`${relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

test('crafted archives: refused with nothing left behind, or their attack ignored; the host canary untouched', {
  skip: ROOT_SKIP,
  timeout: 400_000,
}, (t) => {
  const s = sandbox(t);
  const lib = join(s.root, 'var/lib/berth');
  const conf = (id: string) => join(s.root, `etc/berth/ct/${id}.conf`);
  // the host's files an archive aims at: a directory with a secret, outside berth's tree
  const canary = join(s.root, 'host-canary');
  mkdirSync(join(canary, 'etc'), { recursive: true });
  writeFileSync(join(canary, 'etc/secret'), 'host secret\n');
  const before = fingerprint(canary);
  s.ok(['create', 'src-o', '--layout', 'overlay']);
  s.ok(['create', 'src-d', '--layout', 'dir']);
  s.ok(['create', 'src-i', '--layout', 'image', '--diskspace', '64M']);
  const good = { o: join(s.root, 'o.tar'), d: join(s.root, 'd.tar'), i: join(s.root, 'i.tar') };
  s.ok(['backup', 'src-o', '-o', good.o]);
  s.ok(['backup', 'src-d', '-o', good.d]);
  s.ok(['backup', 'src-i', '-o', good.i]);
  const state = () =>
    [
      readdirSync(join(lib, 'private')).sort().join(' '),
      readdirSync(join(s.root, 'etc/berth/ct')).sort().join(' '),
      readdirSync(join(lib, 'lock')).sort().join(' '),
      readdirSync(join(lib, 'template/layers')).sort().join(' '),
    ].join(' | ');
  const clean = state();
  const bad = join(s.root, 'bad.tar');
  const layerUp = relative(join(lib, 'template/layers'), canary); // ../../../../host-canary

  // refused: exit 152, the reason named, nothing written anywhere
  const refusals: Array<[string, string, Change, RegExp]> = [
    ['a layer that walks out', good.o, { manifest: (m) => ({ ...m, layer: layerUp }) }, /invalid layer name/],
    [
      'a layer and template that walk out',
      good.o,
      { manifest: (m) => ({ ...m, layer: `../x-${'a'.repeat(12)}`, template: { name: '../x', sha256: '' } }) },
      /invalid layer name/,
    ],
    [
      'a manifest with fields berth does not write',
      good.d,
      { manifest: (m) => ({ ...m, vePrivate: canary }) },
      /fields/,
    ],
    ['a CTID that is a path', good.d, { manifest: (m) => ({ ...m, ctid: '../../etc' }) }, /invalid CTID/],
    ['a config value set would refuse', good.d, { conf: (c) => `${c}HOSTNAME="a;reboot"\n` }, /invalid hostname/],
    ['a layout the manifest does not say', good.d, { conf: (c) => `${c}LAYOUT="overlay"\n` }, /LAYOUT/],
    [
      'an absolute name',
      good.d,
      {
        fs: tree({ name: `${canary}/etc/secret`, type: '0', data: 'pwned' }),
      },
      /absolute name/,
    ],
    [
      'a name with ..',
      good.d,
      {
        fs: tree({ name: `./${'../'.repeat(12)}${canary.slice(1)}/etc/secret`, type: '0', data: 'pwned' }),
      },
      /absolute name or one with/,
    ],
    [
      'a file through a symlink it made (tar-in-tar)',
      good.d,
      {
        fs: tree(
          { name: './l', type: '2', link: join(canary, 'etc') },
          { name: './l/secret', type: '0', data: 'pwned' },
        ),
      },
      /under a symlink/,
    ],
    [
      'a hard link to a host file',
      good.d,
      {
        fs: tree({ name: './h', type: '1', link: join(canary, 'etc/secret') }),
      },
      /hard link/,
    ],
    [
      'a block device',
      good.d,
      {
        fs: tree({ name: './sda', type: '4', dev: [8, 0] }),
      },
      /device node/,
    ],
    [
      'an image backup with more than its image',
      good.i,
      {
        fs: tree({ name: './root.img', type: '0', data: 'x' }, { name: './extra', type: '0' }),
      },
      /only root\.img/,
    ],
    [
      'an image that is not a sound ext4',
      good.i,
      {
        fs: tree({ name: './root.img', type: '0', data: 'x'.repeat(70_000) }),
      },
      /not a sound ext4/,
    ],
  ];
  for (const [what, from, change, msg] of refusals) {
    const r = s.berth(['restore', craft(s, from, bad, change), 'r-bad']);
    assert.equal(r.code, 152, `${what}: ${r.err}`);
    assert.match(r.err, /^berth: restore /m, what);
    assert.match(r.err, msg, what);
    assert.equal(state(), clean, `${what}: nothing left behind`);
    assert.equal(fingerprint(canary), before, `${what}: the canary is untouched`);
  }

  // ignored: paths and privilege from the config; the container is restored where berth says
  const paths = craft(s, good.o, bad, {
    conf: (c) =>
      c.replace(/^ID_BASE=.*\n/m, '') +
      `VE_ROOT="${join(canary, 'etc')}"\nVE_PRIVATE="${canary}"\nDEVNODES="sda:rw"\nCAPABILITY="sys_module:on"\n`,
  });
  const r = s.berth(['restore', paths, 'r-paths']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /not taken from the archive's config: .*VE_ROOT/);
  assert.match(r.err, /backup is of a privileged container; restored unprivileged/);
  const restored = readFileSync(conf('r-paths'), 'utf8');
  assert.doesNotMatch(restored, /VE_ROOT|VE_PRIVATE|DEVNODES|sys_module/);
  assert.match(restored, /^ID_BASE="\d+"$/m, 'unprivileged, with a fresh id range');
  s.ok(['start', 'r-paths']);
  s.ok(['exec', 'r-paths', '--', 'sh', '-c', 'echo mine > /root/x; cat /etc/secret 2>/dev/null; true']);
  assert.equal(readFileSync(join(lib, 'private/r-paths/upper/root/x'), 'utf8'), 'mine\n');
  const cat = s.ok(['exec', 'r-paths', '--', 'cat', '/proc/self/uid_map']);
  assert.doesNotMatch(cat, /^\s*0\s+0\s/m, 'root inside is not root on the host');
  s.ok(['stop', '--fast', 'r-paths']);
  assert.equal(fingerprint(canary), before, 'the container wrote into its own area only');
  // privilege only when the admin says so
  s.ok(['restore', paths, 'r-priv', '--privileged', 'yes']);
  assert.doesNotMatch(readFileSync(conf('r-priv'), 'utf8'), /ID_BASE/);
  assert.equal(s.berth(['restore', paths, 'r-x', '--privileged', 'maybe']).code, 21);

  // setuid files are normal inside a container: kept, inside its (root-only) private area
  const suid = craft(s, good.d, bad, {
    fs: tree({ name: './su', type: '0', data: '#!/bin/sh\n', mode: 0o4755 }),
  });
  s.ok(['restore', suid, 'r-suid']);
  assert.equal(statSync(join(lib, 'private/r-suid/su')).mode & 0o7777, 0o4755);
  assert.equal(fingerprint(canary), before);
  for (const id of ['r-paths', 'r-priv', 'r-suid']) s.ok(['destroy', id]);
  assert.equal(state(), clean);
});
