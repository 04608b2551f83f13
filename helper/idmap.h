/* User namespaces and idmapped mounts for unprivileged containers (helper/idmap.c). */
#ifndef BERTH_IDMAP_H
#define BERTH_IDMAP_H
#include <sys/types.h>

/* Writes "0 BASE COUNT" to PID's uid_map and gid_map; 0 or a positive errno. */
int idmap_write(pid_t pid, unsigned base, unsigned count);
/* A user namespace with those maps, as an fd for mount_setattr; 0 or a positive errno. */
int idmap_userns(unsigned base, unsigned count, int *fd);
/* A detached idmapped copy of the tree at PATH with mount FLAGS (MS_RDONLY, MS_NOSUID, MS_NODEV,
 * MS_NOEXEC) and private propagation, as an fd; -1 and errno. */
/* with idmap_tree's FLAGS: the directory alone, not the mounts under it */
#define IDMAP_NOT_RECURSIVE (1UL << 31) /* MS_NOUSER's bit: never a mount option given here */
int idmap_tree(const char *path, int userns, unsigned long flags);
/* Replaces the mount at DST by an idmapped (and with RO, read-only) copy of itself. */
int idmap_in_place(const char *dst, int userns, int ro);
/* Mounts overlayfs (mount DATA with lowerdir, upperdir, workdir) on DST over idmapped copies of
 * its layers, as the container root (BASE) would: see idmap.c. */
int idmap_overlay(const char *data, const char *dst, unsigned base, int userns, int ro);
#endif
