/*
 * berth's boundary probe (test/integration/escape-boundary.test.ts builds it with gcc -static and
 * copies it into containers). Each subcommand tries one way across the boundary between a
 * container and the host's admin, and prints what it saw; the test decides from host-side facts.
 *
 *   sti TEXT [DELAY]     push TEXT into the input of fds 0-2 and of /dev/tty (TIOCSTI), at once
 *                        or from a background child DELAY seconds later
 *   exe DEV INO SECONDS  watch /proc for new processes; report any whose /proc/PID/exe is the
 *                        file DEV:INO (the host's helper binary) and whether it opens for writing
 *                        (nothing is ever written)
 *   sysinfo              sysinfo(2) through the native entry and the i386 one (int $0x80):
 *                        "native|i386 totalram totalswap freeram procs uptime" in bytes
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int sti(const char *text, int delay) {
  if (delay > 0) {
    if (fork() != 0) return 0; /* the exec returns; the child stays behind */
    setsid();
    sleep((unsigned)delay);
  }
  for (int fd = 0; fd < 4; fd++) {
    int t = fd < 3 ? fd : open("/dev/tty", O_RDWR | O_NOCTTY);
    const char *name = fd < 3 ? (fd == 0 ? "fd0" : fd == 1 ? "fd1" : "fd2") : "/dev/tty";
    int ok = t >= 0;
    for (const char *p = text; ok && *p; p++) ok = ioctl(t, TIOCSTI, p) == 0;
    dprintf(2, "sti %s: %s\n", name, ok ? "pushed" : strerror(errno));
    if (fd == 3 && t >= 0) close(t);
  }
  return 0;
}

static int exe(dev_t dev, ino_t ino, int seconds) {
  static char seen[1 << 22];
  time_t end = time(NULL) + seconds;
  int found = 0;
  while (time(NULL) < end) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    for (struct dirent *e; (e = readdir(d));) {
      long pid = strtol(e->d_name, NULL, 10);
      if (pid <= 1 || pid >= (long)sizeof seen || seen[pid] || pid == getpid()) continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%ld/exe", pid);
      int fd = open(path, O_PATH | O_CLOEXEC);
      struct stat st;
      if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        continue;
      }
      seen[pid] = 1;
      if (st.st_dev == dev && st.st_ino == ino) {
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        int w = open(self, O_WRONLY | O_CLOEXEC); /* opened, never written */
        printf("exe pid %ld is the host's helper binary; write open: %s\n", pid, w >= 0 ? "ok" : strerror(errno));
        if (w >= 0) close(w);
        found = 1;
      }
      close(fd);
    }
    closedir(d);
  }
  printf("exe watch done: %s\n", found ? "FOUND" : "none");
  fflush(stdout);
  return 0;
}

/* struct compat_sysinfo: what a 32-bit process gets */
struct sysinfo32 {
  int32_t uptime;
  uint32_t loads[3];
  uint32_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
  uint16_t procs, pad;
  uint32_t totalhigh, freehigh, mem_unit;
  char reserved[8];
};

static sigjmp_buf no_i386;
static void on_fault(int s) {
  (void)s;
  siglongjmp(no_i386, 1);
}

static int show_sysinfo(void) {
  struct sysinfo s;
  if (sysinfo(&s) == 0) {
    printf("native %llu %llu %llu %u %ld\n", (unsigned long long)s.totalram * s.mem_unit,
           (unsigned long long)s.totalswap * s.mem_unit, (unsigned long long)s.freeram * s.mem_unit, s.procs,
           s.uptime);
  } else {
    printf("native error %s\n", strerror(errno));
  }
#if defined(__x86_64__)
  /* the i386 entry from a 64-bit process: the kernel and seccomp see a 32-bit caller; the buffer
   * is in .bss, below 4 GiB in a static non-PIE binary */
  static struct sysinfo32 c;
  long rc;
  /* some kernels (ia32_emulation=0, some hypervisors) refuse int $0x80 with a fault */
  signal(SIGSEGV, on_fault);
  if (sigsetjmp(no_i386, 1)) {
    printf("i386 unavailable\n");
    return 0;
  }
  __asm__ volatile("int $0x80" : "=a"(rc) : "a"(116L), "b"((long)(uintptr_t)&c)
                   : "memory", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
  if (rc == 0) {
    printf("i386 %llu %llu %llu %u %d\n", (unsigned long long)c.totalram * c.mem_unit,
           (unsigned long long)c.totalswap * c.mem_unit, (unsigned long long)c.freeram * c.mem_unit, c.procs,
           c.uptime);
  } else {
    printf("i386 error %s\n", strerror((int)-rc));
  }
#endif
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "sti") == 0) return sti(argv[2], argc > 3 ? atoi(argv[3]) : 0);
  if (argc == 5 && strcmp(argv[1], "exe") == 0)
    return exe((dev_t)strtoull(argv[2], NULL, 10), (ino_t)strtoull(argv[3], NULL, 10), atoi(argv[4]));
  if (argc == 2 && strcmp(argv[1], "sysinfo") == 0) return show_sysinfo();
  fprintf(stderr, "usage: boundary sti TEXT [DELAY] | exe DEV INO SECONDS | sysinfo\n");
  return 2;
}
