// berth mount: the admin's view of a stopped container, where the host's root reads, creates
// and changes files that the container then sees as its root's, in every layout, unprivileged
// (the view is not idmapped: an idmapped one refused host root's new files with EOVERFLOW) and
// privileged; the view stays nosuid, nodev and out of reach of other host users.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountOptions, ROOT_SKIP, sandbox } from './harness.ts';

const CASES = [
  { ct: 'mo', layout: 'overlay', privileged: 'no' },
  { ct: 'md', layout: 'dir', privileged: 'no' },
  { ct: 'mi', layout: 'image', privileged: 'no' },
  { ct: 'po', layout: 'overlay', privileged: 'yes' },
  { ct: 'pd', layout: 'dir', privileged: 'yes' },
] as const;

const owner = (path: string) => {
  const st = statSync(path);
  return `${st.uid}:${st.gid}`;
};

test("berth mount: host root creates and changes files, and they are the container root's inside", {
  skip: ROOT_SKIP,
  timeout: 180_000,
}, (t) => {
  const s = sandbox(t);
  const lib = join(s.root, 'var/lib/berth');
  for (const { ct, layout, privileged } of CASES) {
    const what = `${ct} (${layout}, privileged ${privileged})`;
    const space = layout === 'image' ? ['--diskspace', '64M'] : [];
    s.ok(['create', ct, '--layout', layout, '--privileged', privileged, ...space]);
    const base =
      privileged === 'yes'
        ? 0
        : Number(/^ID_BASE="(\d+)"$/m.exec(readFileSync(join(s.root, 'etc/berth/ct', `${ct}.conf`), 'utf8'))?.[1]);
    assert.ok(privileged === 'yes' || base >= 1048576, `${what}: has an id range`);
    // a file of the container's own user, to see which ids the view shows
    s.ok(['start', ct]);
    s.ok(['exec', ct, '--', 'sh', '-c', 'echo www > /root/www && chown 33:33 /root/www']);
    s.ok(['stop', '--fast', ct]);

    s.ok(['mount', ct]);
    const view = join(lib, 'root', ct);
    assert.match(mountOptions(view) ?? 'not mounted', /\bnosuid\b/, `${what}: the view is nosuid`);
    assert.match(mountOptions(view) ?? 'not mounted', /\bnodev\b/, `${what}: the view is nodev`);
    assert.equal(statSync(join(lib, 'root')).mode & 0o777, 0o700, 'only root reaches the views');
    assert.ok(statSync(join(view, 'bin/busybox')).size > 0, `${what}: template files readable`);
    assert.equal(owner(join(view, 'root/www')), '33:33', `${what}: the view shows on-disk ids, as vzctl`);
    assert.equal(owner(join(view, 'bin/busybox')), '0:0', `${what}: the container root's files are 0`);
    // what the admin does: copy a file in, make a directory, change a template file and one of the container's
    writeFileSync(join(view, 'root/fromhost'), 'copied in\n');
    mkdirSync(join(view, 'root/hostdir'));
    writeFileSync(join(view, 'root/hostdir/inner'), 'inner\n');
    appendFileSync(join(view, 'etc/profile'), '# added by the admin\n');
    writeFileSync(join(view, 'root/www'), 'changed\n');
    for (const f of ['root/fromhost', 'root/hostdir', 'root/hostdir/inner', 'etc/profile'])
      assert.equal(owner(join(view, f)), '0:0', `${what}: ${f} on disk is root's`);
    // another host user reaches nothing, not even what the admin just made
    const nobody = spawnSync('cat', [join(view, 'root/fromhost')], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.notEqual(nobody.status, 0, `${what}: nobody read ${view}/root/fromhost`);
    assert.match(nobody.stderr, /Permission denied/);
    s.ok(['umount', ct]);
    // on disk (an image's ext4 shows its own ids in the view above)
    const own = layout === 'overlay' ? join(lib, 'private', ct, 'upper') : join(lib, 'private', ct);
    if (layout !== 'image') {
      for (const f of ['root/fromhost', 'root/hostdir', 'root/hostdir/inner', 'etc/profile'])
        assert.equal(owner(join(own, f)), '0:0', `${what}: ${f} stored as uid 0 under ${own}`);
    }

    // inside: root's own, usable as root's (an unmapped owner would be nobody, and its
    // directory not writable by the container's root)
    s.ok(['start', ct]);
    const ls = s.ok([
      'exec',
      ct,
      '--',
      'ls',
      '-lnd',
      '/root/fromhost',
      '/root/hostdir',
      '/root/hostdir/inner',
      '/etc/profile',
    ]);
    const owners = ls
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(2, 4).join(':'));
    assert.deepEqual(owners, ['0:0', '0:0', '0:0', '0:0'], `${what}: owned by root inside:\n${ls}`);
    assert.equal(s.ok(['exec', ct, '--', 'cat', '/root/fromhost']), 'copied in\n');
    assert.equal(s.ok(['exec', ct, '--', 'cat', '/root/www']), 'changed\n');
    assert.match(s.ok(['exec', ct, '--', 'tail', '-n1', '/etc/profile']), /^# added by the admin$/m);
    assert.match(
      s.ok(['exec', ct, '--', 'ls', '-ln', '/root/www']),
      /^\S+\s+\d+\s+33\s+33\s/,
      `${what}: www keeps its owner`,
    );
    s.ok(['exec', ct, '--', 'sh', '-c', 'echo more > /root/hostdir/more && chown 5:5 /root/fromhost']);
    // the running root's host view: idmapped for an unprivileged container
    assert.equal(owner(join(view, 'root/hostdir/more')), `${base}:${base}`, `${what}: running root's host ids`);
    assert.equal(owner(join(view, 'root/fromhost')), `${base + 5}:${base + 5}`);
    s.ok(['stop', '--fast', ct]);
    if (layout !== 'image') assert.equal(owner(join(own, 'root/fromhost')), '5:5', `${what}: stored 0-based`);
  }
});
