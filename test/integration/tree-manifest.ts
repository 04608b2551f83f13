// A comparable description of a directory tree: type, mode, owner, size, content hash, link
// target, device number, xattrs (ACLs included), hard-link groups and holes. Used to show that
// a restored container's files equal the original's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function treeManifest(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const inodes = new Map<string, string>();
  const walk = (rel: string) => {
    const p = join(root, rel);
    const st = lstatSync(p, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isFile() && st.nlink > 1n) {
      const first = inodes.get(key);
      if (first) {
        out.push(`${rel} hardlink-to ${first}`);
        return;
      }
      inodes.set(key, rel);
    }
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
    else if (st.isFile()) {
      what += ` ${st.size} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
      // a hole stays a hole: allocated space below the size
      if (st.blocks * 512n < st.size) what += ' sparse';
    } else if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev ${st.rdev}`;
    out.push(`${rel} ${what}`);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(rel, e));
  };
  for (const d of dirs) walk(d);
  // xattrs and ACLs of every path (getfattr lists user.*, trusted.*, security.* and system.posix_acl_*)
  const r = spawnSync('getfattr', ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--', ...dirs], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  let file = '';
  for (const l of r.stdout.split('\n')) {
    if (l.startsWith('# file: ')) file = l.slice('# file: '.length);
    else if (l.trim()) out.push(`${file} xattr ${l}`);
  }
  return out;
}
