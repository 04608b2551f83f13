// setup.sh's Debian package list for each release it supports, computed without installing
// anything (`setup.sh --print-packages N`), and checked against the host's apt where it is that release.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const SETUP = new URL('../../../setup.sh', import.meta.url).pathname;

function packages(release: string): { code: number; list: string[]; err: string } {
  const r = spawnSync('bash', [SETUP, '--print-packages', release], { encoding: 'utf8' });
  return { code: r.status ?? -1, list: r.stdout.trim().split(/\s+/).filter(Boolean), err: r.stderr };
}

// checked with `apt-cache policy` against bookworm's and trixie's lists: every name has a candidate
const EXPECTED =
  'gcc make libc6-dev libseccomp-dev pkgconf busybox-static zstd tar rsync debootstrap util-linux mount procps iproute2 nftables e2fsprogs attr acl lxcfs nodejs npm';
// for the tests only: Debian 13 moved promtool out of the prometheus package
const FOR_TESTS: Record<string, string> = {
  '12': 'prometheus chromium containerd docker.io podman',
  '13': 'prometheus promtool chromium containerd docker.io podman',
};

for (const release of ['12', '13']) {
  test(`setup.sh lists the packages of Debian ${release}`, () => {
    const r = packages(release);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.list, `${EXPECTED} ${FOR_TESTS[release]}`.split(' '));
  });
}

test('setup.sh refuses a release it does not know', () => {
  const r = packages('11');
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown Debian release 11/);
});

test("the host's apt has a candidate for every package of its release", (t) => {
  const version = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8') : '';
  const release = /^(12|13)\b/.exec(version)?.[1];
  if (!release) return t.skip(`not Debian 12 or 13 (${version.trim() || 'no /etc/debian_version'})`);
  const list = packages(release).list;
  const r = spawnSync('apt-cache', ['policy', ...list], { encoding: 'utf8' });
  if (r.status !== 0 || !/Candidate: \d/.test(r.stdout)) return t.skip('apt has no package lists (apt-get update)');
  // one block per known package: "NAME:" then indented lines, among them "Candidate: VERSION"
  const candidate = new Map<string, string>();
  let name = '';
  for (const line of r.stdout.split('\n')) {
    if (/^\S+:$/.test(line)) name = line.slice(0, -1);
    const m = /^\s+Candidate: (\S+)/.exec(line);
    if (m?.[1] && name) candidate.set(name, m[1]);
  }
  const none = list.filter((p) => (candidate.get(p) ?? '(none)') === '(none)');
  assert.deepEqual(none, []);
});
