/* keeper.c: the per-container host process that holds the console pty and answers sysinfo */
#ifndef BERTH_KEEPER_H
#define BERTH_KEEPER_H

#include <sys/types.h>

#include "sysinfo.h"

#define KEEPER_MAX_SESSIONS 16

struct keeper_plan {
  pid_t init;            /* the container's init (host pid): the keeper exits with it */
  const char *log_path;  /* the console log; LOG.1 is the older half */
  long long log_max;     /* bytes the two may hold together (0: unbounded) */
  const char *sock_path; /* where join-mode helpers hand over their seccomp listeners */
  struct sysinfo_plan si;
  /* enter sessions a restore carried over (criu.c): their masters, attached to by number */
  int nsessions;
  int session_num[KEEPER_MAX_SESSIONS];
  int session_master[KEEPER_MAX_SESSIONS];
};

void keeper_run(const struct keeper_plan *p, int master, int listener) __attribute__((noreturn));

#endif
