/*
 * User namespaces and idmapped mounts for unprivileged containers (`--idmap BASE COUNT`).
 *
 * A container's files stay on disk as a privileged container's would (uid 0 is 0), so backups,
 * clones, snapshots and templates never depend on an id range. Its root as the host and the
 * container see it (VE_ROOT) is an idmapped mount: on-disk id N shows as BASE+N on the host, and
 * as N inside the container's user namespace, whose uid/gid maps are "0 BASE COUNT".
 * overlayfs cannot be idmapped itself, so its layers are: the template layer and the private
 * area each get an idmapped clone, and the overlay is mounted with the container root's ids
 * as its mounter's, so that what it creates in its upper layer lands with on-disk ids too.
 */
#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <limits.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int idmap_write(pid_t pid, unsigned base, unsigned count) {
  char path[64], map[64];
  int n = snprintf(map, sizeof map, "0 %u %u\n", base, count);
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, k ? "gid_map" : "uid_map");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t w = write(fd, map, (size_t)n);
    int e = w == n ? 0 : w < 0 ? errno : EIO;
    close(fd);
    if (e) return e;
  }
  return 0;
}

/* A user namespace with the container's maps, for mount_setattr: a short-lived child makes
 * it, we write its maps, keep a reference (the fd) and let the child go. */
