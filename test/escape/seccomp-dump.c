/*
 * seccomp-dump PID: prints the seccomp filters the kernel holds for PID, as loaded (classic
 * BPF, PTRACE_SECCOMP_GET_FILTER; needs CAP_SYS_ADMIN and CONFIG_CHECKPOINT_RESTORE). One
 * "filter N" line per filter (0 is the newest), then one "code jt jf k" line per instruction.
 * The process is stopped for a moment (PTRACE_SEIZE + PTRACE_INTERRUPT) and let go.
 * Built with gcc -static by test/integration/seccomp-compat.test.ts, which runs the filters of
 * a container's init on the syscalls of every ABI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: seccomp-dump PID\n", stderr);
    return 2;
  }
  pid_t pid = atoi(argv[1]);
  int st;
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 ||
      waitpid(pid, &st, __WALL) < 0) {
    perror("seccomp-dump: attach");
    return 1;
  }
  int rc = 0;
  for (long i = 0;; i++) {
    long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, NULL);
    if (n < 0) {
      /* ENOENT: past the oldest filter; EINVAL at 0: the process has none */
      if (errno != ENOENT && !(errno == EINVAL && i == 0)) {
        perror("seccomp-dump: PTRACE_SECCOMP_GET_FILTER");
        rc = 1;
      }
      break;
    }
    struct sock_filter *f = calloc((size_t)n, sizeof *f);
    if (!f || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, f) != n) {
      perror("seccomp-dump: read filter");
      rc = 1;
      break;
    }
    printf("filter %ld\n", i);
    for (long k = 0; k < n; k++) printf("%u %u %u %u\n", f[k].code, f[k].jt, f[k].jf, f[k].k);
    free(f);
  }
  ptrace(PTRACE_DETACH, pid, 0, 0);
  return rc;
}
