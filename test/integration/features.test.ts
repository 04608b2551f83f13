// FEATURES fuse, tun and nesting in an unprivileged container: each is refused while off and
// works while on, checked from the host (the container's mountinfo, its network namespace's
// devices, a nested pid namespace's NSpid), not by an exit code inside.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { GCC_SKIP, ROOT_SKIP, type Sandbox, sandbox, staticProgram } from './harness.ts';

// fuse DIR: mounts a fuse file system that serves nothing (the mount existing is the effect).
// tun NAME: makes a persistent tun device. nest DIR: a new user, mount, pid and net namespace whose
// pid 1 mounts a new proc on DIR and a sysfs (of its own network namespace) on DIR-sys, reports, then sleeps with its output closed for the host to see.
const PROBE = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
static int put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  int r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
  close(fd);
  return r;
}
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (strcmp(argv[1], "fuse") == 0) {
    int fd = open("/dev/fuse", O_RDWR);
    if (fd < 0) { printf("open %s\\n", strerror(errno)); return 1; }
    char opts[128];
    snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
    mkdir(argv[2], 0755);
    if (mount("probe", argv[2], "fuse.probe", MS_NOSUID | MS_NODEV, opts) < 0) {
      printf("mount %s\\n", strerror(errno));
      return 1;
    }
    printf("mounted\\n");
    return 0;
  }
  if (strcmp(argv[1], "tun") == 0) {
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) { printf("open %s\\n", strerror(errno)); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[2]);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
      printf("tun %s\\n", strerror(errno));
      return 1;
    }
    printf("tun %s\\n", ifr.ifr_name);
    return 0;
  }
  if (strcmp(argv[1], "nest") == 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) < 0) { printf("unshare %s\\n", strerror(errno)); return 1; }
    if (put("/proc/self/setgroups", "deny") < 0 || put("/proc/self/uid_map", "0 0 1") < 0 ||
        put("/proc/self/gid_map", "0 0 1") < 0) {
      printf("map %s\\n", strerror(errno));
      return 1;
    }
    int p[2];
    if (pipe(p) < 0) return 1;
    pid_t pid = fork();
    if (pid < 0) { printf("fork %s\\n", strerror(errno)); return 1; }
    if (pid == 0) {
      close(p[0]);
      mkdir(argv[2], 0755);
      char sys[256], msg[128] = "proc sysfs mounted\\n";
      snprintf(sys, sizeof sys, "%s-sys", argv[2]);
      mkdir(sys, 0755);
      if (mount("proc", argv[2], "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        snprintf(msg, sizeof msg, "mount proc %s\\n", strerror(errno));
      else if (mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        snprintf(msg, sizeof msg, "mount sysfs %s\\n", strerror(errno));
      if (write(p[1], msg, strlen(msg)) < 0) return 1;
      close(p[1]);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      sleep(120);
      return 0;
    }
    close(p[1]);
    char buf[128] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    if (n > 0) buf[n] = 0;
    printf("%s", buf);
    return 0;
  }
  return 2;
}
`;

/** How many processes of the container whose init is PID have a UTS namespace other than init's (host side). */
function otherUts(pid: number): number {
  const uts = readlinkSync(`/proc/${pid}/ns/uts`);
  const pidNs = readlinkSync(`/proc/${pid}/ns/pid_for_children`);
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/pid`) === pidNs && readlinkSync(`/proc/${d}/ns/uts`) !== uts;
      } catch {
        return false; // gone meanwhile
      }
    }).length;
}

const skip = ROOT_SKIP || GCC_SKIP;

/** A sandbox with the probe built, and a function that copies it into a running container; null: skipped. */
function withProbe(t: TestContext): { s: Sandbox; install: (ct: string) => void } | null {
  const s = sandbox(t);
  const bin = staticProgram(t, s, 'probe', { text: PROBE });
  return bin ? { s, install: (ct: string) => s.copyIn(ct, bin, '/probe') } : null;
}

const initPid = (s: Sandbox, ct: string) => Number(s.ok(['list', '-o', 'pid', '-H', ct]).trim());

/** The mounts of a container process as the host reads them: mount point and fs type. */
function mountsOf(pid: number): { point: string; fstype: string }[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      return { point: f[4] ?? '', fstype: f[f.indexOf('-') + 1] ?? '' };
    });
}

/** Host pids of processes three pid namespaces deep whose command line names TOKEN. */
function nestedProbes(token: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/) ?? [];
        return cmd.includes(token) && nspid.length === 3 && nspid[2] === '1';
      } catch {
        return false;
      }
    });
}

