/*
 * OCI hooks (runtime-spec config.md "POSIX-platform Hooks") that must run while the container
 * is half built, which only the helper sees: prestart and createRuntime in the runtime's
 * namespaces once the child's mounts are made (the parent runs them while the child waits),
 * createContainer in the container's namespaces before pivot_root (its path is the host's),
 * startContainer in the container after `start`, before the command (its path is the
 * container's), and poststart and poststop alone (--run-hooks), once the command runs and once
 * the container is deleted: berth-oci's call server has the caller's own process run the helper,
 * so every hook is the caller's descendant, in its cgroup, as runc's are. berth-oci decides which
 * hooks and writes their state. Each hook gets its argv (argv[0] its own), its env (none given: ours for the
 * runtime's hooks, an empty one in the container, where nothing of the host's may pass), the
 * state as JSON on stdin, and is killed at its timeout.
 */
#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fds.h"
#include "report.h"

#define MAX_HOOKS 32

static const char *const kind_names[N_HOOK_KINDS] = {"prestart",       "createRuntime", "createContainer",
                                                      "startContainer", "poststart",     "poststop"};

/* the runtime's side: its namespaces and, none given, its environment */
static int runtime_side(enum hook_kind kind) {
  return kind <= HOOK_CREATE_RUNTIME || kind >= HOOK_POSTSTART;
}

static struct hook {
  enum hook_kind kind;
  int timeout; /* seconds; 0: none */
  const char *path;
  char **argv; /* NULL-terminated copies of argv's pointers */
  char **env;  /* NULL: none given */
} hooks[MAX_HOOKS];
static int n_hooks;
static const char *state_prefix = "{";
/* our namespaces before a pod's were joined (-1: not joined) */
static int own_ns[4] = {-1, -1, -1, -1};
static const int own_ns_flags[4] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP};
static const char *const own_ns_names[4] = {"net", "ipc", "uts", "cgroup"};

static char **words(char **argv, int from, int n) {
  char **out = calloc((size_t)n + 1, sizeof *out);
  if (!out) die_errno("hook", "calloc");
  for (int k = 0; k < n; k++) out[k] = argv[from + k];
  return out;
}

static int count(const char *s, int max, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 0 || v > max) die_usage("--hook: bad %s %s", what, s);
  return (int)v;
}

void hook_parse(char **argv, int *i, int argc) {
  if (*i + 5 >= argc) die_usage("--hook needs KIND TIMEOUT NARGS NENV PATH");
  if (n_hooks >= MAX_HOOKS) die_usage("too many --hook");
  struct hook *h = &hooks[n_hooks];
  int k;
  for (k = 0; k < N_HOOK_KINDS; k++)
    if (strcmp(argv[*i + 1], kind_names[k]) == 0) break;
  if (k == N_HOOK_KINDS) die_usage("--hook: unknown kind %s", argv[*i + 1]);
  h->kind = (enum hook_kind)k;
  h->timeout = count(argv[*i + 2], 1 << 20, "timeout");
  int nargs = count(argv[*i + 3], 1024, "argument count"), nenv = count(argv[*i + 4], 1024, "env count");
  if (nargs < 1) die_usage("--hook: a hook needs its argv[0]");
  h->path = argv[*i + 5];
  if (*i + 5 + nargs + nenv >= argc) die_usage("--hook: fewer words than counted");
  h->argv = words(argv, *i + 6, nargs);
  h->env = nenv ? words(argv, *i + 6 + nargs, nenv) : NULL;
  *i += 5 + nargs + nenv;
  n_hooks++;
}

void hook_state_prefix(const char *prefix) {
  state_prefix = prefix;
}

int hooks_of(enum hook_kind kind) {
  int n = 0;
  for (int k = 0; k < n_hooks; k++) n += hooks[k].kind == kind;
  return n;
}

void hook_keep_namespaces(void) {
  if (!hooks_of(HOOK_PRESTART) && !hooks_of(HOOK_CREATE_RUNTIME)) return;
  for (int k = 0; k < 4; k++) {
    char path[32];
    snprintf(path, sizeof path, "/proc/self/ns/%s", own_ns_names[k]);
    own_ns[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (own_ns[k] < 0) die_errno("hook", "open %s", path);
  }
}

void hook_forget_namespaces(void) {
  for (int k = 0; k < 4; k++)
    if (own_ns[k] >= 0) {
      close(own_ns[k]);
      own_ns[k] = -1;
    }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn)) exec_hook(const struct hook *h, int in, int out) {
  static char *empty[] = {NULL};
  extern char **environ;
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(127);
  signal(SIGPIPE, SIG_DFL);
  /* a runtime hook runs in the runtime's namespaces, never a pod's we joined for the clone */
  if (runtime_side(h->kind))
    for (int k = 0; k < 4; k++)
      if (own_ns[k] >= 0 && setns(own_ns[k], own_ns_flags[k]) < 0) {
        dprintf(2, "setns %s: %s", own_ns_names[k], strerror(errno));
        _exit(127);
      }
  char **env = h->env ? h->env : runtime_side(h->kind) ? environ : empty;
  execve(h->path, h->argv, env);
  dprintf(2, "%s", strerror(errno));
  _exit(127);
}

