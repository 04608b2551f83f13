/* rootops.c: the mount plan's operations, each resolved inside the container's root */
#ifndef BERTH_ROOTOPS_H
#define BERTH_ROOTOPS_H

#include <stddef.h>

enum op_kind { OP_MOUNT, OP_BIND, OP_BINDMAP, OP_REBIND, OP_MASK, OP_SYMLINK, OP_MKDIR, OP_REMOUNT, OP_WRITE, OP_BLOCK, OP_CONSOLE, OP_MKNOD };

/* OP_BINDMAP's stage: an idmapped copy of a (--bind-idmapped); the same, or a plain bind where
 * a's filesystem cannot be idmapped (--bind-idmapped-loose); a new mount of type a
 * (--mount-staged) */
enum stage_kind { STAGE_IDMAP, STAGE_IDMAP_OR_BIND, STAGE_NEW_MOUNT };

struct op {
  enum op_kind kind;
  const char *a, *b, *c, *d; /* meaning depends on kind; see parse_args */
  int src; /* OP_BIND(MAP): the host source (or its staged copy), opened before we drop to the container's root */
  enum stage_kind stage; /* OP_BINDMAP: what the parent stages at d before the clone */
};

extern int root_fd;                        /* the container's root (start: before pivot_root) */
extern int console_master, console_slave;  /* --console: the pty made on /dev/console */

int open_in_root(const char *path, int flags);
const char *fd_path(int fd);
void run_op(const struct op *o);
/* mount(2) flags of an options list ("ro,nosuid,..."); the rest, as mount data, into DATA */
unsigned long parse_mount_opts(const char *opts, char *data, size_t n);

#endif
