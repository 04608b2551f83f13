// Snapshots of each layout: consistent copies of a running container, read-only views, switch
// back, delete, and SIGKILL at any point of snapshot and snapshot-switch.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { killAfter, ROOT_SKIP, sandbox } from './harness.ts';

const LAYOUTS: Array<[string, string[]]> = [
  ['overlay', []],
  ['dir', []],
  ['image', ['--diskspace', '64M']],
];

test('snapshots: taken while running, viewed read-only, switched back, deleted', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  const view = join(s.root, 'view');
  mkdirSync(view);
  for (const [layout, extra] of LAYOUTS) {
    const id = `s-${layout}`;
    s.ok(['create', id, '--layout', layout, ...extra]);
    s.ok(['start', id]);
    s.ok(['exec', id, '--', 'sh', '-c', 'echo v1 > /root/f; ln /root/f /root/hard']);
    s.ok(['snapshot', id, '--name', 'one']);
    s.ok(['exec', id, '--', 'sh', '-c', 'echo v2 > /root/f; rm /root/hard; echo new > /root/g']);
    const list = JSON.parse(s.ok(['snapshot-list', id, '--json'])) as Array<Record<string, unknown>>;
    assert.deepEqual(
      list.map((m) => [m['name'], m['layout'], m['running']]),
      [['one', layout, true]],
    );
    // a duplicate name is refused
    assert.equal(s.berth(['snapshot', id, '--name', 'one']).code, 21);
    // the view shows the instant of the snapshot, read-only
    s.ok(['snapshot-mount', id, '--name', 'one', '--target', view]);
    assert.equal(s.ok(['exec', id, '--', 'cat', '/root/f']), 'v2\n');
    const inView = readdirSync(join(view, 'root')).sort();
    assert.deepEqual(inView, ['f', 'hard'], `${layout}: view`);
    assert.throws(() => writeFileSync(join(view, 'x'), 'x'), /EROFS/);
    assert.equal(s.berth(['snapshot-delete', id, '--name', 'one']).code, 41, 'a mounted snapshot stays');
    s.ok(['snapshot-umount', id, '--name', 'one']);
    // switch: only stopped; the files come back, the snapshot stays
    assert.equal(s.berth(['snapshot-switch', id, '--name', 'one']).code, 32);
    s.ok(['stop', '--fast', id]);
    s.ok(['snapshot-switch', id, '--name', 'one']);
    s.ok(['start', id]);
    assert.equal(s.ok(['exec', id, '--', 'cat', '/root/f']), 'v1\n', `${layout}: switched back`);
    assert.equal(s.berth(['exec', id, '--', 'test', '-e', '/root/g']).code, 1);
    assert.match(s.ok(['exec', id, '--', 'stat', '-c', '%h', '/root/f']), /^2$/m, 'hard link kept');
    s.ok(['stop', '--fast', id]);
    assert.equal(s.berth(['snapshot-switch', id, '--name', 'nope']).code, 21);
    s.ok(['snapshot-delete', id, '--name', 'one']);
    assert.equal(s.ok(['snapshot-list', id, '-H']).trim(), '');
    // destroy takes the snapshots along
    s.ok(['snapshot', id, '--name', 'kept']);
    s.ok(['destroy', id]);
    assert.deepEqual(readdirSync(join(s.root, 'var/lib/berth/snapshots')), []);
  }
  rmdirSync(view);
});

test('SIGKILL during snapshot and snapshot-switch: no half snapshot, no frozen container, files whole', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  let points = 0;
  for (const [layout, extra] of LAYOUTS) {
    const id = `k-${layout}`;
    s.ok(['create', id, '--layout', layout, ...extra]);
    s.ok(['start', id]);
    s.ok(['exec', id, '--', 'sh', '-c', 'echo base > /root/f']);
    s.ok(['snapshot', id, '--name', 'base']);
    for (const ms of [0, 30, 60, 100, 150, 220]) {
      points++;
      await killAfter(s, ['snapshot', id, '--name', `k${ms}`], ms);
      // the next command thaws it and lists only whole snapshots
      const names = (JSON.parse(s.ok(['snapshot-list', id, '--json'])) as Array<{ name: string }>).map((m) => m.name);
      assert.ok(
        names.every((n) => n === 'base' || n === `k${ms}` || /^k\d+$/.test(n)),
        names.join(' '),
      );
      s.ok(['exec', id, '--', 'true']); // exec takes no lock; a frozen container would hang it
      s.ok(['set', id, '--description', `after ${ms}`]); // a locked command: recovery runs
      assert.match(s.ok(['status', id]), / running$/m, `${layout}: snapshot@${ms} left it ${s.ok(['status', id])}`);
      if (names.includes(`k${ms}`)) s.ok(['snapshot-delete', id, '--name', `k${ms}`]);
    }
    s.ok(['exec', id, '--', 'sh', '-c', 'echo changed > /root/f']);
    s.ok(['stop', '--fast', id]);
    for (const ms of [0, 40, 80, 140]) {
      points++;
      await killAfter(s, ['snapshot-switch', id, '--name', 'base'], ms);
      s.ok(['start', id]); // recovery finishes or rolls back the switch
      const f = s.ok(['exec', id, '--', 'cat', '/root/f']);
      assert.ok(f === 'base\n' || f === 'changed\n', `${layout}: switch@${ms}: ${f}`);
      s.ok(['exec', id, '--', 'sh', '-c', 'echo changed > /root/f']);
      s.ok(['stop', '--fast', id]);
    }
    // destroy says what it removes, the snapshots too
    const gone = s.berth(['destroy', id]);
    assert.equal(gone.code, 0, gone.err);
    assert.match(
      gone.err,
      new RegExp(`^Destroying ${id}: its files \\(.*\\), config, \\d+ snapshots? \\(.*base.*\\)`, 'm'),
    );
    assert.deepEqual(s.leaks(), [], `${layout}: leftovers`);
  }
  t.diagnostic(`${points} SIGKILL points of snapshot and snapshot-switch checked`);
});