/* H with STATE on stdin to its end: NULL, or why it failed, with the tail of its output */
static const char *run_one(const struct hook *h, const char *state) {
  static char why[1024];
  char tail[400] = "";
  size_t tlen = 0;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) die_errno("hook", "pipe");
  pid_t pid = fork();
  if (pid < 0) die_errno("hook", "fork");
  if (pid == 0) exec_hook(h, in[0], out[1]);
  close(in[0]);
  close(out[1]);
  void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* a hook that reads nothing closes its end */
  write_all(in[1], state, strlen(state));       /* one that does not read it all is its own affair */
  close(in[1]);
  signal(SIGPIPE, old);
  long long deadline = h->timeout ? now_ms() + (long long)h->timeout * 1000 : 0;
  int timed_out = 0;
  for (;;) {
    struct pollfd p = {out[0], POLLIN, 0};
    int wait = deadline ? (int)(deadline - now_ms()) : -1;
    if (deadline && wait <= 0) {
      timed_out = 1;
      break;
    }
    int r = poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue; /* the deadline, checked above */
    char buf[512];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    /* the last bytes only: what a failing hook said last */
    for (ssize_t k = 0; k < n; k++) {
      if (tlen == sizeof tail - 1) memmove(tail, tail + 1, --tlen);
      tail[tlen++] = buf[k];
    }
    tail[tlen] = 0;
  }
  close(out[0]);
  if (timed_out) kill(pid, SIGKILL);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die_errno("hook", "wait for %s", h->path);
  while (tlen && (tail[tlen - 1] == '\n' || tail[tlen - 1] == ' ')) tail[--tlen] = 0;
  const char *sep = tlen ? ": " : "";
  if (timed_out)
    snprintf(why, sizeof why, "%s hook %s: killed by SIGKILL (timeout %d s)", kind_names[h->kind], h->path, h->timeout);
  else if (WIFSIGNALED(st))
    snprintf(why, sizeof why, "%s hook %s: killed by signal %d%s%s", kind_names[h->kind], h->path, WTERMSIG(st), sep, tail);
  else if (WEXITSTATUS(st))
    snprintf(why, sizeof why, "%s hook %s: exit %d%s%s", kind_names[h->kind], h->path, WEXITSTATUS(st), sep, tail);
  else
    return NULL;
  return why;
}

static char *state_of(const char *status, pid_t pid) {
  size_t n = strlen(state_prefix) + strlen(status) + 64;
  char *state = malloc(n);
  if (!state) die_errno("hook", "malloc");
  /* the prefix holds at least one field (its ociVersion), so a comma follows it */
  snprintf(state, n, "%s,\"status\":\"%s\",\"pid\":%d}", state_prefix, status, (int)pid);
  return state;
}

const char *run_hooks(enum hook_kind kind, const char *status, pid_t pid) {
  if (!hooks_of(kind)) return NULL;
  char *state = state_of(status, pid);
  const char *why = NULL;
  for (int k = 0; k < n_hooks && !why; k++)
    if (hooks[k].kind == kind) why = run_one(&hooks[k], state);
  free(state);
  return why;
}

int do_run_hooks(const char *kind, const char *status, const char *pid) {
  enum hook_kind want = HOOK_POSTSTART;
  if (strcmp(kind, kind_names[HOOK_POSTSTOP]) == 0) want = HOOK_POSTSTOP;
  else if (strcmp(kind, kind_names[HOOK_POSTSTART]) != 0) die_usage("--run-hooks takes poststart or poststop, not %s", kind);
  for (int k = 0; k < n_hooks; k++)
    if (hooks[k].kind != want) die_usage("--run-hooks %s: a %s hook given", kind, kind_names[hooks[k].kind]);
  /* a status is a word of the spec's; the state's JSON takes it as it is */
  if (strspn(status, "abcdefghijklmnopqrstuvwxyz") != strlen(status)) die_usage("--run-hooks: bad status %s", status);
  char *state = state_of(status, (pid_t)count(pid, 1 << 30, "pid"));
  for (int k = 0; k < n_hooks; k++) {
    const char *why = run_one(&hooks[k], state);
    if (why) warn_record("hook", 0, "%s", why);
  }
  free(state);
  return 0;
}
