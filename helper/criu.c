/*
 * criu.c: --criu-restore STAGE (docs/design/criu-recipe.md §4). berth decides the argv of
 * criu restore; we make what it needs that only a process here can make, and report facts:
 *
 *   - STAGE, 0700 and owned by the container's BASE: CRIU opens external mount sources from
 *     inside the restored user namespace, where berth's run directory (0700 root) is EACCES;
 *     lxcfs's mount is bound under it, and a new devpts instance holds the console;
 *   - the console: pty 0 of that devpts; its slave goes to criu on TTY_FD (--inherit-fd takes
 *     it for init's stdio), its master to the keeper, as at start;
 *   - carried enter sessions: ptys 1, 2, ... of that devpts; their slaves go to criu on the fds
 *     after TTY_FD (each shell's stdio), their masters to the keeper, attached to by number;
 *   - criu runs as our child (-d: it returns once the tree runs), then the stage goes: the
 *     container's binds keep the devpts alive.
 *
 * As in nsexec.c, no heap cleanup: we exit soon, or die.
 */
#define _GNU_SOURCE
#include "criu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fds.h"
#include "idmap.h"
#include "report.h"

static char lx_dir[PATH_MAX], pts_dir[PATH_MAX], dev_dir[PATH_MAX], bind_dir[PATH_MAX];

static void unstage(const struct criu_plan *p) {
  /* detached: the restored container's binds hold their own references */
  if (p->lxcfs) umount2(lx_dir, MNT_DETACH);
  if (p->ndevs) {
    umount2(dev_dir, MNT_DETACH);
    rmdir(dev_dir);
  }
  for (int b = 0; b < p->nbinds; b++) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%d", bind_dir, b);
    umount2(path, MNT_DETACH);
    if (rmdir(path) < 0) unlink(path);
  }
  if (p->nbinds) rmdir(bind_dir);
  umount2(pts_dir, MNT_DETACH);
  rmdir(lx_dir);
  rmdir(pts_dir);
  rmdir(p->stage);
}

static void __attribute__((noreturn)) fail(const struct criu_plan *p, const char *step, const char *what) {
  int e = errno;
  unstage(p);
  errno = e;
  die_errno(step, "%s", what);
}

static pid_t read_pidfile(const char *path) {
  char buf[32] = "";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  return n > 0 ? (pid_t)atoi(buf) : 0;
}

/*
 * Pty WANT of the staged devpts (a new instance hands them out in order, from 0): its master
 * and slave both far above the fds criu is given, so no dup2 there closes one (closing the
 * master frees the pty), the slave owned by the container's root and tty group.
 */
static void staged_pty(const struct criu_plan *p, const char *ptmx, int want, const char *step, int *master, int *slave) {
  int unlock = 0, n = -1;
  int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0) fail(p, step, "open the staged ptmx");
  if (n != want) {
    errno = EEXIST;
    fail(p, step, "the staged devpts gave another pty than the next one");
  }
  *master = fcntl(m, F_DUPFD_CLOEXEC, 100);
  close(m);
  int s = *master >= 0 ? ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
  *slave = s >= 0 ? fcntl(s, F_DUPFD_CLOEXEC, 100) : -1;
  if (s >= 0) close(s);
  if (*slave < 0) fail(p, step, "open the pty's slave");
  if (p->base && fchown(*slave, p->base, p->base + 5) < 0) fail(p, step, "chown the pty's slave");
}