int idmap_userns(unsigned base, unsigned count, int *fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  pid_t self = getpid();
  pid_t c = fork();
  if (c < 0) return errno;
  if (c == 0) {
    /* it goes with us: a helper killed before its kill below must not leave it pausing forever
     * (with our fds: the container's cgroup files) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self) _exit(1);
    char x = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'e';
    if (write(p[1], &x, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(p[1]);
  char x = 0, path[64];
  int e = read(p[0], &x, 1) == 1 && x == 'u' ? 0 : EPERM;
  close(p[0]);
  if (!e) e = idmap_write(c, base, count);
  if (!e) {
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) e = errno;
  }
  kill(c, SIGKILL);
  while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
  }
  return e;
}

/* A detached, idmapped (and maybe read-only) copy of the mount tree at PATH, or -1. */
static int idmapped_tree(const char *path, int userns, int ro) {
  return idmap_tree(path, userns, ro ? MS_RDONLY : 0);
}

/* An overlay's layer: that directory alone, not the mounts under it (Docker's and Podman's layer
 * directory holds the image's own overlay, at merged/, which cannot be idmapped: EINVAL) */
static int idmapped_layer(const char *path, int userns, int ro) {
  return idmap_tree(path, userns, (ro ? MS_RDONLY : 0) | IDMAP_NOT_RECURSIVE);
}

int idmap_tree(const char *path, int userns, unsigned long flags) {
  unsigned rec = flags & IDMAP_NOT_RECURSIVE ? 0 : AT_RECURSIVE;
  int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
  if (t < 0) return -1;
  unsigned long long set = MOUNT_ATTR_IDMAP | (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) |
                           (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) | (flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) |
                           (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
  struct mount_attr a = {.attr_set = set, .userns_fd = (uint64_t)userns, .propagation = MS_PRIVATE};
  if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0) {
    int e = errno;
    close(t);
    errno = e;
    return -1;
  }
  return t;
}

int idmap_in_place(const char *dst, int userns, int ro) {
  int t = idmapped_tree(dst, userns, ro);
  if (t < 0) return errno;
  /* the plain mount goes; the idmapped copy takes its place (it keeps the superblock, and with
   * it an image's loop device, alive) */
  if (umount2(dst, MNT_DETACH) < 0 ||
      syscall(SYS_move_mount, t, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    int e = errno;
    close(t);
    return e;
  }
  close(t);
  return 0;
}

/* the value of KEY= in overlay mount data (copied into OUT), or NULL */
static const char *option(const char *data, const char *key, char *out, size_t size) {
  size_t klen = strlen(key);
  for (const char *p = data; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    if (strncmp(p, key, klen) != 0 || p[klen] != '=') continue;
    const char *v = p + klen + 1, *end = strchr(v, ',');
    size_t n = end ? (size_t)(end - v) : strlen(v);
    if (n >= size) return NULL;
    memcpy(out, v, n);
    out[n] = 0;
    return out;
  }
  return NULL;
}

/* Attaches the detached tree T (closed here) at DIR/NAME, made for it; 0 or an errno. */
static int attach(int t, const char *dir, const char *name, char *path, size_t size) {
  int e = 0;
  if (t < 0) return errno;
  if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size) e = E2BIG;
  else if (mkdir(path, 0700) < 0 || syscall(SYS_move_mount, t, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    e = errno;
  close(t);
  return e;
}

/* The overlay on STAGE/o, made in our private mount namespace from layers attached under STAGE. */
static int overlay_staged(const char *data, const char *stage, unsigned base, int userns, int ro) {
  char lower[16384], upper[1024], work[1024], parent[1024], out[32768], path[PATH_MAX], name[16];
  if (!option(data, "lowerdir", lower, sizeof lower)) return EINVAL;
  int n = snprintf(out, sizeof out, "lowerdir="), e, k = 0;
  /* each lower layer through its own idmapped copy */
  for (char *save = NULL, *l = strtok_r(lower, ":", &save); l; l = strtok_r(NULL, ":", &save)) {
    snprintf(name, sizeof name, "l%d", k++);
    if ((e = attach(idmapped_layer(l, userns, 1), stage, name, path, sizeof path))) return e;
    n += snprintf(out + n, sizeof out - (size_t)n, "%s%s", n > 9 ? ":" : "", path);
  }
  if (option(data, "upperdir", upper, sizeof upper) && option(data, "workdir", work, sizeof work)) {
    /* upper and work must sit on one mount: one idmapped copy of their common parent */
    char *slash = strrchr(upper, '/');
    if (!slash || strncmp(upper, work, (size_t)(slash - upper + 1)) != 0 || strchr(work + (slash - upper + 1), '/'))
      return EINVAL;
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - upper), upper);
    if ((e = attach(idmapped_layer(parent, userns, 0), stage, "u", path, sizeof path))) return e;
    n += snprintf(out + n, sizeof out - (size_t)n, ",upperdir=%s/%s,workdir=%s/%s", path, slash + 1, path,
                  work + (slash - upper + 1));
  }
  /* the overlay's other options as given (index=off, metacopy=on, redirect_dir=...) */
  for (const char *p = data; p && *p && (size_t)n < sizeof out; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    size_t len = strchr(p, ',') ? (size_t)(strchr(p, ',') - p) : strlen(p);
    if (!len || !strncmp(p, "lowerdir=", 9) || !strncmp(p, "upperdir=", 9) || !strncmp(p, "workdir=", 8)) continue;
    n += snprintf(out + n, sizeof out - (size_t)n, ",%.*s", (int)len, p);
  }
  if ((size_t)n >= sizeof out) return E2BIG;
  snprintf(path, sizeof path, "%s/o", stage);
  if (mkdir(path, 0700) < 0) return errno;
  /* overlayfs does its own work (the work directory, copy-up) with its mounter's credentials:
   * with the container root's fsuid/fsgid, that work maps back to on-disk 0 through the
   * idmapped upper. SECBIT_NO_SETUID_FIXUP keeps our capabilities across setfsuid. */
  int bits = prctl(PR_GET_SECUREBITS);
  if (bits < 0 || prctl(PR_SET_SECUREBITS, bits | SECBIT_NO_SETUID_FIXUP) < 0) return errno;
  setfsgid(base);
  setfsuid(base);
  int rc = mount("overlay", path, "overlay", ro ? MS_RDONLY : 0, out);
  e = errno;
  setfsuid(0);
  setfsgid(0);
  prctl(PR_SET_SECUREBITS, bits);
  return rc < 0 ? e : 0;
}

/* overlayfs before Linux 6.15 takes no detached mount as a layer (clone_private_mount wants one
 * in the caller's namespace: EINVAL on Debian 12's 6.1 and 13's 6.12), so the idmapped layers
 * are attached in a private mount namespace of ours, on a tmpfs over DST there; the overlay made
 * there is cloned, and the copy moved onto DST in the host's namespace. The private namespace,
 * and with it every staging mount, goes when we leave it. */
int idmap_overlay(const char *data, const char *dst, unsigned base, int userns, int ro) {
  int host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), cwd = open(".", O_PATH | O_CLOEXEC), t = -1, e = 0;
  char over[PATH_MAX];
  if (host < 0 || cwd < 0) e = errno;
  else if (unshare(CLONE_NEWNS) < 0) e = errno;
  else {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("tmpfs", dst, "tmpfs", 0, "mode=0700") < 0)
      e = errno;
    else if (!(e = overlay_staged(data, dst, base, userns, ro))) {
      snprintf(over, sizeof over, "%s/o", dst);
      t = (int)syscall(SYS_open_tree, AT_FDCWD, over, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (t < 0) e = errno;
    }
    /* back in the host's namespace (a failure here leaves us in the wrong one: fatal) */
    if (setns(host, CLONE_NEWNS) < 0 || fchdir(cwd) < 0) {
      perror("berth-nsexec: idmap: back to the host's mount namespace");
      _exit(1);
    }
    if (!e && syscall(SYS_move_mount, t, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) e = errno;
  }
  if (t >= 0) close(t);
  if (host >= 0) close(host);
  if (cwd >= 0) close(cwd);
  return e;
}
