/* sysinfo.c: sysinfo(2) answered from a container's cgroups (seccomp user notification) */
#ifndef BERTH_SYSINFO_H
#define BERTH_SYSINFO_H

#include <sys/types.h>

struct sysinfo_plan {
  int v2;               /* cgroup v2 file names (memory.max, ...) rather than v1 ones */
  const char *mem_dir;  /* the cgroup that holds the container's memory limits (NULL: off) */
  const char *pids_dir; /* the cgroup that counts its tasks (v1 pids hierarchy, or the v2 one) */
};

void sysinfo_init(const struct sysinfo_plan *p, pid_t init);
/* poll timeout until the next load sample: -1 while nobody asked for sysinfo */
int sysinfo_timeout(void);
void sysinfo_tick(void);
/* receives one notification from a listener and answers it */
void sysinfo_answer(int listener);

#endif
