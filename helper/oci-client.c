// berth-oci: the front door of berth's OCI runtime (docs/oci.md, "The call server").
//
// containerd's shim, Docker and Podman run their runtime a few times per container, so its
// start-up is paid on every call; a compiled Bun program's alone is longer than runc's whole
// `delete`. This client hands the call to berth-oci's server (a resident process with warm
// workers) and prints what the worker printed; it decides nothing. It runs the executable
// itself (bin/berth, as berth-oci) when no server answers, when the server declines the call,
// or with BERTH_OCI_SERVER=0.
//
// The wire (src/core/oci-wire.ts): "BOC1", the payload's length (u32 LE), then NUL-terminated
// fields: the executable's dev:ino, our namespaces, root and status lines (what a worker's own
// work must share with us), which of fds 0-2 are terminals, cwd, argc, argv[1..], envc, env.
// Back come frames: a type byte, a u32 LE length, the data: 's' a worker has the call (first), 'o' stdout,
// 'e' stderr, 'x' the exit status (the last); or 'f' after 's', run it yourself (the worker
// declined before it did anything). Two are requests the client answers with a frame of its
// own: 'h', run the helper (berth-nsexec) that makes a container's process, as our child ('H':
// its status and status records), so the process is the caller's descendant, reaped by its
// subreaper (a shim) as runc's are, with the caller's stdio; and 'i', our stdin read to its end
// ('I': the data; `update --resources -`).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/** a helper run's arguments at most (src/oci/serve.ts MAX_HELPER_ARGS; a pod's environment is two each) */
#define MAX_ARGS 65536

static char exe[PATH_MAX];
/** the caller's SIGPIPE and SIGCHLD dispositions, for the executable when we run it ourselves */
static struct sigaction caller_pipe, caller_chld;
static int changed_signals;

/** Runs the executable as berth-oci with our argv: the call as it is without a server. */
static void run_it_ourselves(char **argv) {
  // as our caller gave them: what we changed would outlive the exec
  if (changed_signals) {
    sigaction(SIGPIPE, &caller_pipe, NULL);
    sigaction(SIGCHLD, &caller_chld, NULL);
  }
  argv[0] = (char *)"berth-oci";
  execv(exe, argv);
  fprintf(stderr, "berth-oci: cannot run %s: %s\n", exe, strerror(errno));
  exit(1);
}

/** bin/berth beside our own directory: <package>/helper/berth-oci -> <package>/bin/berth. */
static int find_exe(void) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (!slash) return -1;
  *slash = 0;
  return snprintf(exe, sizeof exe, "%s/../bin/berth", self) < (int)sizeof exe ? 0 : -1;
}

