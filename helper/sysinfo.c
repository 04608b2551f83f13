/*
 * sysinfo(2) from the container's point of view. lxcfs makes /proc/meminfo, /proc/uptime and
 * /proc/loadavg the container's, but the syscall asks the kernel, which knows only the host:
 * busybox's free and uptime, and many language runtimes sizing their heaps, would see 24 GiB in
 * a 256M container. The container's seccomp filter sends sysinfo to the keeper (SCMP_ACT_NOTIFY);
 * the answer comes from the cgroup that carries its limits:
 *
 *   totalram   the memory limit (never more than the host has); freeram: limit - usage
 *   sharedram  shmem of memory.stat; bufferram: 0
 *   totalswap  the swap allowed on top (memsw - memory on v1, swap.max on v2; at most the host's)
 *   procs      pids.current
 *   uptime     since the container's init started
 *   loads      sampled every 5 s, as the kernel does, once the container first asks: the tasks of
 *              its cgroups that are running or in uninterruptible sleep
 *
 * What cannot be read (a file gone, a kernel without it) is answered by the kernel itself
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the host's figures, as without berth.
 *
 * The answer goes into the caller's own memory at the address it gave, through /proc/PID/mem
 * opened before the notification id is checked again (seccomp_unotify(2)): a pid recycled in
 * between fails the check, so nothing is ever written into another process.
 */
#define _GNU_SOURCE
#include "sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif
#define X32_BIT 0x40000000
#define I386_SYSINFO 116
#define SAMPLE_MS 5000
#define NO_VALUE UINT64_MAX

static struct sysinfo_plan plan;
static double start_s; /* init's start, seconds after boot */
static double loads[3];
static int sampling;
static long long next_sample_ms;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double boottime_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_BOOTTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* DIR/NAME as a number; "max" is NO_VALUE; NO_VALUE also when it cannot be read */
static uint64_t read_u64(const char *dir, const char *name) {
  char path[4200], buf[64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NO_VALUE;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NO_VALUE;
  buf[n] = 0;
  if (strncmp(buf, "max", 3) == 0) return NO_VALUE;
  char *end;
  unsigned long long v = strtoull(buf, &end, 10);
  return end == buf ? NO_VALUE : (uint64_t)v;
}

/* KEY's value in a "key value" file such as memory.stat */
static uint64_t read_key(const char *dir, const char *name, const char *key) {
  char path[4200], line[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "re");
  if (!f) return NO_VALUE;
  uint64_t v = NO_VALUE;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
      v = strtoull(line + klen + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

void sysinfo_init(const struct sysinfo_plan *p, pid_t init) {
  plan = *p;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)init);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  start_s = boottime_s();
  if (n <= 0) return;
  buf[n] = 0;
  /* field 22, starttime in clock ticks; counted after the command's closing parenthesis */
  char *p2 = strrchr(buf, ')');
  for (int field = 2; p2 && field < 22; field++) p2 = strchr(p2 + 1, ' ');
  if (p2) start_s = (double)strtoull(p2 + 1, NULL, 10) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- load: the running and uninterruptible tasks of the container's cgroups ----------------- */

static int count_active(const char *dir, int depth, int *budget) {
  char path[4200];
  int active = 0;
  snprintf(path, sizeof path, "%s/%s", dir, plan.v2 ? "cgroup.threads" : "tasks");
  FILE *f = fopen(path, "re");
  if (f) {
    char line[32], stat[512];
    while (fgets(line, sizeof line, f) && (*budget)-- > 0) {
      snprintf(path, sizeof path, "/proc/%ld/stat", strtol(line, NULL, 10));
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, stat, sizeof stat - 1);
      close(fd);
      if (n <= 0) continue;
      stat[n] = 0;
      char *st = strrchr(stat, ')');
      if (st && (st[2] == 'R' || st[2] == 'D')) active++;
    }
    fclose(f);
  }
  /* the container may make subgroups (systemd does): bounded, so a deep tree costs little */
  DIR *d = depth < 16 ? opendir(dir) : NULL;
  if (!d) return active;
  for (struct dirent *e; (e = readdir(d)) && *budget > 0;) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    (*budget)--;
    active += count_active(path, depth + 1, budget);
  }
  closedir(d);
  return active;
}

