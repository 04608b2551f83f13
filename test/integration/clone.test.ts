// Clone: a distinct machine (hostname, addresses, port forwards, MACs, a fresh machine-id) with
// the source's files, from a running source of each layout; SIGKILL leaves no half clone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { killAfter, ROOT_SKIP, sandbox } from './harness.ts';

test('clone: same files, distinct identity, source untouched', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  const conf = (id: string) => readFileSync(join(s.root, `etc/berth/ct/${id}.conf`), 'utf8');
  for (const [layout, extra] of [
    ['overlay', []],
    ['dir', []],
    ['image', ['--diskspace', '64M']],
  ] as Array<[string, string[]]>) {
    const src = `src-${layout}`;
    const dst = `dst-${layout}`;
    s.ok(['create', src, '--layout', layout, ...extra, '--hostname', 'original']);
    // saved while stopped: nothing of it reaches the host's network in this test
    s.ok(['set', src, '--ipadd', '192.0.2.7', '--portfwd', 'tcp:8080:80', '--netif_add', 'eth0', '--save']);
    s.ok(['set', src, '--ram', '300M', '--save']);
    const srcConf = conf(src);
    const srcMac = /mac=([0-9a-f:]+)/.exec(srcConf)?.[1];
    s.ok(['clone', src, dst]);
    const c = conf(dst);
    assert.match(c, /^HOSTNAME="dst-\w+"$/m);
    assert.doesNotMatch(c, /IP_ADDRESS|PORTFWD|192\.0\.2\.7/);
    assert.match(c, /PHYSPAGES="0:300M"/, 'limits are kept');
    assert.match(c, new RegExp(`^LAYOUT="${layout}"$`, 'm'));
    const dstMac = /mac=([0-9a-f:]+)/.exec(c)?.[1];
    assert.ok(dstMac && srcMac && dstMac !== srcMac, `a new MAC: ${srcMac} -> ${dstMac}`);
    assert.equal(conf(src), srcConf, 'the source config is untouched');
    assert.equal(s.berth(['clone', src, dst]).code, 44);
    // a running source: frozen for the copy, its files and a machine-id reset in the clone
    s.ok(['set', src, '--netif_del', 'all', '--ipdel', 'all', '--portfwd-del', 'all', '--save']);
    s.ok(['destroy', dst]);
    s.ok(['start', src]);
    s.ok([
      'exec',
      src,
      '--',
      'sh',
      '-c',
      'echo 0123456789abcdef0123456789abcdef > /etc/machine-id; echo mine > /root/f',
    ]);
    s.ok(['clone', src, dst, '--hostname', 'copy']);
    assert.equal(s.ok(['exec', src, '--', 'cat', '/etc/machine-id']).trim(), '0123456789abcdef0123456789abcdef');
    s.ok(['start', dst]);
    assert.equal(s.ok(['exec', dst, '--', 'cat', '/root/f']), 'mine\n');
    const mid = s.ok(['exec', dst, '--', 'cat', '/etc/machine-id']);
    assert.match(mid, /^[0-9a-f]{32}\n$/, 'a fresh machine-id at first start');
    assert.notEqual(mid.trim(), '0123456789abcdef0123456789abcdef');
    assert.equal(s.ok(['exec', dst, '--', 'hostname']).trim(), 'copy');
    assert.doesNotMatch(conf(dst), /RESET_MACHINE_ID/, 'only at the first start');
    for (const id of [src, dst]) {
      s.ok(['stop', '--fast', id]);
      s.ok(['destroy', id]);
    }
  }
});

test('SIGKILL during clone: the next command for the new CTID rolls back, the source runs on', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', 'src', '--layout', 'dir']);
  s.ok(['start', 'src']);
  for (const ms of [0, 40, 80, 120, 170, 250]) {
    const dst = `d${ms}`;
    await killAfter(s, ['clone', 'src', dst], ms);
    s.ok(['set', 'src', '--description', `after ${ms}`]); // thawed by recovery if frozen
    assert.match(s.ok(['status', 'src']), / running$/m);
    const st = s.ok(['status', dst]);
    if (/ deleted /.test(st)) s.ok(['clone', 'src', dst]);
    s.ok(['start', dst]);
    s.ok(['exec', dst, '--', 'true']);
    s.ok(['stop', '--fast', dst]);
    s.ok(['destroy', dst]);
  }
  s.ok(['stop', '--fast', 'src']);
  assert.deepEqual(s.leaks(), []);
  t.diagnostic('6 SIGKILL points of clone checked');
});
