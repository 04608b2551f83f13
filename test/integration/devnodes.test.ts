// DEVNODES in an unprivileged container: /dev/net/tun is usable (its root owns a node of its
// own; the host's is root's, often 0600), TUNSETIFF works from inside, and the devices cgroup
// still holds: r is read-only, a node not named stays closed, the host's node is untouched.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GCC_SKIP, ROOT_SKIP, sandbox, staticProgram } from './harness.ts';

// opens a node (O_RDWR, or O_RDONLY with "r") and, for /dev/net/tun, asks for a tun interface
const PROBE = `#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], argc > 2 ? O_RDONLY : O_RDWR);
  if (fd < 0) { printf("open %s\\n", strerror(errno)); return 1; }
  if (strcmp(argv[1], "/dev/net/tun") != 0) { printf("opened\\n"); return 0; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strcpy(ifr.ifr_name, "btun0");
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { printf("TUNSETIFF %s\\n", strerror(errno)); return 1; }
  printf("tun %s\\n", ifr.ifr_name);
  return 0;
}
`;

const skip =
  ROOT_SKIP || (existsSync('/dev/net/tun') ? false : 'the host has no /dev/net/tun (modprobe tun)') || GCC_SKIP;

test('devnodes net/tun:rw works in an unprivileged container, and the policy still holds', { skip }, (t) => {
  const s = sandbox(t);
  const bin = staticProgram(t, s, 'tunprobe', { text: PROBE });
  if (!bin) return;
  const host = statSync('/dev/net/tun');
  const own = join(s.root, 'var/lib/berth/devices/d1');
  const probe = (ct: string, ...args: string[]) => s.berth(['exec', ct, '--', '/tunprobe', ...args]);
  const install = (ct: string) => s.copyIn(ct, bin, '/tunprobe');

  s.ok(['create', 'd1']);
  s.ok(['set', 'd1', '--devnodes', 'net/tun:rw', '--save']);
  s.ok(['start', 'd1']);
  install('d1');
  const ok = probe('d1', '/dev/net/tun');
  assert.equal(ok.out, 'tun btun0\n', ok.err);
  // owned by the container's root inside, with the host node's mode
  const ls = s.ok(['exec', 'd1', '--', 'stat', '-c', '%u %g %a', '/dev/net/tun']).trim();
  assert.equal(ls, `0 0 ${(host.mode & 0o777).toString(8)}`);
  // not named in DEVNODES: no node, and one the container makes cannot be opened
  assert.match(probe('d1', '/dev/fuse').out, /^open No such file/);
  assert.notEqual(s.berth(['exec', 'd1', '--', 'mknod', '/tmp/tun2', 'c', '10', '200']).code, 0);
  s.ok(['stop', 'd1']);
  assert.ok(!existsSync(own), 'its nodes go with the running container');

  // r: reading is allowed, writing (which TUNSETIFF needs) is not
  s.ok(['set', 'd1', '--devnodes', 'net/tun:r', '--save']);
  s.ok(['start', 'd1']);
  assert.equal(probe('d1', '/dev/net/tun').out, 'open Operation not permitted\n');
  assert.doesNotMatch(probe('d1', '/dev/net/tun', 'r').out, /^open /);
  s.ok(['set', 'd1', '--devnodes', 'net/tun:none', '--save']);
  s.ok(['restart', 'd1']);
  assert.match(probe('d1', '/dev/net/tun').out, /^open No such file/);

  // a privileged container gets the host's node itself
  s.ok(['create', 'd2', '--privileged', 'yes']);
  s.ok(['set', 'd2', '--devnodes', 'net/tun:rw', '--save']);
  s.ok(['start', 'd2']);
  install('d2');
  assert.equal(probe('d2', '/dev/net/tun').out, 'tun btun0\n');
  assert.ok(!existsSync(join(s.root, 'var/lib/berth/devices/d2')));

  s.ok(['stop', 'd1']);
  s.ok(['destroy', 'd1']);
  assert.ok(!existsSync(own));
  const after = statSync('/dev/net/tun');
  assert.deepEqual([after.mode, after.uid, after.gid], [host.mode, host.uid, host.gid], "the host's node is untouched");
});