struct buf {
  char *data;
  size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n) {
  if (b->len + n > (1u << 20) + 8) return -1;  // MAX_REQUEST: the server would refuse it
  if (b->len + n > b->cap) {
    size_t cap = (b->len + n) * 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

static int put_field(struct buf *b, const char *s) { return put(b, s, strlen(s) + 1); }

static int put_number(struct buf *b, unsigned long long v) {
  char s[24];
  snprintf(s, sizeof s, "%llu", v);
  return put_field(b, s);
}

/** The namespaces and status lines, as src/core/oci-wire.ts NAMESPACES and STATUS_KEYS name them. */
static const char *const NAMESPACES[] = {"mnt", "net", "pid", "ipc", "uts", "user", "cgroup", "time"};
static const char *const STATUS_KEYS[] = {"Uid",    "Gid",    "Groups", "Umask",      "CapInh", "CapPrm",
                                          "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};

/** "mnt=mnt:[...] net=..." ("-" for a namespace the kernel lacks), as src/host/oci-caller.ts ownFacts. */
static int put_namespaces(struct buf *b) {
  char link[128], path[64], item[200];
  for (size_t i = 0; i < sizeof NAMESPACES / sizeof *NAMESPACES; i++) {
    snprintf(path, sizeof path, "/proc/self/ns/%s", NAMESPACES[i]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) n = snprintf(link, sizeof link, "-");
    link[n] = 0;
    int len = snprintf(item, sizeof item, "%s%s=%s", i ? " " : "", NAMESPACES[i], link);
    if (put(b, item, (size_t)len) < 0) return -1;
  }
  return put(b, "", 1);
}

static int put_root(struct buf *b) {
  char link[PATH_MAX];
  ssize_t n = readlink("/proc/self/root", link, sizeof link - 1);
  if (n < 0) n = snprintf(link, sizeof link, "-");
  link[n] = 0;
  return put_field(b, link);
}

/** The status lines a child inherits, joined by newlines. */
static int put_status(struct buf *b) {
  static char text[16384];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n < 0) return -1;
  text[n] = 0;
  int first = 1;
  for (char *line = text, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    if (!nl) nl = line + strlen(line);
    for (size_t k = 0; k < sizeof STATUS_KEYS / sizeof *STATUS_KEYS; k++) {
      size_t kl = strlen(STATUS_KEYS[k]);
      if (strncmp(line, STATUS_KEYS[k], kl) == 0 && line[kl] == ':') {
        if ((!first && put(b, "\n", 1) < 0) || put(b, line, (size_t)(nl - line)) < 0) return -1;
        first = 0;
      }
    }
    if (!*nl) break;
  }
  return put(b, "", 1);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/** Reads N bytes; 0 at a clean end before the first, -1 at an end or error midway. */
static int read_all(int fd, char *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static int send_frame(int s, char type, const char *data, uint32_t n) {
  unsigned char head[5] = {(unsigned char)type, n & 0xff, n >> 8 & 0xff, n >> 16 & 0xff, n >> 24};
  return write_all(s, (const char *)head, 5) < 0 || write_all(s, data, n) < 0 ? -1 : 0;
}

/**
 * 'h': FIELDS are NUL-terminated: the seccomp policy's path (or empty), argc and argv (argv[0]
 * is the helper's path). The helper gets our fds 0-2, its status records' file on fd 3 and the
 * policy on fd 4 (/dev/null without one), as src/host/helper.ts runHelper gives them. Answers
 * 'H': the status (i32 LE: the exit code, or minus the signal) and the records.
 */
static int run_helper(int s, char *fields, uint32_t n) {
  static char *argv[MAX_ARGS + 1];
  char *end = fields + n, *p = fields;
  if (n == 0 || fields[n - 1] != 0) return -1;
  char *policy = p;
  p += strlen(p) + 1;
  if (p >= end) return -1;
  long argc = strtol(p, NULL, 10);
  p += strlen(p) + 1;
  if (argc < 1 || argc > MAX_ARGS) return -1;
  for (long i = 0; i < argc; i++) {
    if (p >= end) return -1;
    argv[i] = p;
    p += strlen(p) + 1;
  }
  argv[argc] = NULL;
  int status_fd = memfd_create("berth-helper-status", MFD_CLOEXEC);
  int policy_fd = open(*policy ? policy : "/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = status_fd < 0 || policy_fd < 0 ? -1 : fork();
  if (pid < 0) {
    // the worker's call fails as with a helper that could not start, and undoes what it made
    char record[256];
    int n = snprintf(record, sizeof record, "%c%c%c%c{\"error\":\"client\",\"message\":\"berth-oci: cannot run the helper: %s\"}\n",
                     127, 0, 0, 0, strerror(errno));
    return send_frame(s, 'H', record, (uint32_t)n);
  }
  if (pid == 0) {
    // the helper starts as the executable's spawn starts it: default dispositions, no mask
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(status_fd, 3) < 0 || dup2(policy_fd, 4) < 0) _exit(127);
    syscall(SYS_close_range, 5, ~0U, 0);
    execv(argv[0], argv);
    _exit(127);
  }
  close(policy_fd);
  int ws;
  while (waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR) return -1;
  int32_t code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -WTERMSIG(ws);
  struct stat st;
  if (fstat(status_fd, &st) < 0 || st.st_size > (1 << 20)) return -1;
  char *reply = malloc(4 + (size_t)st.st_size);
  if (!reply) return -1;
  memcpy(reply, &code, 4);  // x86-64 and arm64: little-endian
  ssize_t got = pread(status_fd, reply + 4, (size_t)st.st_size, 0);
  close(status_fd);
  int r = got < 0 ? -1 : send_frame(s, 'H', reply, 4 + (uint32_t)got);
  free(reply);
  return r;
}

/** 'i': our stdin to its end (at most 1 MiB: the worker takes no more), answered 'I'. */
static int send_stdin(int s) {
  struct buf in = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = read(0, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (put(&in, chunk, (size_t)r) < 0) break;
  }
  int r = send_frame(s, 'I', in.data ? in.data : "", (uint32_t)in.len);
  free(in.data);
  return r;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int main(int argc, char **argv) {
  if (find_exe() < 0) {
    fprintf(stderr, "berth-oci: cannot find the berth executable beside %s\n", argv[0]);
    return 1;
  }
  const char *off = getenv("BERTH_OCI_SERVER");
  if (off && strcmp(off, "0") == 0) run_it_ourselves(argv);

  // the server of this BERTH_ROOT (src/host/paths.ts ociServerSocket)
  const char *root = getenv("BERTH_ROOT");
  if (!root || !*root) root = "/";
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/') rl--;
  if (snprintf(addr.sun_path, sizeof addr.sun_path, "%.*s/run/berth/oci-server/sock", (int)(rl == 1 ? 0 : rl), root) >=
      (int)sizeof addr.sun_path)
    run_it_ourselves(argv);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) run_it_ourselves(argv);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) run_it_ourselves(argv);
  // only root's server: a socket someone else made first (a BERTH_ROOT under /tmp) gets nothing
  struct ucred peer;
  socklen_t pl = sizeof peer;
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &pl) < 0 || peer.uid != 0) run_it_ourselves(argv);
  // a server that closes before it read us is no call made (run_it_ourselves restores it); and
  // we wait for our helper runs' children ourselves
  struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGPIPE, &ign, &caller_pipe);
  sigaction(SIGCHLD, &dfl, &caller_chld);
  changed_signals = 1;

  struct stat st;
  char cwd[PATH_MAX], id[64];
  if (stat(exe, &st) < 0 || !getcwd(cwd, sizeof cwd)) run_it_ourselves(argv);
  snprintf(id, sizeof id, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  struct buf b = {0};
  int envc = 0;
  for (char **e = environ; *e; e++) envc++;
  char ttys[4] = {isatty(0) ? '1' : '0', isatty(1) ? '1' : '0', isatty(2) ? '1' : '0', 0};
  int bad = put(&b, "BOC1\0\0\0\0", 8) || put_field(&b, id) || put_namespaces(&b) || put_root(&b) ||
            put_status(&b) || put_field(&b, ttys) || put_field(&b, cwd) || put_number(&b, (unsigned)argc - 1);
  for (int i = 1; i < argc && !bad; i++) bad = put_field(&b, argv[i]);
  bad = bad || put_number(&b, (unsigned)envc);
  for (char **e = environ; *e && !bad; e++) bad = put_field(&b, *e);
  if (bad) run_it_ourselves(argv);
  uint32_t n = (uint32_t)(b.len - 8);
  unsigned char len[4] = {n & 0xff, n >> 8 & 0xff, n >> 16 & 0xff, n >> 24};
  memcpy(b.data + 4, len, 4);
  // a server that went away before reading is no call made: run it ourselves
  if (write_all(s, b.data, b.len) < 0) run_it_ourselves(argv);
  free(b.data);

  // (SIGPIPE is ignored: a caller that closed our stdout does not end the call)
  static char data[4 << 20];  // a helper run's argv (the server's output comes in 64 KiB frames)
  for (int dispatched = 0;;) {
    unsigned char head[5];
    // an end before the server gave the call to a worker is no call made: run it ourselves
    if (read_all(s, (char *)head, sizeof head) <= 0) {
      if (!dispatched) run_it_ourselves(argv);
      break;
    }
    uint32_t size = le32(head + 1);
    if (head[0] == 's' && size == 0) {
      dispatched = 1;
      continue;
    }
    // the worker declined before it did anything (the server sends it before any output)
    if (head[0] == 'f' && size == 0) run_it_ourselves(argv);
    if (head[0] == 'x' && size == 4) {
      unsigned char code[4];
      if (read_all(s, (char *)code, 4) <= 0) break;
      return (int)(le32(code) & 0xff);
    }
    if (head[0] == 'h' && size <= sizeof data) {
      if (read_all(s, data, size) <= 0 || run_helper(s, data, size) < 0) break;
      continue;
    }
    if (head[0] == 'i' && size == 0) {
      if (send_stdin(s) < 0) break;
      continue;
    }
    if ((head[0] != 'o' && head[0] != 'e') || size > sizeof data) break;
    if (read_all(s, data, size) <= 0) break;
    (void)write_all(head[0] == 'o' ? 1 : 2, data, size);
  }
  fprintf(stderr, "berth-oci: the call server ended the call without its status\n");
  return 1;
}
