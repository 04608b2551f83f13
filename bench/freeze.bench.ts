// Freeze: how long backup and snapshot hold a running dir container still (issue 14: at most
// 100 ms for 1 GB with a writer inside), against the freeze of a copy made whole while frozen
// (berth's way before: the time to archive the same files), in the same run. One throwaway
// root on the filesystem the containers live on; not part of the tests. Needs root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopLxcfsUnder } from './cleanup.ts';
import { BERTH } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const SIZE_MB = Number(process.env['SIZE_MB'] ?? 1024);
const FILES = Number(process.env['FILES'] ?? 5000);

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'berth-bench-freeze-'));
const root = join(work, 'berth');

function berth(...args: string[]): string {
  const r = spawnSync(BERTH, ['--root', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`berth ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout + r.stderr;
}
const frozen = (text: string) => Number(/frozen (\d+) ms/.exec(text)?.[1] ?? Number.NaN);

try {
  berth('template', 'create', 'busybox');
  berth('create', 'fz', '--layout', 'dir');
  berth('set', 'fz', '--ram', '2G', '--save');
  berth('start', 'fz');
  const fill = `dd if=/dev/urandom of=/data bs=1M count=${SIZE_MB} 2>/dev/null; mkdir /many; i=0; while [ $i -lt ${FILES} ]; do echo $i > /many/f$i; i=$((i+1)); done`;
  berth('exec', 'fz', '--', 'sh', '-c', fill);
  // a writer busy inside the whole time (each file replaced by a rename)
  const loop = 'i=1; while :; do echo $i > /a.t; mv /a.t /a; echo $i > /b.t; mv /b.t /b; i=$((i+1)); done';
  berth('exec', 'fz', '--', 'sh', '-c', `setsid sh -c '${loop}' </dev/null >/dev/null 2>&1 &`);
  const backup: number[] = [];
  const snapshot: number[] = [];
  const whole: number[] = [];
  const priv = join(root, 'var/lib/berth/private/fz');
  for (let i = 0; i < ROUNDS; i++) {
    const file = join(work, `b${i}.tar`);
    backup.push(frozen(berth('backup', 'fz', '-o', file)));
    rmSync(file, { force: true });
    snapshot.push(frozen(berth('snapshot', 'fz', '--name', `s${i}`)));
    berth('snapshot-delete', 'fz', '--name', `s${i}`);
    // what a freeze for the whole copy lasted: archiving the same files
    const t0 = process.hrtime.bigint();
    spawnSync('sh', [
      '-c',
      `tar --zstd -cpf ${work}/whole.tar.zst --numeric-owner --xattrs --acls --sparse -C ${priv} .`,
    ]);
    whole.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rmSync(join(work, 'whole.tar.zst'), { force: true });
  }
  const m = { backup: median(backup), snapshot: median(snapshot), whole: median(whole) };
  console.log(
    `frozen, running dir container of ${SIZE_MB} MB + ${FILES} files, writer inside, ${ROUNDS} rounds (medians):`,
  );
  console.log(`  backup   ${m.backup.toFixed(0)} ms   (all: ${backup.join(' ')})`);
  console.log(`  snapshot ${m.snapshot.toFixed(0)} ms   (all: ${snapshot.join(' ')})`);
  console.log(`  a freeze for the whole copy (archiving the files): ${m.whole.toFixed(0)} ms`);
  console.log(
    `  backup / whole-copy freeze: ${(m.backup / m.whole).toFixed(3)}x; target at most 100 ms: ${m.backup <= 100 ? 'met' : 'NOT met'}`,
  );
} finally {
  spawnSync(BERTH, ['--root', root, 'stop', '--fast', 'fz']);
  spawnSync(BERTH, ['--root', root, 'destroy', 'fz']);
  stopLxcfsUnder(root);
  rmSync(work, { recursive: true, force: true });
}
