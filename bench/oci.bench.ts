// berth-oci against runc (Debian's, which containerd brings) on the same busybox bundle, in one
// run (issue 16's first target): create + start + delete --force of a container whose process
// sleeps, interleaved rounds, medians and the paired ratio. Needs root; not a test.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOciServer } from '../test/integration/docker-daemon.ts';
import { serverCounts, stopLxcfsUnder } from './cleanup.ts';
import { sh } from './crun.ts';
import { BERTH } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 15);
const OCI = join(BERTH, '..', 'berth-oci');

if (process.getuid?.() !== 0) throw new Error('run as root');
const runc = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
if (!runc) throw new Error('runc is not installed (apt-get install runc)');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-oci-'));
chmodSync(work, 0o711);
const root = join(work, 'berth');
// berth-oci's own paths (its lxcfs, id ranges, stages) under the bench's berth root
process.env['BERTH_ROOT'] = root;
const bundle = join(work, 'bundle');
const samples: Record<string, number[]> = { berth: [], runc: [] };
const stops: (() => void)[] = [];
try {
  sh(BERTH, ['--root', root, 'template', 'create', 'busybox']);
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  sh('tar', [
    '--zstd',
    '-xf',
    join(root, 'var/lib/berth/template/cache/busybox.tar.zst'),
    '-C',
    join(bundle, 'rootfs'),
  ]);
  sh(OCI, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['sleep', '30'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  // berth-oci as deployed: its call server (docs/oci.md); the counters say what it served
  const server = startOciServer(process.env);
  stops.push(() => {
    console.log(`call server: ${serverCounts(root)}`);
    server.stop();
  });
  const cycle = (bin: string, state: string, id: string) =>
    sh(bin, ['--root', state, 'create', '--bundle', bundle, id]) +
    sh(bin, ['--root', state, 'start', id]) +
    sh(bin, ['--root', state, 'delete', '--force', id]);
  cycle(OCI, join(work, 'oci-state'), 'warm-b');
  cycle(runc, join(work, 'runc-state'), 'warm-r');
  for (let i = 0; i < ROUNDS; i++) {
    samples['berth']?.push(cycle(OCI, join(work, 'oci-state'), `b${i}`));
    samples['runc']?.push(cycle(runc, join(work, 'runc-state'), `r${i}`));
  }
  const b = samples['berth'] ?? [];
  const r = samples['runc'] ?? [];
  console.log(`rounds: ${ROUNDS}`);
  console.log(`berth-oci create+start+delete ms: ${median(b).toFixed(1)}`);
  console.log(`runc create+start+delete ms: ${median(r).toFixed(1)}`);
  const ratio = median(b.map((x, i) => x / (r[i] ?? 1)));
  console.log(`berth-oci / runc (paired): ${ratio.toFixed(2)}`);
  console.log(`target (issue 16): at most runc's: ${ratio <= 1 ? 'met' : 'NOT met'}`);
} finally {
  for (const stop of stops) stop();
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