test('features: refused while off, on gives fuse, tun and nesting to an unprivileged container', { skip }, (t) => {
  const p = withProbe(t);
  if (!p) return;
  const { s, install } = p;
  const probe = (ct: string, ...args: string[]) => s.berth(['exec', ct, '--', '/probe', ...args]);
  s.ok(['create', 'f1']);

  // off: no node, no mount, no device, no nested proc
  s.ok(['start', 'f1']);
  install('f1');
  let pid = initPid(s, 'f1');
  assert.match(probe('f1', 'fuse', '/mnt/f').out, /^open No such file/);
  assert.ok(!mountsOf(pid).some((m) => m.point === '/mnt/f'), 'no fuse mount while off');
  assert.match(probe('f1', 'tun', 'ftun0').out, /^open No such file/);
  assert.doesNotMatch(readFileSync(`/proc/${pid}/net/dev`, 'utf8'), /ftun0:/);
  const off = probe('f1', 'nest', '/tmp/nproc-off');
  assert.match(off.out, /^mount proc Operation not permitted/, off.err);
  const [offPid] = nestedProbes('nproc-off');
  assert.ok(offPid, 'the nested pid namespace is there (3 levels in NSpid) though its proc mount was refused');
  assert.ok(!mountsOf(offPid).some((m) => m.point === '/tmp/nproc-off'));
  // no new UTS or IPC namespace without nesting (checkpoints need that): refused, none made
  const refused = s.berth(['exec', 'f1', '--', 'unshare', '-u', '-i', 'true']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /Operation not permitted/);
  s.berth(['exec', 'f1', '--', 'sh', '-c', 'unshare -u sleep 600 </dev/null >/dev/null 2>&1 &']);
  spawnSync('sleep', ['0.3']);
  assert.equal(otherUts(pid), 0, 'no process of the container has a UTS namespace of its own');

  // set on a running container: saved, applied at the next start, and said so
  const set = s.berth(['set', 'f1', '--features', 'fuse:on,tun:on', '--features', 'nesting:on', '--save']);
  assert.equal(set.code, 0, set.err);
  assert.match(set.err, /FEATURES.*apply from its next start/);
  assert.match(set.err, /FEATURES=fuse:on tun:on nesting:on/);
  assert.equal(s.ok(['list', '-o', 'features', '-H', 'f1']).trim(), 'fuse:on tun:on nesting:on');
  s.ok(['restart', 'f1']);
  install('f1');
  pid = initPid(s, 'f1');

  const fuse = probe('f1', 'fuse', '/mnt/f');
  assert.equal(fuse.out, 'mounted\n', fuse.err);
  assert.ok(
    mountsOf(pid).some((m) => m.point === '/mnt/f' && m.fstype === 'fuse.probe'),
    'the fuse mount is in the container',
  );
  const tun = probe('f1', 'tun', 'ftun0');
  assert.equal(tun.out, 'tun ftun0\n', tun.err);
  assert.match(readFileSync(`/proc/${pid}/net/dev`, 'utf8'), /ftun0:/, "in the container's network namespace");
  assert.doesNotMatch(readFileSync('/proc/net/dev', 'utf8'), /ftun0:/, "not in the host's");

  s.ok(['exec', 'f1', '--', 'sh', '-c', 'unshare -u -i sleep 600 </dev/null >/dev/null 2>&1 &']);
  spawnSync('sleep', ['0.3']);
  assert.equal(otherUts(pid), 1, 'with nesting, a process made a UTS namespace of its own');
  const on = probe('f1', 'nest', '/tmp/nproc-on');
  assert.equal(on.out, 'proc sysfs mounted\n', on.err);
  const [onPid] = nestedProbes('nproc-on');
  assert.ok(onPid, 'a nested pid namespace, 3 levels in NSpid');
  assert.ok(
    mountsOf(onPid).some((m) => m.point === '/tmp/nproc-on' && m.fstype === 'proc'),
    'its own proc is mounted',
  );
  assert.ok(
    mountsOf(onPid).some((m) => m.point === '/tmp/nproc-on-sys' && m.fstype === 'sysfs'),
    'and its sysfs',
  );
  // and that proc is the nested namespace's: its pid 1 is the probe
  assert.match(readFileSync(`/proc/${onPid}/root/tmp/nproc-on/1/cmdline`, 'utf8'), /nproc-on/);

  // off again: the nodes and the unmasked proc go at the next start
  s.ok(['set', 'f1', '--features', 'fuse:off,tun:off,nesting:off', '--save']);
  assert.equal(s.ok(['list', '-o', 'features', '-H', 'f1']).trim(), '-');
  s.ok(['restart', 'f1']);
  pid = initPid(s, 'f1');
  assert.ok(!mountsOf(pid).some((m) => m.point.startsWith('/dev/.berth')));
  assert.ok(!existsSync(`/proc/${pid}/root/dev/fuse`));
});

test('features: nesting in a privileged container (its masked /proc refuses a nested one too)', { skip }, (t) => {
  const p = withProbe(t);
  if (!p) return;
  const { s, install } = p;
  s.ok(['create', 'p1', '--privileged', 'yes']);
  s.ok(['start', 'p1']);
  install('p1');
  assert.match(
    s.berth(['exec', 'p1', '--', '/probe', 'nest', '/tmp/pproc-off']).out,
    /^mount proc Operation not permitted/,
  );
  s.ok(['set', 'p1', '--features', 'nesting:on', '--save']);
  s.ok(['restart', 'p1']);
  install('p1');
  const on = s.berth(['exec', 'p1', '--', '/probe', 'nest', '/tmp/pproc-on']);
  assert.equal(on.out, 'proc sysfs mounted\n', on.err);
  const [pid] = nestedProbes('pproc-on');
  assert.ok(pid && mountsOf(pid).some((m) => m.point === '/tmp/pproc-on' && m.fstype === 'proc'));
});

test("features: vzctl's other names and bad words are refused at set time", { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'f2']);
  const ppp = s.berth(['set', 'f2', '--features', 'ppp:on', '--save']);
  assert.equal(ppp.code, 21);
  assert.match(ppp.err, /feature ppp: not available/);
  assert.match(s.berth(['set', 'f2', '--features', 'fuse:yes', '--save']).err, /invalid feature "fuse:yes"/);
  const live = s.berth(['set', 'f2', '--features', 'fuse:on']);
  assert.equal(live.code, 20, 'needs --save');
  assert.doesNotMatch(readFileSync(join(s.root, 'etc/berth/ct/f2.conf'), 'utf8'), /FEATURES/);
});
