// Backup of a running debian-12 container, destroy, restore: it boots, and its files (owners,
// modes, xattrs, ACLs, device nodes, hard links, holes) equal the original's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { booted, DEBIAN_SKIP, useDebian } from './debian-cache.ts';
import { sandbox } from './harness.ts';
import { treeManifest } from './tree-manifest.ts';

const COMPARED = ['etc', 'usr', 'root', 'opt', 'home'];

// overlay runs unprivileged (the default), dir privileged: device nodes can be made only there
for (const [layout, privileged] of [
  ['overlay', 'no'],
  ['dir', 'yes'],
] as const) {
  test(`debian-12 (${layout}, privileged ${privileged}): backup while running, destroy, restore: boots, files equal`, {
    skip: DEBIAN_SKIP,
    timeout: 300_000,
  }, async (t) => {
    const s = sandbox(t);
    useDebian(s);
    s.ok(['create', '600', '--ostemplate', 'debian-12', '--layout', layout, '--privileged', privileged]);
    // host-side ids through VE_ROOT are the container's own plus its ID_BASE
    const base = Number(JSON.parse(s.ok(['list', '-a', '-o', 'id_base', '--json']))[0]?.id_base ?? 0);
    s.ok(['start', '600']);
    assert.match(await booted(s, '600', 60_000), /^(running|degraded)$/);
    // the awkward kinds of file, made inside
    s.ok([
      'exec',
      '600',
      '--',
      'sh',
      '-c',
      [
        'set -e',
        'mkdir -p /root/t /opt/app',
        'echo data > /root/t/f && ln /root/t/f /root/t/hard && ln /root/t/f /opt/app/hard2',
        'chown 1234:5678 /root/t/f && chmod 4750 /root/t/f',
        'truncate -s 50M /root/t/sparse && echo tail >> /root/t/sparse',
        privileged === 'yes' ? 'mknod /root/t/null c 1 3' : 'true',
        'mkfifo /root/t/fifo',
        'ln -s /etc/hostname /root/t/link',
      ].join('; '),
    ]);
    const root = join(s.root, 'var/lib/berth/root/600');
    const sh = (cmd: string[]) => {
      const r = spawnSync(cmd[0] ?? '', cmd.slice(1), { encoding: 'utf8' });
      assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
    };
    sh(['setfattr', '-n', 'user.berth', '-v', 'kept', join(root, 'root/t/f')]);
    sh(['setfacl', '-m', `u:${base + 4321}:rwx`, join(root, 'opt/app')]);
    const backup = join(s.root, 'b.tar');
    s.ok(['backup', '600', '-o', backup]);
    // the original's files as backed up: its shutdown changes only logs and state under /var
    s.ok(['stop', '600']);
    s.ok(['mount', '600']);
    const before = treeManifest(root, COMPARED);
    s.ok(['umount', '600']);
    s.ok(['destroy', '600']);
    // privilege is never taken from an archive: the admin says it again
    s.ok(['restore', backup, '--privileged', privileged]);
    s.ok(['start', '600']);
    assert.match(await booted(s, '600', 60_000), /^(running|degraded)$/, 'the restored container boots');
    s.ok(['stop', '600']);
    s.ok(['mount', '600']);
    // a running container's copy (rsync --sparse) may turn runs of zeros into holes: a file
    // gaining holes is the same file; losing one is a difference
    const after = treeManifest(root, COMPARED).map((l) =>
      l.endsWith(' sparse') && before.includes(l.slice(0, -' sparse'.length)) ? l.slice(0, -' sparse'.length) : l,
    );
    s.ok(['umount', '600']);
    const diff = [
      ...before.filter((l) => !after.includes(l)).map((l) => `- ${l}`),
      ...after.filter((l) => !before.includes(l)).map((l) => `+ ${l}`),
    ];
    assert.deepEqual(diff, [], 'restored files differ');
    assert.ok(
      before.some((l) => /root\/t\/sparse .* sparse$/.test(l)),
      'the hole was there to compare',
    );
    assert.ok(
      before.some((l) => l.includes('user.berth')),
      'the xattr was there to compare',
    );
    assert.ok(
      before.some((l) => l.includes('system.posix_acl_access')),
      'the ACL was there to compare',
    );
    t.diagnostic(`${before.length} entries compared under /${COMPARED.join(', /')}`);
  });
}
