/* treesync.c: the catch-up pass of a copy made while a container ran (--tree-sync). berth copies
 * the container's files with rsync while it runs, freezes it, and has us bring the copy up to
 * date: only what changed since the copy began, found by ctime (which the container cannot set
 * back, unlike mtime). One process and one walk: the container stays frozen for milliseconds.
 *
 * The source is frozen, so nothing moves under us; it is still the container's content, so we
 * never follow a symlink in it. The destination is berth's own (a 0700 work directory).
 * A changed file with several names is copied once and linked for the others. */
#define _GNU_SOURCE
#include "treesync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "report.h"

static struct timespec since;
static int depth; /* of the directory being walked: a container can nest directories past any stack */
#define MAX_DEPTH 256
static int dst_root; /* the copy's top, for linking a second name to a file copied this pass */

/* the changed files with several names copied so far: the next name is linked, not copied */
static struct linked {
  dev_t dev;
  ino_t ino;
  char *path; /* relative to dst_root */
} *links;
static size_t n_links;

static const char *linked_path(const struct stat *st) {
  for (size_t k = 0; k < n_links; k++)
    if (links[k].dev == st->st_dev && links[k].ino == st->st_ino) return links[k].path;
  return NULL;
}

static int changed(const struct stat *st) {
  return st->st_ctim.tv_sec > since.tv_sec ||
         (st->st_ctim.tv_sec == since.tv_sec && st->st_ctim.tv_nsec >= since.tv_nsec);
}

/* removes NAME under DIRFD, a directory with all it holds */
static void remove_at(int dirfd, const char *name) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) die_errno("tree-sync", "remove %s", name);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die_errno("tree-sync", "open %s", name);
  DIR *d = fdopendir(fd);
  if (!d) die_errno("tree-sync", "read %s", name);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) remove_at(fd, e->d_name);
  closedir(d);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) die_errno("tree-sync", "remove %s", name);
}

/* the extended attributes of SRC on DST, and none that SRC lacks (ACLs are xattrs too) */
static void copy_xattrs(int src, int dst, const char *name) {
  static char list[65536], dlist[65536], val[65536];
  ssize_t n = flistxattr(src, list, sizeof list);
  if (n < 0) {
    if (errno == ENOTSUP) return;
    die_errno("tree-sync", "list xattrs of %s", name);
  }
  ssize_t dn = flistxattr(dst, dlist, sizeof dlist);
  for (ssize_t k = 0; dn > 0 && k < dn; k += (ssize_t)strlen(dlist + k) + 1) {
    int found = 0;
    for (ssize_t j = 0; j < n && !found; j += (ssize_t)strlen(list + j) + 1) found = !strcmp(list + j, dlist + k);
    if (!found && fremovexattr(dst, dlist + k) < 0 && errno != ENODATA)
      die_errno("tree-sync", "remove xattr %s of %s", dlist + k, name);
  }
  for (ssize_t k = 0; k < n; k += (ssize_t)strlen(list + k) + 1) {
    ssize_t v = fgetxattr(src, list + k, val, sizeof val);
    if (v < 0) die_errno("tree-sync", "read xattr %s of %s", list + k, name);
    if (fsetxattr(dst, list + k, val, (size_t)v, 0) < 0) die_errno("tree-sync", "set xattr %s of %s", list + k, name);
  }
}

/* owner, mode, xattrs and times of an open DST from SRC's stat (owner first: chown clears suid) */
static void copy_meta(int src, int dst, const struct stat *st, const char *name) {
  if (fchown(dst, st->st_uid, st->st_gid) < 0) die_errno("tree-sync", "chown %s", name);
  if (fchmod(dst, st->st_mode & 07777) < 0) die_errno("tree-sync", "chmod %s", name);
  copy_xattrs(src, dst, name);
  struct timespec t[2] = {st->st_atim, st->st_mtim};
  if (futimens(dst, t) < 0) die_errno("tree-sync", "set times of %s", name);
}

/* the data of a regular file, holes kept (the destination is truncated to it first) */
static void copy_data(int src, int dst, off_t size, const char *name) {
  if (ftruncate(dst, 0) < 0 || ftruncate(dst, size) < 0) die_errno("tree-sync", "truncate %s", name);
  static char buf[1 << 16];
  for (off_t at = 0; at < size;) {
    off_t data = lseek(src, at, SEEK_DATA);
    if (data < 0) break; /* only a hole is left */
    off_t hole = lseek(src, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    for (off_t pos = data; pos < hole;) {
      ssize_t r = pread(src, buf, (size_t)(hole - pos < (off_t)sizeof buf ? hole - pos : (off_t)sizeof buf), pos);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) die_errno("tree-sync", "read %s", name);
      if (r == 0) break;
      for (ssize_t w = 0; w < r;) {
        ssize_t k = pwrite(dst, buf + w, (size_t)(r - w), pos + w);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) die_errno("tree-sync", "write %s", name);
        w += k;
      }
      pos += r;
    }
    at = hole;
  }
}

static void sync_dir(int sfd, int dfd, const char *path, int whole);

/* brings DIRFD_DST/NAME up to date with DIRFD_SRC/NAME (stat ST); WHOLE: the destination is
 * new; SETTLED: the copy has NAME as it was (neither it nor its directory changed since) */
