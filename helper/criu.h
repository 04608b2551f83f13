/* criu.c: --criu-restore, the helper's part of `berth restore CTID --dumpfile DIR` */
#ifndef BERTH_CRIU_H
#define BERTH_CRIU_H

#include "keeper.h"

struct criu_plan {
  const char *stage;   /* made here, 0700, owned by BASE: lxcfs bound at STAGE/lxcfs, a devpts at STAGE/pts */
  const char *lxcfs;   /* lxcfs's mount point (NULL: none) */
  const char *devs[32][2]; /* --criu-dev SRC NAME: device node SRC bound at STAGE/dev/NAME */
  int ndevs;
  const char *binds[32]; /* --criu-bind SRC: an idmapped copy of SRC at STAGE/bind/N (N its index) */
  int nbinds;
  const char *pidfile; /* criu's --pidfile: the restored init's host pid */
  unsigned base;       /* the container's host uid and gid base (0: privileged) */
  int tty_fd;          /* where criu's --inherit-fd expects the console's slave */
  /* --criu-session N: carried-over enter sessions, by number; the Kth's slave is pty K+1 of the
   * staged devpts, on fd TTY_FD+1+K for criu, its master the keeper's session N */
  int nsessions;
  int session_num[KEEPER_MAX_SESSIONS];
  char **argv;         /* criu's own argv (from TS) */
};

/* Runs criu restore with the console staged; then forks the keeper (KEEP) with the console's
 * master. Reports {"pid":INIT} and {"keeper":K}; returns 0, or dies with a record. */
int criu_restore(const struct criu_plan *p, struct keeper_plan *k, int keep);

#endif
