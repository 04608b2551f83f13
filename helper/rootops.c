/*
 * The mount plan's operations inside a container's root (--mount, --bind, --mask, --write,
 * --console, ...): every DEST is resolved in the root, so nothing the container planted can
 * make the helper act on a host path (helper/PROTOCOL.md).
 */
#define _GNU_SOURCE
#include "rootops.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "fds.h"
#include "report.h"

/*
 * Every DEST is resolved with openat2(RESOLVE_IN_ROOT) from the rootfs fd, so a symlink planted in
 * the container's tree (say /proc -> /etc on the host) resolves inside the container and can never
 * make us mount over a host path. Mounts then target /proc/self/fd/N (the resolved object).
 */
int root_fd = -1;

int open_in_root(const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .mode = (flags & O_CREAT) ? 0644 : 0,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (*path == 0) return (int)fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
  return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/*
 * A file berth reads or writes in the container (/etc/hostname, /etc/hosts): the container may
 * have put a fifo there (an open that blocks forever), a device node, or a bind of a terminal.
 * Opened without blocking and without becoming our terminal, and used only if it is a regular
 * file (EINVAL otherwise, before a byte is read or written; O_TRUNC of a fifo or device is a
 * no-op).
 */
static void __attribute__((noreturn)) die_open(const char *path) {
  if (errno == EINVAL) die_errno("write", "%s is not a regular file", path);
  die_errno("write", "open %s", path);
}

static int open_regular(const char *path, int flags) {
  struct stat st;
  int fd = open_in_root(path, flags | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == ENXIO) errno = EINVAL; /* a fifo with no reader, a socket, a device */
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

/* mkdir -p inside the root, one component at a time, each resolved in the root */
static int mkdirs_in_root(const char *path, mode_t mode) {
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  for (char *p = buf + 1; ; p++) {
    if (*p == '/' || *p == 0) {
      char saved = *p;
      *p = 0;
      int fd = open_in_root(buf, O_PATH | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT) {
        char *slash = strrchr(buf, '/');
        const char *name = slash ? slash + 1 : buf;
        int parent;
        if (slash && slash != buf) {
          *slash = 0;
          parent = open_in_root(buf, O_PATH | O_DIRECTORY);
          *slash = '/';
        } else {
          parent = open_in_root("/", O_PATH | O_DIRECTORY);
        }
        if (parent < 0) return -1;
        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) return -1;
        close(parent);
      } else if (fd < 0) {
        return -1;
      } else {
        close(fd);
      }
      *p = saved;
      if (saved == 0) break;
    }
  }
  return 0;
}

/* create an empty regular file (a bind target) inside the root; refuses to follow a final symlink */
static int touch_in_root(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  if (!slash) return -1;
  *slash = 0;
  if (mkdirs_in_root(buf[0] ? buf : "/", 0755) < 0) return -1;
  int parent = open_in_root(buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
  if (parent < 0) return -1;
  /* already there (a procfs file, say, that no one may open for writing): nothing to make */
  int fd = openat(parent, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fd = openat(parent, slash + 1, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
  if (fd < 0 && errno != ENXIO && errno != EISDIR && errno != ELOOP) return -1; /* ELOOP: a symlink, resolved in the root below */
  if (fd >= 0) close(fd);
  close(parent);
  return 0;
}

/* A device node the spec lists (OCI linux.devices), made in the root with its mode and owner;
 * one there already is kept if it is that same device (the spec's node, made before). Only
 * outside a user namespace: inside one the kernel refuses mknod, and berth binds the host's. */
static void mknod_in_root(const char *path, const char *spec) {
  char type;
  unsigned major, minor, uid, gid, mode;
  if (sscanf(spec, "%c %u %u %o %u %u", &type, &major, &minor, &mode, &uid, &gid) != 6 || mode > 07777 ||
      (type != 'c' && type != 'b' && type != 'p'))
    die_usage("--mknod: bad node %s", spec);
  mode_t fmt = type == 'c' ? S_IFCHR : type == 'b' ? S_IFBLK : S_IFIFO;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  if (!slash || !slash[1]) die_usage("--mknod DEST must be an absolute file path: %s", path);
  *slash = 0;
  if (mkdirs_in_root(buf[0] ? buf : "/", 0755) < 0) die_errno("mknod", "mkdir %s", buf);
  int parent = open_in_root(buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
  if (parent < 0) die_errno("mknod", "open %s", buf);
  dev_t dev = fmt == S_IFIFO ? 0 : makedev(major, minor);
  if (mknodat(parent, slash + 1, fmt | (mode & 07777), dev) < 0) {
    struct stat st;
    int e = errno;
    if (e != EEXIST || fstatat(parent, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 || (st.st_mode & S_IFMT) != fmt ||
        st.st_rdev != dev) {
      errno = e; /* EEXIST: another file is there */
      die_errno("mknod", "mknod %s", path);
    }
  }
  /* the umask took bits off; a node is never a link, so neither call follows one */
  if (fchmodat(parent, slash + 1, mode & 07777, 0) < 0 ||
      fchownat(parent, slash + 1, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    die_errno("mknod", "set the mode and owner of %s", path);
  close(parent);
}

const char *fd_path(int fd) {
  static char buf[64];
  snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
  return buf;
}

/* mount(8)-style option words: the known ones become flags, the rest is fs data */
unsigned long parse_mount_opts(const char *opts, char *data, size_t n) {
  static const struct {
    const char *word;
    unsigned long flag;
  } words[] = {{"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},     {"nodev", MS_NODEV},
               {"noexec", MS_NOEXEC},     {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
               {"noatime", MS_NOATIME},   {"rec", MS_REC},           {"rw", 0},
               {"defaults", 0}};
  unsigned long flags = 0;
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", opts);
  data[0] = 0;
  for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    size_t k, found = 0;
    for (k = 0; k < sizeof words / sizeof words[0]; k++)
      if (strcmp(w, words[k].word) == 0) {
        flags |= words[k].flag;
        found = 1;
      }
    if (!found) {
      if (data[0]) strncat(data, ",", n - strlen(data) - 1);
      strncat(data, w, n - strlen(data) - 1);
    }
  }
  return flags;
}

/* a bind mount ignores most flags; apply them with a second MS_REMOUNT|MS_BIND call */
static void remount_bind(int fd, unsigned long flags, const char *what) {
  unsigned long keep = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (!keep) return;
  /* a bind remount sets every flag: those the mount has now are kept, since in a user namespace
   * the kernel locks the ones a more privileged namespace set (a pod's nosuid,nodev,noexec
   * /dev/shm), and clearing one is EPERM. Adding is all we ask for. */
  struct statvfs sv;
  if (fstatvfs(fd, &sv) == 0) {
    static const unsigned long map[][2] = {{ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
                                           {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
                                           {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
                                           {ST_RELATIME, MS_RELATIME}};
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
      if (sv.f_flag & map[k][0]) keep |= map[k][1];
  }
  if (mount(NULL, fd_path(fd), NULL, MS_REMOUNT | MS_BIND | keep, NULL) < 0)
    die_errno("remount", "remount %s", what);
}

/*
 * berth's block in a file the container also edits (/etc/hosts): BLOCK's first and last lines
 * are its markers. The lines from the first marker to the next end marker are replaced by BLOCK,
 * or BLOCK is appended; everything else in the file is kept as it was. Read and written
 * resolved in the root, like every other path.
 */
static void write_block(const char *dest, const char *block) {
  static char old[1 << 20], out[(1 << 20) + 65536];
  size_t n = 0, blen = strlen(block);
  const char *nl = strchr(block, '\n');
  if (!nl || blen < 2 || blen > 60000 || block[blen - 1] != '\n') die_usage("--block content must be marker lines");
  const char *last = block + blen - 1;
  while (last > block && last[-1] != '\n') last--;
  size_t first_len = (size_t)(nl - block) + 1, last_len = (size_t)(block + blen - last);
  int fd = open_regular(dest, O_RDONLY);
  if (fd < 0 && errno != ENOENT) die_open(dest);
  if (fd >= 0) {
    ssize_t r;
    while (n < sizeof old && (r = read(fd, old + n, sizeof old - n)) > 0) n += (size_t)r;
    close(fd);
    if (n == sizeof old) { /* never truncate what we could not read whole */
      errno = EFBIG;
      die_errno("write", "read %s", dest);
    }
  }
  size_t o = 0, i = 0;
  int done = 0;
  while (i < n) {
    const char *e = memchr(old + i, '\n', n - i);
    size_t len = e ? (size_t)(e - (old + i)) + 1 : n - i;
    if (!done && len == first_len && memcmp(old + i, block, len) == 0) {
      size_t j = i + len, end = i + len; /* skip to the end marker, inclusive */
      while (j < n) {
        const char *e2 = memchr(old + j, '\n', n - j);
        size_t l2 = e2 ? (size_t)(e2 - (old + j)) + 1 : n - j;
        j += l2;
        if (l2 == last_len && memcmp(old + j - l2, last, l2) == 0) {
          end = j;
          break;
        }
      }
      memcpy(out + o, block, blen);
      o += blen;
      i = end; /* without an end marker only the begin line goes: nothing of theirs is lost */
      done = 1;
      continue;
    }
    memcpy(out + o, old + i, len);
    o += len;
    i += len;
  }
  if (!done) {
    if (o > 0 && out[o - 1] != '\n') out[o++] = '\n';
    memcpy(out + o, block, blen);
    o += blen;
  }
  fd = open_regular(dest, O_WRONLY | O_TRUNC | O_CREAT);
  if (fd < 0) die_open(dest);
  write_all(fd, out, o);
  close(fd);
}

/* the console pty (OP_CONSOLE): the master goes to the keeper, the slave is init's stdio */
int console_master = -1, console_slave = -1;

/*
 * --console-own: the ptmx of a devpts instance of the console's own, mounted on a directory of
 * the /dev tmpfs the plan has just made (nothing of the container runs yet) only until its
 * ptmx is open; the bind of its pty 0 on /dev/console then keeps it alive. A checkpoint needs
 * this: CRIU takes /dev/console as an external bind, and the copies systemd's units get in
 * their own mount namespaces are binds of it only if no devpts root mounted in the container
 * shares its superblock (with /dev/pts's pty 0, a restore rebuilt them from the restored
 * /dev/pts, without a master). LXC keeps its console apart from /dev/pts too.
 */
static const char own_dir[] = "/dev/.berth-console";

/* its ptmx, the devpts left mounted (its root's O_PATH fd in *TOP) for drop_own_devpts */
static int own_ptmx(int *top) {
  if (mkdirs_in_root(own_dir, 0700) < 0) die_errno("console", "mkdir %s", own_dir);
  int d = open_in_root(own_dir, O_PATH | O_DIRECTORY);
  if (d < 0) die_errno("console", "open %s", own_dir);
  if (mount("devpts", fd_path(d), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
    die_errno("console", "mount a devpts on %s", own_dir);
  close(d);
  *top = open_in_root(own_dir, O_PATH | O_DIRECTORY); /* the devpts now mounted there */
  if (*top < 0) die_errno("console", "open %s", own_dir);
  return openat(*top, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* once its pty is bound on the console (a bind needs its source mounted here): detached, gone */
static void drop_own_devpts(int top) {
  if (umount2(fd_path(top), MNT_DETACH) < 0) die_errno("console", "unmount %s", own_dir);
  close(top);
  int dev = open_in_root("/dev", O_PATH | O_DIRECTORY);
  if (dev < 0 || unlinkat(dev, own_dir + 5, AT_REMOVEDIR) < 0) die_errno("console", "rmdir %s", own_dir);
  close(dev);
}

/*
 * /dev/console becomes a pty (of the container's /dev/pts, or with --console-own of a devpts of
 * its own), as LXC does: the container writes to it as to a terminal, and only the keeper on the
 * host (or the OCI caller) holds the master. The slave is reached through TIOCGPTPEER, never by
 * a path the container could swap.
 */
static void make_console(const char *dest, int own) {
  struct stat st;
  int fd, unlock = 0, top = -1;
  console_master = own ? own_ptmx(&top) : open_in_root("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (console_master < 0) die_errno("console", "open the console's ptmx");
  if (ioctl(console_master, TIOCSPTLCK, &unlock) < 0) die_errno("console", "unlock the console pty");
  console_slave = ioctl(console_master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (console_slave < 0) die_errno("console", "open the console pty's slave");
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  ioctl(console_master, TIOCSWINSZ, &ws);
  if (touch_in_root(dest) < 0) die_errno("console", "create %s", dest);
  fd = open_in_root(dest, O_PATH);
  if (fd < 0 || fstat(fd, &st) < 0) die_errno("console", "open %s", dest);
  char src[64];
  snprintf(src, sizeof src, "/proc/self/fd/%d", console_slave);
  if (mount(src, fd_path(fd), NULL, MS_BIND, NULL) < 0) die_errno("console", "bind the console pty on %s", dest);
  close(fd);
  if (top >= 0) drop_own_devpts(top);
}

void run_op(const struct op *o) {
  char data[1024];
  struct stat st;
  int fd;
  switch (o->kind) {
  case OP_MKNOD: /* a=dest b="TYPE MAJOR MINOR MODE UID GID" (mode octal): OCI linux.devices */
    mknod_in_root(o->a, o->b);
    return;
  case OP_MKDIR:
    if (mkdirs_in_root(o->a, (mode_t)strtol(o->b, NULL, 8)) < 0) die_errno("mkdir", "mkdir %s", o->a);
    return;
  case OP_SYMLINK: {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", o->b);
    char *slash = strrchr(parent, '/');
    if (!slash) die_usage("--symlink DEST must be absolute: %s", o->b);
    *slash = 0;
    if (mkdirs_in_root(parent[0] ? parent : "/", 0755) < 0) die_errno("symlink", "mkdir %s", parent);
    fd = open_in_root(parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
    if (fd < 0 || (symlinkat(o->a, fd, slash + 1) < 0 && errno != EEXIST))
      die_errno("symlink", "symlink %s", o->b);
    close(fd);
    return;
  }
  case OP_MOUNT: /* a=fstype b=source c=dest d=options */
    if (mkdirs_in_root(o->c, 0755) < 0) die_errno("mount", "mkdir %s", o->c);
    fd = open_in_root(o->c, O_PATH | O_DIRECTORY);
    if (fd < 0) die_errno("mount", "open %s", o->c);
    {
      unsigned long flags = parse_mount_opts(o->d, data, sizeof data);
      if (mount(o->b, fd_path(fd), o->a, flags & ~MS_REC, data[0] ? data : NULL) < 0)
        die_errno("mount", "mount %s on %s", o->a, o->c);
    }
    close(fd);
    return;
  case OP_BINDMAP: /* a=host source b=dest c=options d=stage (src: the staged idmapped tree) */
  case OP_BIND: /* a=host source b=dest c=options */
    if ((o->src >= 0 ? fstat(o->src, &st) : stat(o->a, &st)) < 0) die_errno("bind", "stat %s", o->a);
    if (S_ISDIR(st.st_mode) ? mkdirs_in_root(o->b, 0755) : touch_in_root(o->b))
      die_errno("bind", "create %s", o->b);
    fd = open_in_root(o->b, O_PATH);
    if (fd < 0) die_errno("bind", "open %s", o->b);
    {
      unsigned long flags = parse_mount_opts(o->c, data, sizeof data);
      char src[64];
      snprintf(src, sizeof src, "/proc/self/fd/%d", o->src);
      unsigned long rec = o->kind == OP_BINDMAP ? MS_REC : flags & MS_REC;
      if (mount(o->src >= 0 ? src : o->a, fd_path(fd), NULL, MS_BIND | rec, NULL) < 0)
        die_errno("bind", "bind %s on %s", o->a, o->b);
      close(fd);
      fd = open_in_root(o->b, O_PATH); /* reopen: the fd above points under the new mount */
      if (fd < 0) die_errno("bind", "open %s", o->b);
      remount_bind(fd, flags, o->b);
    }
    close(fd);
    /* a host fd must not outlive its bind: /proc/self/fd/N would lead back to the host (a cwd
     * or a command given as that path: runc's CVE-2024-21626) */
    if (o->src >= 0) close(o->src);
    return;
  case OP_REBIND: /* a=dest b=options: bind a path of the container onto itself, e.g. read-only */
    fd = open_in_root(o->a, O_PATH);
    if (fd < 0 && errno == ENOENT) return; /* nothing there to protect (kernel without it) */
    if (fd < 0) die_errno("rebind", "open %s", o->a);
    if (mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0)
      die_errno("rebind", "bind %s", o->a);
    close(fd);
    fd = open_in_root(o->a, O_PATH);
    if (fd < 0) die_errno("rebind", "open %s", o->a);
    remount_bind(fd, parse_mount_opts(o->b, data, sizeof data), o->a);
    close(fd);
    return;
  case OP_REMOUNT: /* a=dest b=options: change flags of an existing mount (not a bind) */
    fd = open_in_root(o->a, O_PATH);
    if (fd < 0) die_errno("remount", "open %s", o->a);
    if (mount(NULL, fd_path(fd), NULL, MS_REMOUNT | parse_mount_opts(o->b, data, sizeof data),
              data[0] ? data : NULL) < 0)
      die_errno("remount", "remount %s", o->a);
    close(fd);
    return;
  case OP_CONSOLE: /* a=dest b="own" (--console-own) or NULL */
    make_console(o->a, o->b != NULL);
    return;
  case OP_BLOCK: /* a=dest b=block: replace berth's block, or append it */
    write_block(o->a, o->b);
    return;
  case OP_WRITE: /* a=dest b=content: resolved in the root, so a planted symlink stays inside */
    if (touch_in_root(o->a) < 0) die_errno("write", "create %s", o->a);
    /* O_CREAT: a dangling symlink the container planted is followed inside its root */
    fd = open_regular(o->a, O_WRONLY | O_TRUNC | O_CREAT);
    if (fd < 0) die_open(o->a);
    /* every byte or a failure: a sysctl the kernel refuses (EINVAL) says so here */
    if (write_all(fd, o->b, strlen(o->b)) < 0) die_errno("write", "write %s", o->a);
    close(fd);
    return;
  case OP_MASK: /* a=dest: hide a host-sensitive path; a missing path needs no mask */
    fd = open_in_root(o->a, O_PATH);
    if (fd < 0 && errno == ENOENT) return;
    if (fd < 0 || fstat(fd, &st) < 0) die_errno("mask", "open %s", o->a);
    if (S_ISDIR(st.st_mode)) {
      if (mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=0,mode=000") < 0)
        die_errno("mask", "mask %s", o->a);
    } else if (mount("/dev/null", fd_path(fd), NULL, MS_BIND, NULL) < 0) {
      die_errno("mask", "mask %s", o->a);
    }
    close(fd);
    return;
  }
}

