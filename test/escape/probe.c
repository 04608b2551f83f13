/*
 * berth's escape probe: run inside a container (test/integration/escape.test.ts copies it in),
 * it tries known ways out of a container and prints one line per attempt:
 *   NAME <TAB> blocked|ESCAPED <TAB> what happened
 * It never does harm when an attempt works: a host sysctl is written with the value it already
 * has, sysrq-trigger and devices are only opened (a device read is 512 bytes), the release agent
 * is written back unchanged.
 *
 * usage: probe HOST_PID ROOT_DEV_MAJOR ROOT_DEV_MINOR TCP_PORT ABSTRACT_NAME MARKER_PATH
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, int escaped, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(const char *name, int escaped, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("%s\t%s\t%s\n", name, escaped ? "ESCAPED" : "blocked", msg);
  fflush(stdout);
}

/* the syscall's result as words: "ok" or the errno's name */
static const char *err(long rc) {
  static char buf[64];
  if (rc >= 0) return "ok";
  snprintf(buf, sizeof buf, "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
  return buf;
}

/* Rewrites FILE with its own content; 1 if that worked (the file is writable from here). */
static int rewrite_same(const char *file) {
  char buf[4096];
  int fd = open(file, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return 0;
  fd = open(file, O_WRONLY);
  if (fd < 0) return 0;
  int ok = write(fd, buf, (size_t)n) == n;
  close(fd);
  return ok;
}

static void host_sysctl(void) {
  const char *f = "/proc/sys/kernel/core_pattern";
  if (rewrite_same(f)) return report("host sysctl (core_pattern)", 1, "written directly");
  if (mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL) == 0 && rewrite_same(f))
    return report("host sysctl (core_pattern)", 1, "written after remounting /proc/sys read-write");
  mkdir("/tmp/probe-proc", 0755);
  if (mount("proc", "/tmp/probe-proc", "proc", 0, NULL) == 0) {
    int w = rewrite_same("/tmp/probe-proc/sys/kernel/core_pattern");
    umount2("/tmp/probe-proc", MNT_DETACH);
    if (w) return report("host sysctl (core_pattern)", 1, "written through a fresh procfs");
  }
  report("host sysctl (core_pattern)", 0, "read-only or permission denied (%s)", err(open(f, O_WRONLY)));
}

/* a mask (a bind of /dev/null over a host-sensitive /proc file) undone by root inside */
static void unmask(void) {
  const char *f = "/proc/timer_list";
  char buf[256];
  long u = umount2(f, MNT_DETACH);
  int fd = open(f, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  if (fd >= 0) close(fd);
  report("unmask /proc/timer_list", n > 0, "umount: %s, read: %s", err(u),
         n > 0 ? "host timers" : err(-1));
}

static void sysrq(void) {
  const char *f = "/proc/sysrq-trigger";
  struct stat st;
  int fd = open(f, O_WRONLY);
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
    close(fd);
    return report("sysrq-trigger", 0, "masked by /dev/null");
  }
  if (fd >= 0) return close(fd), report("sysrq-trigger", 1, "opened for writing");
  if (errno == ENOENT) return report("sysrq-trigger", 0, "not in this kernel (CONFIG_MAGIC_SYSRQ off)");
  report("sysrq-trigger", 0, "open for writing: %s", err(-1));
}

static void release_agent(void) {
  mkdir("/tmp/probe-cg", 0755);
  const char *opts[] = {"memory", "pids", "name=systemd", "cpu", NULL};
  for (int k = 0; opts[k]; k++) {
    if (mount("cgroup", "/tmp/probe-cg", "cgroup", 0, opts[k]) < 0) continue;
    int w = rewrite_same("/tmp/probe-cg/release_agent");
    int e = errno;
    umount2("/tmp/probe-cg", MNT_DETACH);
    if (w) return report("cgroup v1 release_agent", 1, "writable in a fresh %s mount", opts[k]);
    errno = e;
    return report("cgroup v1 release_agent", 0, "%s mounted, release_agent: %s", opts[k], err(-1));
  }
  report("cgroup v1 release_agent", 0, "no v1 hierarchy mountable: %s", err(-1));
}

static void device(const char *name, mode_t type, unsigned maj, unsigned min) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/tmp/probe-dev-%u-%u", maj, min);
  unlink(path);
  if (mknod(path, type | 0600, makedev(maj, min)) < 0) return report(name, 0, "mknod: %s", err(-1));
  int fd = open(path, O_RDONLY);
  if (fd < 0) return unlink(path), report(name, 0, "mknod ok, open: %s", err(-1));
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (type == S_IFBLK) {
    mkdir("/tmp/probe-mnt", 0755);
    if (mount(path, "/tmp/probe-mnt", "ext4", MS_RDONLY, NULL) == 0) {
      umount2("/tmp/probe-mnt", MNT_DETACH);
      unlink(path);
      return report(name, 1, "mounted the host's disk");
    }
  }
  unlink(path);
  if (n > 0) return report(name, 1, "read %zd bytes", n);
  report(name, 0, "opened, read: %s", err(-1));
}