static void sample(void) {
  /* the kernel's decay factors for 1, 5 and 15 minutes at a 5 s period */
  static const double decay[3] = {0.920044414629323, 0.983471453821617, 0.994459848001470};
  int budget = 65536;
  double active = plan.pids_dir ? count_active(plan.pids_dir, 0, &budget) : 0;
  for (int k = 0; k < 3; k++) loads[k] = sampling ? loads[k] * decay[k] + active * (1 - decay[k]) : active;
  sampling = 1;
  next_sample_ms = now_ms() + SAMPLE_MS;
}

int sysinfo_timeout(void) {
  if (!sampling) return -1;
  long long left = next_sample_ms - now_ms();
  return left < 0 ? 0 : (int)left;
}

void sysinfo_tick(void) {
  if (sampling && now_ms() >= next_sample_ms) sample();
}

/* ---- the answer ---------------------------------------------------------------------------- */

struct facts {
  uint64_t uptime, totalram, freeram, sharedram, totalswap, freeswap, procs;
  uint64_t loads[3];
};

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t sub0(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* returns 0, or -1 where the cgroup cannot tell (then the kernel answers) */
static int gather(struct facts *f) {
  struct sysinfo host;
  if (sysinfo(&host) < 0) return -1;
  uint64_t host_ram = (uint64_t)host.totalram * host.mem_unit;
  uint64_t host_swap = (uint64_t)host.totalswap * host.mem_unit;
  const char *d = plan.mem_dir;
  uint64_t limit = read_u64(d, plan.v2 ? "memory.max" : "memory.limit_in_bytes");
  uint64_t usage = read_u64(d, plan.v2 ? "memory.current" : "memory.usage_in_bytes");
  if (usage == NO_VALUE) return -1;
  f->totalram = min_u64(limit, host_ram);
  f->freeram = sub0(f->totalram, usage);
  uint64_t shmem = read_key(d, "memory.stat", plan.v2 ? "shmem" : "total_shmem");
  f->sharedram = shmem == NO_VALUE ? 0 : shmem;
  if (plan.v2) {
    uint64_t smax = read_u64(d, "memory.swap.max"), scur = read_u64(d, "memory.swap.current");
    f->totalswap = min_u64(smax, host_swap);
    f->freeswap = scur == NO_VALUE ? f->totalswap : sub0(f->totalswap, scur);
  } else {
    uint64_t mswmax = read_u64(d, "memory.memsw.limit_in_bytes"), mswcur = read_u64(d, "memory.memsw.usage_in_bytes");
    if (mswcur == NO_VALUE) { /* no swap accounting in this kernel: the host's swap, as lxcfs says */
      f->totalswap = host_swap;
      f->freeswap = (uint64_t)host.freeswap * host.mem_unit;
    } else {
      f->totalswap = min_u64(mswmax == NO_VALUE ? NO_VALUE : sub0(mswmax, limit == NO_VALUE ? 0 : limit), host_swap);
      f->freeswap = sub0(f->totalswap, sub0(mswcur, usage));
    }
  }
  uint64_t procs = plan.pids_dir ? read_u64(plan.pids_dir, "pids.current") : NO_VALUE;
  f->procs = procs == NO_VALUE ? 0 : min_u64(procs, 65535);
  double up = boottime_s() - start_s;
  f->uptime = up > 0 ? (uint64_t)up : 0;
  if (!sampling) sample(); /* the first question starts the load average */
  for (int k = 0; k < 3; k++) f->loads[k] = (uint64_t)llround(loads[k] * (1 << SI_LOAD_SHIFT));
  return 0;
}

/* the i386 layout (struct compat_sysinfo) */
struct sysinfo32 {
  int32_t uptime;
  uint32_t loads[3];
  uint32_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
  uint16_t procs, pad;
  uint32_t totalhigh, freehigh, mem_unit;
  char reserved[8];
};

/* fills BUF for the caller's ABI; returns its size, 0 for an ABI we do not answer */
static size_t encode(const struct facts *f, uint32_t arch, int nr, char *buf) {
#if defined(__x86_64__)
  if (arch == AUDIT_ARCH_I386 && nr == I386_SYSINFO) {
    /* 32-bit fields: scale to the smallest unit that fits, as the kernel does */
    unsigned shift = 0;
    uint64_t biggest = f->totalram > f->totalswap ? f->totalram : f->totalswap;
    while ((biggest >> shift) > UINT32_MAX) shift++;
    struct sysinfo32 s = {.uptime = (int32_t)min_u64(f->uptime, INT32_MAX),
                          .totalram = (uint32_t)(f->totalram >> shift),
                          .freeram = (uint32_t)(f->freeram >> shift),
                          .sharedram = (uint32_t)(f->sharedram >> shift),
                          .totalswap = (uint32_t)(f->totalswap >> shift),
                          .freeswap = (uint32_t)(f->freeswap >> shift),
                          .procs = (uint16_t)f->procs,
                          .mem_unit = 1U << shift};
    for (int k = 0; k < 3; k++) s.loads[k] = (uint32_t)min_u64(f->loads[k], UINT32_MAX);
    memcpy(buf, &s, sizeof s);
    return sizeof s;
  }
  if (arch != AUDIT_ARCH_X86_64 || (nr & ~X32_BIT) != SYS_sysinfo) return 0; /* x32 shares this layout */
#else
  (void)arch;
  if (nr != SYS_sysinfo) return 0;
#endif
  struct sysinfo s;
  memset(&s, 0, sizeof s);
  s.uptime = (long)f->uptime;
  for (int k = 0; k < 3; k++) s.loads[k] = (unsigned long)f->loads[k];
  s.totalram = (unsigned long)f->totalram;
  s.freeram = (unsigned long)f->freeram;
  s.sharedram = (unsigned long)f->sharedram;
  s.totalswap = (unsigned long)f->totalswap;
  s.freeswap = (unsigned long)f->freeswap;
  s.procs = (unsigned short)f->procs;
  s.mem_unit = 1;
  memcpy(buf, &s, sizeof s);
  return sizeof s;
}

void sysinfo_answer(int listener) {
  static struct seccomp_notif_sizes sizes;
  static char *reqbuf, *respbuf;
  if (!reqbuf) {
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return;
    /* the kernel's records may be larger than our headers know: allocate what it says */
    reqbuf = calloc(1, sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif));
    respbuf = calloc(1, sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp
                                                                                   : sizeof(struct seccomp_notif_resp));
    if (!reqbuf || !respbuf) _exit(1);
  }
  struct seccomp_notif *req = (struct seccomp_notif *)reqbuf;
  struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *)respbuf;
  memset(req, 0, sizes.seccomp_notif);
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) return; /* the caller is gone (ENOENT) */
  memset(resp, 0, sizes.seccomp_notif_resp);
  resp->id = req->id;
  char buf[sizeof(struct sysinfo) + 64];
  struct facts f;
  size_t len = gather(&f) == 0 ? encode(&f, req->data.arch, req->data.nr, buf) : 0;
  if (len == 0) {
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; /* not ours to answer: the kernel does */
  } else {
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/mem", req->pid);
    int mem = open(path, O_WRONLY | O_CLOEXEC);
    /* only now is the pid known to be the caller's: the check after the open pins it */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
      if (mem >= 0) close(mem);
      return; /* the caller is gone: nobody waits for an answer */
    }
    uint64_t addr = req->data.args[0];
    if (mem < 0) resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else if (addr == 0 || pwrite(mem, buf, len, (off_t)addr) != (ssize_t)len) resp->error = -EFAULT;
    if (mem >= 0) close(mem);
  }
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}