static void sync_entry(int sdir, int ddir, const char *name, const struct stat *st, const char *path, int whole,
                       int settled) {
  if (settled && !S_ISDIR(st->st_mode)) return; /* most of a tree: one stat, no look at the copy */
  struct stat dst;
  int have = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
  if (!have && errno != ENOENT) die_errno("tree-sync", "stat %s", path);
  if (have && (dst.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
    remove_at(ddir, name);
    have = 0;
  }
  int fresh = whole || !have;
  if (S_ISDIR(st->st_mode)) {
    if (!have && mkdirat(ddir, name, 0700) < 0) die_errno("tree-sync", "mkdir %s", path);
    int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0) die_errno("tree-sync", "open %s", path);
    sync_dir(s, d, path, fresh);
    /* after its entries: making them changed its times */
    if (fresh || changed(st)) copy_meta(s, d, st, path);
    close(s);
    close(d);
    return;
  }
  if (!fresh && !changed(st)) return;
  if (S_ISREG(st->st_mode)) {
    const char *first = st->st_nlink > 1 ? linked_path(st) : NULL;
    if (have) remove_at(ddir, name);
    if (first) {
      if (linkat(dst_root, first, ddir, name, 0) < 0) die_errno("tree-sync", "link %s", path);
      return;
    }
    if (st->st_nlink > 1) {
      links = realloc(links, (n_links + 1) * sizeof *links);
      if (!links || !(links[n_links].path = strdup(path))) die_errno("tree-sync", "memory");
      links[n_links].dev = st->st_dev;
      links[n_links++].ino = st->st_ino;
    }
    int s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (s < 0) die_errno("tree-sync", "open %s", path);
    /* a new file, never the old one written in place (removed above): in the copy it may be
     * hard-linked to a name whose file in the container is no longer this one */
    int d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0) die_errno("tree-sync", "open %s in the copy", path);
    copy_data(s, d, st->st_size, path);
    copy_meta(s, d, st, path);
    close(s);
    close(d);
    return;
  }
  if (have) remove_at(ddir, name);
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(sdir, name, target, PATH_MAX);
    if (n < 0) die_errno("tree-sync", "readlink %s", path);
    target[n] = 0;
    if (symlinkat(target, ddir, name) < 0) die_errno("tree-sync", "symlink %s", path);
  } else if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) {
    die_errno("tree-sync", "mknod %s", path);
  }
  if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) die_errno("tree-sync", "chown %s", path);
  if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
    die_errno("tree-sync", "chmod %s", path);
  struct timespec t[2] = {st->st_atim, st->st_mtim};
  if (utimensat(ddir, name, t, AT_SYMLINK_NOFOLLOW) < 0) die_errno("tree-sync", "set times of %s", path);
}

static void sync_dir(int sfd, int dfd, const char *path, int whole) {
  if (++depth > MAX_DEPTH) {
    errno = ELOOP;
    die_errno("tree-sync", "directories nested deeper than %d (at %.80s...)", MAX_DEPTH, path);
  }
  struct stat self;
  if (fstat(sfd, &self) < 0) die_errno("tree-sync", "stat %s", path);
  int sdup = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = sdup < 0 ? NULL : fdopendir(sdup);
  if (!d) die_errno("tree-sync", "read %s", path);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    struct stat st;
    if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) die_errno("tree-sync", "stat %s", sub);
    sync_entry(sfd, dfd, e->d_name, &st, sub, whole, !whole && !changed(&self) && !changed(&st));
  }
  closedir(d);
  /* entries removed or renamed away changed this directory's ctime: drop them from the copy */
  if (whole || !changed(&self)) {
    depth--;
    return;
  }
  int ddup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  DIR *dd = ddup < 0 ? NULL : fdopendir(ddup);
  if (!dd) die_errno("tree-sync", "read the copy of %s", path);
  while ((e = readdir(dd))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) die_errno("tree-sync", "stat %s/%s", path, e->d_name);
      remove_at(dfd, e->d_name);
    }
  }
  closedir(dd);
  depth--;
}

int do_tree_sync(const char *src, const char *dst, const char *when) {
  char *end;
  since.tv_sec = strtoll(when, &end, 10);
  const char *frac = *end == '.' ? end + 1 : NULL;
  since.tv_nsec = frac ? strtol(frac, &end, 10) : 0;
  if (*end || (frac && end - frac != 9) || since.tv_nsec < 0 || since.tv_nsec > 999999999) die_usage("--since: SECONDS.NNNNNNNNN, not %s", when);
  /* berth waits for us with the container frozen; killed, it must not leave us writing into a
   * copy that its next command removes */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1) die_errno("tree-sync", "follow berth");
  umask(0);
  int s = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s < 0) die_errno("tree-sync", "open %s", src);
  if (d < 0) die_errno("tree-sync", "open %s", dst);
  dst_root = d;
  struct stat st;
  if (fstat(s, &st) < 0) die_errno("tree-sync", "stat %s", src);
  sync_dir(s, d, ".", 0);
  if (changed(&st)) copy_meta(s, d, &st, ".");
  return 0;
}