static void simple(const char *name, long rc) { report(name, rc >= 0, "%s", err(rc)); }

static void host_process(pid_t host) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)host);
  int found = access(path, F_OK) == 0;
  long k = kill(host, 0);
  long p = ptrace(PTRACE_ATTACH, host, 0, 0);
  if (p == 0) ptrace(PTRACE_DETACH, host, 0, 0);
  report("signal/ptrace a host process", (k == 0 || p == 0) && found, "kill: %s, ptrace: %s", err(k), err(p));
}

static void host_network(int port, const char *abstract) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  long rc = connect(s, (struct sockaddr *)&in, sizeof in);
  close(s);
  report("host loopback (TCP)", rc == 0, "connect 127.0.0.1:%d: %s", port, err(rc));
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "%s", abstract);
  rc = connect(s, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract)));
  close(s);
  report("host abstract unix socket", rc == 0, "connect @%s: %s", abstract, err(rc));
}

static void chroot_escape(const char *marker) {
  pid_t c = fork();
  if (c == 0) {
    mkdir("/tmp/probe-jail", 0755);
    if (chroot("/tmp/probe-jail") < 0) _exit(2);
    for (int k = 0; k < 64; k++)
      if (chdir("..") < 0) break;
    if (chroot(".") < 0) _exit(2);
    _exit(access(marker, F_OK) == 0 ? 1 : 0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  report("chroot breakout", WIFEXITED(st) && WEXITSTATUS(st) == 1, "the host's %s %s", marker,
         WIFEXITED(st) && WEXITSTATUS(st) == 1 ? "was reached" : "stays out of reach");
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: probe HOST_PID MAJOR MINOR TCP_PORT ABSTRACT MARKER\n");
    return 1;
  }
  pid_t host = atoi(argv[1]);
  host_sysctl();
  unmask();
  sysrq();
  release_agent();
  device("host block device", S_IFBLK, (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
  device("/dev/mem", S_IFCHR, 1, 1);
  struct {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[8];
  } fh = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
  simple("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
  simple("load a kernel module", syscall(SYS_finit_module, 0, "", 0));
#ifdef SYS_iopl
  simple("raw I/O ports (iopl)", syscall(SYS_iopl, 3));
#endif
  simple("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  simple("set the host clock", clock_settime(CLOCK_REALTIME, &now));
  simple("kernel keyring", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* user */, 0));
  char params[120] = {0}; /* struct io_uring_params */
  long ring = syscall(425 /* io_uring_setup */, 1, params);
  if (ring >= 0) close((int)ring);
  simple("io_uring", ring);
  struct bpf_insn prog[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
                            {.code = BPF_JMP | BPF_EXIT}};
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (unsigned long)prog;
  attr.insn_cnt = 2;
  attr.license = (unsigned long)"GPL";
  long b = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  simple("bpf program", b);
  struct perf_event_attr pe;
  memset(&pe, 0, sizeof pe);
  pe.type = PERF_TYPE_SOFTWARE;
  pe.size = sizeof pe;
  pe.config = PERF_COUNT_SW_CPU_CLOCK;
  simple("perf_event_open (system-wide)", syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0));
  host_process(host);
  host_network(atoi(argv[4]), argv[5]);
  chroot_escape(argv[6]);
  return 0;
}