int criu_restore(const struct criu_plan *p, struct keeper_plan *k, int keep) {
  snprintf(lx_dir, sizeof lx_dir, "%s/lxcfs", p->stage);
  snprintf(pts_dir, sizeof pts_dir, "%s/pts", p->stage);
  /* a fresh name from berth: an existing one is not ours to reuse */
  if (mkdir(p->stage, 0700) < 0) die_errno("stage", "mkdir %s", p->stage);
  if (p->base && chown(p->stage, p->base, p->base) < 0) fail(p, "stage", "chown the stage");
  if (p->lxcfs && (mkdir(lx_dir, 0700) < 0 || mount(p->lxcfs, lx_dir, NULL, MS_BIND | MS_REC, NULL) < 0))
    fail(p, "stage", "bind lxcfs into the stage");
  /* the container's own device nodes (root-only directories above them): each bound on a file of
   * a tmpfs in the stage, names from berth (a relative path without ".."), its dirs BASE's */
  snprintf(dev_dir, sizeof dev_dir, "%s/dev", p->stage);
  if (p->ndevs) {
    char opts[64];
    snprintf(opts, sizeof opts, "mode=0700,uid=%u,gid=%u", p->base, p->base);
    if (mkdir(dev_dir, 0700) < 0 || mount("tmpfs", dev_dir, "tmpfs", MS_NOSUID | MS_NOEXEC, opts) < 0)
      fail(p, "stage", "mount a tmpfs for the device nodes");
  }
  for (int d = 0; d < p->ndevs; d++) {
    const char *name = p->devs[d][1];
    char path[PATH_MAX + 64];
    if (name[0] == '/' || strstr(name, "..") || strlen(name) > 63) {
      errno = EINVAL;
      fail(p, "stage", "a device node's name");
    }
    snprintf(path, sizeof path, "%s/%s", dev_dir, name);
    for (char *q = path + strlen(dev_dir) + 1; (q = strchr(q, '/')); q++) {
      *q = 0;
      if (mkdir(path, 0700) < 0 && errno != EEXIST) fail(p, "stage", "mkdir for a device node");
      if (p->base && chown(path, p->base, p->base) < 0) fail(p, "stage", "chown for a device node");
      *q = '/';
    }
    int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f < 0) fail(p, "stage", "a file for a device node");
    close(f);
    if (mount(p->devs[d][0], path, NULL, MS_BIND, NULL) < 0) fail(p, "stage", "bind a device node into the stage");
  }
  /* BINDMOUNTs: start binds an unprivileged container's idmapped (helper/idmap.c); CRIU binds
   * what it is given as it is, so it gets idmapped copies, made with a user namespace of the
   * container's map (the restored one does not exist yet) */
  snprintf(bind_dir, sizeof bind_dir, "%s/bind", p->stage);
  if (p->nbinds) {
    int uns = -1;
    errno = p->base ? idmap_userns(p->base, 65536, &uns) : EINVAL;
    if (errno || mkdir(bind_dir, 0700) < 0 || chown(bind_dir, p->base, p->base) < 0)
      fail(p, "stage", "a user namespace and a directory for the bind mounts");
    for (int b = 0; b < p->nbinds; b++) {
      char path[PATH_MAX + 16];
      struct stat st;
      snprintf(path, sizeof path, "%s/%d", bind_dir, b);
      int t = idmap_tree(p->binds[b], uns, 0);
      if (t < 0 || fstat(t, &st) < 0) fail(p, "stage", "an idmapped copy of a bind mount's source");
      int made = S_ISDIR(st.st_mode) ? mkdir(path, 0700) : close(open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (made < 0 || syscall(SYS_move_mount, t, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        fail(p, "stage", "attach a bind mount's idmapped copy");
      close(t);
    }
    close(uns);
  }
  char data[128];
  snprintf(data, sizeof data, "newinstance,ptmxmode=0666,mode=0620,gid=%u", p->base + 5);
  if (mkdir(pts_dir, 0700) < 0 || mount("devpts", pts_dir, "devpts", MS_NOSUID | MS_NOEXEC, data) < 0)
    fail(p, "stage", "mount a devpts in the stage");
  char ptmx[PATH_MAX + 8];
  snprintf(ptmx, sizeof ptmx, "%s/ptmx", pts_dir);
  /* berth's argv names pts/0 for the console: a new instance's first pty */
  int master, slave;
  staged_pty(p, ptmx, 0, "console", &master, &slave);
  /* the enter sessions' ptys come after the console's: 1, 2, ... */
  int s_master[KEEPER_MAX_SESSIONS], s_slave[KEEPER_MAX_SESSIONS];
  for (int k = 0; k < p->nsessions; k++) {
    staged_pty(p, ptmx, k + 1, "session", &s_master[k], &s_slave[k]);
    /* the pty as CRIU will key it when this container is dumped again (its master is the keeper's) */
    struct stat st;
    if (fstat(s_slave[k], &st) < 0) fail(p, "session", "stat a session's slave");
    char rec[128];
    int len = snprintf(rec, sizeof rec, "{\"session\":%d,\"rdev\":%llu,\"dev\":%llu}\n", p->session_num[k],
                       (unsigned long long)st.st_rdev, (unsigned long long)st.st_dev);
    if (status_fd >= 0) write_all(status_fd, rec, (size_t)len);
  }
  pid_t c = fork();
  if (c < 0) fail(p, "fork", "fork criu");
  if (c == 0) {
    /* dup2 clears close-on-exec on TTY_FD (and the sessions' above it) only: criu gets those
     * and our stdio (berth's log) */
    if (dup2(slave, p->tty_fd) < 0) _exit(127);
    for (int k = 0; k < p->nsessions; k++)
      if (dup2(s_slave[k], p->tty_fd + 1 + k) < 0) _exit(127);
    execv(p->argv[0], p->argv);
    _exit(127);
  }
  close(slave);
  for (int k = 0; k < p->nsessions; k++) close(s_slave[k]);
  int st = 0;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    unstage(p);
    die_msg("criu", "criu restore %s %d (see its restore.log)", WIFEXITED(st) ? "exited" : "killed by signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
  }
  unstage(p);
  pid_t init = read_pidfile(p->pidfile);
  if (init <= 0) {
    errno = ENOENT;
    die_errno("criu", "read the restored init's pid from %s", p->pidfile);
  }
  status_pid(init);
  if (!keep) return 0;
  pid_t kp = fork();
  if (kp < 0) die_errno("keeper", "fork");
  if (kp == 0) {
    k->init = init;
    k->nsessions = p->nsessions;
    for (int j = 0; j < p->nsessions; j++) {
      k->session_num[j] = p->session_num[j];
      k->session_master[j] = s_master[j];
    }
    /* no seccomp listener: the restored filter's is gone (CRIU cannot hand out a new one) */
    keeper_run(k, master, -1);
  }
  close(master);
  for (int j = 0; j < p->nsessions; j++) close(s_master[j]);
  char rec[64];
  int len = snprintf(rec, sizeof rec, "{\"keeper\":%d}\n", (int)kp);
  if (status_fd >= 0) write_all(status_fd, rec, (size_t)len);
  return 0;
}
