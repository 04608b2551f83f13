/*
 * berth-nsexec: berth's one C helper (this file: argv and the modes; report.c, rootops.c,
 * privs.c, idmap.c, net.c, fastpath.c, keeper.c, sysinfo.c, relay.c, console.c, fds.c do the parts). It executes an explicit plan given on argv (the
 * argv is the API) and reports facts (a pid, an errno) as JSON lines on --status-fd. It reads no
 * config files and holds no defaults: every decision is made in TypeScript (src/core/helper-args.ts).
 * The whole contract is helper/PROTOCOL.md.
 *
 * Three modes:
 *   start (default)  clone() into new namespaces, build the root (mounts in the given order),
 *                    pivot_root, drop privileges, exec the container's init.
 *   --join PID       setns() into PID's namespaces and run a command there (exec / enter).
 *   --lock FILE      take flock(LOCK_EX|LOCK_NB) on FILE and hold it while --watch-pid lives.
 *   --tree-sync SRC DST --since T  bring a copy up to date with what changed since T (treesync.c).
 *   --run-hooks KIND STATUS PID  an OCI container's poststart or poststop hooks (hooks.c).
 *   --attach SOCK ESC BANNER  the caller's terminal on a container's console, through its keeper (console.c).
 *   --join PID --net ... (no command): network changes on a running container (net.c).
 *
 * Start mode may also fork the container's keeper (keeper.c): the host process that holds its
 * console pty and answers its sysinfo(2) calls (sysinfo.c) for as long as init runs.
 *
 * Memory is never freed: the process either execs or exits, so the kernel cleans up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/sched.h> /* struct clone_args */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <limits.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.h"
#include "criu.h"
#include "fds.h"
#include "hooks.h"
#include "idmap.h"
#include "keeper.h"
#include "net.h"
#include "privs.h"
#include "relay.h"
#include "treesync.h"
#include "report.h"
#include "rootops.h"

#define MAX_OPS 256
#define MAX_LIST 64
/* a process's environment: a Kubernetes pod's service links alone give seven variables a service */
#define MAX_ENV 8192

static struct {
  const char *rootfs_stage; /* --rootfs-idmapped: where the idmapped copy of the root is staged */
  const char *rootfs_overlay; /* --rootfs-overlay: the root is this overlay (its mount data): rebuilt over idmapped layers */
  const char *rootfs, *hostname, *lock, *cwd, *propagation, *caps_keep, *unshare;
  const char *exec_fifo; /* --exec-fifo PATH: start mode waits there before its execve (OCI create) */
  const char *exit_file; /* --exit-file PATH: a waiter stays the init's parent and writes its status there (OCI run) */
  int inherit_stdio;     /* --inherit-stdio: init keeps our fds 0-2 (OCI: the caller's pipes) */
  const char *console_socket; /* --console-socket PATH: the console's master goes there (OCI terminal) */
  int clear_env;             /* --clear-env: the --env list is the whole environment, even empty */
  const char *oom_score_adj; /* --oom-score-adj N: written for the process (OCI) */
  struct { const char *type, *path; } setns_ops[8]; /* --setns TYPE PATH: join, not make (OCI's path) */
  int n_setns;
  struct { const char *ns, *key, *value; } sysctls[32]; /* --sysctl-joined NS KEY VALUE: in a namespace --setns joined */
  int n_sysctls;
  struct { int resource; struct rlimit lim; } rlimits[32]; /* --rlimit NAME SOFT HARD */
  int n_rlimits;
  int detach;   /* --detach: join mode returns once CMD runs, which keeps our fds 0-2 (OCI exec) */
  int user_set; /* --user UID GID GROUPS: the process's ids (OCI process.user) */
  uid_t user_uid;
  gid_t user_gid, user_groups[64];
  int n_user_groups;
  const char *host_src, *host_dst, *host_umount;
  const char *sync_src, *sync_dst, *since; /* --tree-sync SRC DST --since T */
  const char *run_hooks[3];                /* --run-hooks KIND STATUS PID (hooks.c) */
  int host_overlay; /* host_src is overlayfs mount data, not a path to bind */
  int host_image;   /* host_src is an ext4 image file to attach to a loop device */
  int host_ro;      /* the host mount is read-only (snapshot views) */
  int host_nosuid;  /* the host mount is nosuid,nodev (views no container runs from) */
  int idmap;        /* --idmap BASE COUNT: a user namespace's maps, and idmapped host mounts */
  unsigned idmap_base, idmap_count;
  pid_t join, watch_pid;
  int seccomp_fd, pty, no_new_privs;
  struct keeper_plan keeper; /* --keeper LOG SIZE SOCK [--sysinfo ...]: start mode forks one */
  int keep;
  struct criu_plan criu; /* --criu-restore: criu.c */
  const char *keeper_sock; /* join mode: the running keeper, which takes our seccomp listener */
  const char *attach, *banner; /* --attach SOCK ESCAPE BANNER: berth console */
  int escape;
  int attach_session; /* --attach-session N: a carried-over enter session instead of the console */
  /* --session-record DIR NAME: an enter session that a checkpoint can carry: its shell is made
   * init's child, and DIR/NAME says where it is (helper, its parent, its pty) */
  const char *session_dir, *session_name;
  struct op ops[MAX_OPS];
  int n_ops;
  const char *cgroups[MAX_LIST];
  int n_cgroups;
  char *env[MAX_ENV + 1];
  int n_env;
  struct net_op net[MAX_OPS];
  int n_net;
  char **argv;
} opt = {.seccomp_fd = -1};

/* ---- argv ----------------------------------------------------------------------------------- */

static const char *need(char **argv, int *i, int argc, const char *name) {
  if (*i + 1 >= argc) die_usage("%s needs a value", name);
  return argv[++*i];
}

static int parse_int(const char *s, const char *name) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v < 0 || v > 1 << 30) die_usage("%s: not a number: %s", name, s);
  return (int)v;
}

/* a uid or gid: 0 to 2^32-2 */
static unsigned long parse_id(const char *s) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == 0 || *end != 0 || errno || v >= 0xffffffffUL) die_usage("not an id: %s", s);
  return v;
}

static int rlimit_of(const char *name) {
  static const struct {
    const char *name;
    int resource;
  } limits[] = {{"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
                {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
                {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
                {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
                {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++)
    if (strcmp(name, limits[k].name) == 0) return limits[k].resource;
  return -1;
}

/* a decimal count, or "unlimited" */
static rlim_t rlim_value(const char *s) {
  if (strcmp(s, "unlimited") == 0) return RLIM_INFINITY;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == 0 || *end != 0 || errno) die_usage("--rlimit: not a number: %s", s);
  return (rlim_t)v;
}

static void add_op(enum op_kind k, const char *a, const char *b, const char *c, const char *d) {
  if (opt.n_ops >= MAX_OPS) die_usage("too many mount operations");
  opt.ops[opt.n_ops++] = (struct op){k, a, b, c, d, -1, STAGE_IDMAP};
}

static int ns_flags(const char *list);

static void parse_args(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--rootfs") == 0) {
      opt.rootfs = need(argv, &i, argc, a);
    } else if (strcmp(a, "--unshare") == 0) {
      opt.unshare = need(argv, &i, argc, a);
    } else if (strcmp(a, "--hostname") == 0) {
      opt.hostname = need(argv, &i, argc, a);
    } else if (strcmp(a, "--propagation") == 0) {
      opt.propagation = need(argv, &i, argc, a);
    } else if (strcmp(a, "--caps-keep") == 0) {
      opt.caps_keep = need(argv, &i, argc, a);
    } else if (strcmp(a, "--status-fd") == 0) {
      status_fd = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--seccomp-fd") == 0) {
      opt.seccomp_fd = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--cgroup-procs") == 0) {
      if (opt.n_cgroups >= MAX_LIST) die_usage("too many --cgroup-procs");
      opt.cgroups[opt.n_cgroups++] = need(argv, &i, argc, a);
    } else if (strcmp(a, "--env") == 0) {
      if (opt.n_env >= MAX_ENV) die_usage("too many --env");
      opt.env[opt.n_env++] = (char *)need(argv, &i, argc, a);
    } else if (strcmp(a, "--join") == 0) {
      opt.join = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--cwd") == 0) {
      opt.cwd = need(argv, &i, argc, a);
    } else if (strcmp(a, "--exec-fifo") == 0) {
      opt.exec_fifo = need(argv, &i, argc, a);
    } else if (strcmp(a, "--exit-file") == 0) {
      opt.exit_file = need(argv, &i, argc, a);
    } else if (strcmp(a, "--detach") == 0) {
      opt.detach = 1;
    } else if (strcmp(a, "--setns") == 0) { /* TYPE PATH */
      if (i + 2 >= argc) die_usage("--setns needs TYPE PATH");
      if (opt.n_setns >= 8) die_usage("too many --setns");
      opt.setns_ops[opt.n_setns].type = argv[i + 1];
      opt.setns_ops[opt.n_setns].path = argv[i + 2];
      opt.n_setns++;
      i += 2;
    } else if (strcmp(a, "--clear-env") == 0) {
      opt.clear_env = 1;
    } else if (strcmp(a, "--oom-score-adj") == 0) {
      opt.oom_score_adj = need(argv, &i, argc, a);
    } else if (strcmp(a, "--console-socket") == 0) {
      opt.console_socket = need(argv, &i, argc, a);
    } else if (strcmp(a, "--inherit-stdio") == 0) {
      opt.inherit_stdio = 1;
    } else if (strcmp(a, "--user") == 0) { /* UID GID GROUPS (comma-separated, or -) */
      if (i + 3 >= argc) die_usage("--user needs UID GID GROUPS");
      opt.user_set = 1;
      opt.user_uid = (uid_t)parse_id(argv[i + 1]);
      opt.user_gid = (gid_t)parse_id(argv[i + 2]);
      if (strcmp(argv[i + 3], "-") != 0) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", argv[i + 3]);
        for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
          if (opt.n_user_groups >= 64) die_usage("--user: more than 64 groups");
          opt.user_groups[opt.n_user_groups++] = (gid_t)parse_id(w);
        }
      }
      i += 3;
    } else if (strcmp(a, "--rlimit") == 0) { /* NAME SOFT HARD */
      if (i + 3 >= argc) die_usage("--rlimit needs NAME SOFT HARD");
      if (opt.n_rlimits >= 32) die_usage("too many --rlimit");
      int r = rlimit_of(argv[i + 1]);
      if (r < 0) die_usage("--rlimit: unknown limit %s", argv[i + 1]);
      opt.rlimits[opt.n_rlimits].resource = r;
      opt.rlimits[opt.n_rlimits].lim.rlim_cur = rlim_value(argv[i + 2]);
      opt.rlimits[opt.n_rlimits].lim.rlim_max = rlim_value(argv[i + 3]);
      opt.n_rlimits++;
      i += 3;
    } else if (strcmp(a, "--pty") == 0) {
      opt.pty = 1;
    } else if (strcmp(a, "--keeper") == 0) { /* LOG SIZE SOCK */
      if (i + 3 >= argc) die_usage("--keeper needs LOG SIZE SOCK");
      char *end;
      opt.keep = 1;
      opt.keeper.log_path = argv[i + 1];
      opt.keeper.log_max = strtoll(argv[i + 2], &end, 10);
      if (*end || opt.keeper.log_max < 0) die_usage("--keeper: bad size %s", argv[i + 2]);
      opt.keeper.sock_path = argv[i + 3];
      i += 3;
    } else if (strcmp(a, "--sysinfo") == 0) { /* v1|v2 MEMDIR PIDSDIR */
      if (i + 3 >= argc || (strcmp(argv[i + 1], "v1") && strcmp(argv[i + 1], "v2")))
        die_usage("--sysinfo needs v1|v2 MEMDIR PIDSDIR");
      opt.keeper.si = (struct sysinfo_plan){strcmp(argv[i + 1], "v2") == 0, argv[i + 2], argv[i + 3]};
      i += 3;
    } else if (strcmp(a, "--attach") == 0) { /* SOCK ESCAPE BANNER */
      if (i + 3 >= argc) die_usage("--attach needs SOCK ESCAPE BANNER");
      opt.attach = argv[i + 1];
      opt.escape = strcmp(argv[i + 2], "-1") == 0 ? -1 : parse_int(argv[i + 2], a);
      if (opt.escape > 255) die_usage("--attach: ESCAPE is a byte or -1");
      opt.banner = argv[i + 3];
      i += 3;
    } else if (strcmp(a, "--attach-session") == 0) {
      opt.attach_session = parse_int(need(argv, &i, argc, a), a);
      if (opt.attach_session < 1 || opt.attach_session > KEEPER_MAX_SESSIONS) die_usage("--attach-session: 1 to %d", KEEPER_MAX_SESSIONS);
    } else if (strcmp(a, "--session-record") == 0) { /* DIR NAME */
      if (i + 2 >= argc) die_usage("--session-record needs DIR and NAME");
      opt.session_dir = argv[i + 1];
      opt.session_name = argv[i + 2];
      if (!*opt.session_name || strchr(opt.session_name, '/') || strlen(opt.session_name) > 64)
        die_usage("--session-record: NAME is a plain file name");
      i += 2;
    } else if (strcmp(a, "--criu-session") == 0) { /* N: the next pty of the staged devpts */
      if (opt.criu.nsessions == KEEPER_MAX_SESSIONS) die_usage("--criu-session: more than %d", KEEPER_MAX_SESSIONS);
      int n = parse_int(need(argv, &i, argc, a), a);
      if (n < 1 || n > KEEPER_MAX_SESSIONS) die_usage("--criu-session: 1 to %d", KEEPER_MAX_SESSIONS);
      opt.criu.session_num[opt.criu.nsessions++] = n;
    } else if (strcmp(a, "--winsize-fd") == 0) {
      winsize_fd = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--criu-restore") == 0) {
      opt.criu.stage = need(argv, &i, argc, a);
    } else if (strcmp(a, "--criu-lxcfs") == 0) {
      opt.criu.lxcfs = need(argv, &i, argc, a);
    } else if (strcmp(a, "--criu-dev") == 0) {
      if (i + 2 >= argc) die_usage("--criu-dev needs SRC and NAME");
      if (opt.criu.ndevs == 32) die_usage("--criu-dev: more than 32 device nodes");
      opt.criu.devs[opt.criu.ndevs][0] = argv[i + 1];
      opt.criu.devs[opt.criu.ndevs++][1] = argv[i + 2];
      i += 2;
    } else if (strcmp(a, "--criu-bind") == 0) {
      if (opt.criu.nbinds == 32) die_usage("--criu-bind: more than 32 bind mounts");
      opt.criu.binds[opt.criu.nbinds++] = need(argv, &i, argc, a);
    } else if (strcmp(a, "--criu-pidfile") == 0) {
      opt.criu.pidfile = need(argv, &i, argc, a);
    } else if (strcmp(a, "--criu-tty-fd") == 0) {
      opt.criu.tty_fd = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--keeper-sock") == 0) {
      opt.keeper_sock = need(argv, &i, argc, a);
    } else if (strcmp(a, "--console") == 0 || strcmp(a, "--console-own") == 0) {
      add_op(OP_CONSOLE, need(argv, &i, argc, a), strcmp(a, "--console-own") == 0 ? "own" : NULL, NULL, NULL);
    } else if (strcmp(a, "--no-new-privs") == 0) {
      opt.no_new_privs = 1;
    } else if (strcmp(a, "--host-bind") == 0 || strcmp(a, "--host-overlay") == 0 ||
               strcmp(a, "--host-image") == 0) { /* SRC|DATA|FILE DST, in the host's mount ns */
      if (i + 2 >= argc) die_usage("--host-bind/--host-overlay/--host-image need two arguments");
      opt.host_src = argv[i + 1];
      opt.host_dst = argv[i + 2];
      opt.host_overlay = strcmp(a, "--host-overlay") == 0;
      opt.host_image = strcmp(a, "--host-image") == 0;
      i += 2;
    } else if (strcmp(a, "--host-ro") == 0) {
      opt.host_ro = 1;
    } else if (strcmp(a, "--host-nosuid") == 0) {
      opt.host_nosuid = 1;
    } else if (strcmp(a, "--idmap") == 0) { /* BASE COUNT */
      if (i + 2 >= argc) die_usage("--idmap needs BASE COUNT");
      char *end1, *end2;
      unsigned long base = strtoul(argv[i + 1], &end1, 10), count = strtoul(argv[i + 2], &end2, 10);
      if (*end1 || *end2 || !*argv[i + 1] || count == 0 || base == 0 || base + count > 0xffffffffUL)
        die_usage("--idmap: bad range %s %s", argv[i + 1], argv[i + 2]);
      opt.idmap = 1;
      opt.idmap_base = (unsigned)base;
      opt.idmap_count = (unsigned)count;
      i += 2;
    } else if (strcmp(a, "--host-umount") == 0) {
      opt.host_umount = need(argv, &i, argc, a);
    } else if (strcmp(a, "--watch-pid") == 0) {
      opt.watch_pid = parse_int(need(argv, &i, argc, a), a);
    } else if (strcmp(a, "--lock") == 0) {
      opt.lock = need(argv, &i, argc, a);
    } else if (strcmp(a, "--tree-sync") == 0) { /* SRC DST */
      if (i + 2 >= argc) die_usage("--tree-sync needs SRC DST");
      opt.sync_src = argv[i + 1];
      opt.sync_dst = argv[i + 2];
      i += 2;
    } else if (strcmp(a, "--since") == 0) {
      opt.since = need(argv, &i, argc, a);
    } else if (strcmp(a, "--mount") == 0) { /* FSTYPE SOURCE DEST OPTIONS */
      if (i + 4 >= argc) die_usage("--mount needs FSTYPE SOURCE DEST OPTIONS");
      add_op(OP_MOUNT, argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
      i += 4;
    } else if (strcmp(a, "--bind") == 0) { /* HOSTSRC DEST OPTIONS */
      if (i + 3 >= argc) die_usage("--bind needs SOURCE DEST OPTIONS");
      add_op(OP_BIND, argv[i + 1], argv[i + 2], argv[i + 3], NULL);
      i += 3;
    } else if (strcmp(a, "--bind-idmapped") == 0 || strcmp(a, "--bind-idmapped-loose") == 0) { /* HOSTSRC STAGE DEST OPTIONS */
      if (i + 4 >= argc) die_usage("--bind-idmapped needs SOURCE STAGE DEST OPTIONS");
      add_op(OP_BINDMAP, argv[i + 1], argv[i + 3], argv[i + 4], argv[i + 2]);
      if (strcmp(a, "--bind-idmapped-loose") == 0) opt.ops[opt.n_ops - 1].stage = STAGE_IDMAP_OR_BIND;
      i += 4;
    } else if (strcmp(a, "--mount-staged") == 0) { /* FSTYPE STAGE DEST OPTIONS */
      if (i + 4 >= argc) die_usage("--mount-staged needs FSTYPE STAGE DEST OPTIONS");
      add_op(OP_BINDMAP, argv[i + 1], argv[i + 3], argv[i + 4], argv[i + 2]);
      opt.ops[opt.n_ops - 1].stage = STAGE_NEW_MOUNT;
      i += 4;
    } else if (strcmp(a, "--rootfs-idmapped") == 0) {
      opt.rootfs_stage = need(argv, &i, argc, a);
    } else if (strcmp(a, "--rootfs-overlay") == 0) {
      opt.rootfs_overlay = need(argv, &i, argc, a);
    } else if (strcmp(a, "--rebind") == 0) { /* DEST OPTIONS */
      if (i + 2 >= argc) die_usage("--rebind needs DEST OPTIONS");
      add_op(OP_REBIND, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--remount") == 0) { /* DEST OPTIONS */
      if (i + 2 >= argc) die_usage("--remount needs DEST OPTIONS");
      add_op(OP_REMOUNT, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--mask") == 0) {
      add_op(OP_MASK, need(argv, &i, argc, a), NULL, NULL, NULL);
    } else if (strcmp(a, "--symlink") == 0) { /* TARGET DEST */
      if (i + 2 >= argc) die_usage("--symlink needs TARGET DEST");
      add_op(OP_SYMLINK, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--write") == 0) { /* DEST CONTENT */
      if (i + 2 >= argc) die_usage("--write needs DEST CONTENT");
      add_op(OP_WRITE, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--block") == 0) { /* DEST CONTENT */
      if (i + 2 >= argc) die_usage("--block needs DEST CONTENT");
      add_op(OP_BLOCK, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--net") == 0) { /* WHERE VERB A B C */
      if (i + 5 >= argc) die_usage("--net needs WHERE VERB A B C");
      if (!net_op_valid(argv[i + 1], argv[i + 2])) die_usage("bad --net %s %s", argv[i + 1], argv[i + 2]);
      if (opt.n_net >= MAX_OPS) die_usage("too many --net operations");
      opt.net[opt.n_net++] = (struct net_op){argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]};
      i += 5;
    } else if (strcmp(a, "--mknod") == 0) { /* DEST "TYPE MAJOR MINOR MODE UID GID" */
      if (i + 2 >= argc) die_usage("--mknod needs DEST NODE");
      add_op(OP_MKNOD, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else if (strcmp(a, "--hook") == 0) { /* KIND TIMEOUT NARGS NENV PATH ARG... ENV... */
      hook_parse(argv, &i, argc);
    } else if (strcmp(a, "--hook-state") == 0) {
      hook_state_prefix(need(argv, &i, argc, a));
    } else if (strcmp(a, "--run-hooks") == 0) { /* KIND STATUS PID */
      if (i + 3 >= argc) die_usage("--run-hooks needs KIND STATUS PID");
      for (int k = 0; k < 3; k++) opt.run_hooks[k] = argv[i + 1 + k];
      i += 3;
    } else if (strcmp(a, "--sysctl-joined") == 0) { /* NS KEY VALUE */
      if (i + 3 >= argc) die_usage("--sysctl-joined needs NS KEY VALUE");
      if (opt.n_sysctls >= 32) die_usage("too many --sysctl-joined");
      opt.sysctls[opt.n_sysctls].ns = argv[i + 1];
      opt.sysctls[opt.n_sysctls].key = argv[i + 2];
      opt.sysctls[opt.n_sysctls].value = argv[i + 3];
      opt.n_sysctls++;
      i += 3;
    } else if (strcmp(a, "--mkdir") == 0) { /* DEST MODE */
      if (i + 2 >= argc) die_usage("--mkdir needs DEST MODE");
      add_op(OP_MKDIR, argv[i + 1], argv[i + 2], NULL, NULL);
      i += 2;
    } else {
      die_usage("unknown option %s", a);
    }
  }
  opt.argv = argv + i;
  if (opt.sync_src && !opt.since) die_usage("--tree-sync needs --since");
  if (opt.sync_src && opt.argv[0]) die_usage("--tree-sync takes no command");
  if (opt.attach && opt.argv[0]) die_usage("--attach takes no command");
  if (opt.run_hooks[0] && (opt.argv[0] || opt.join || opt.rootfs)) die_usage("--run-hooks takes no command, --join or --rootfs");
  if (opt.run_hooks[0]) return;
  if (opt.lock || opt.sync_src || opt.attach || ((opt.host_src || opt.host_umount) && !opt.argv[0])) return;
  if (opt.argv[0] == NULL && !opt.rootfs && opt.n_net) return; /* network changes only */
  if (opt.criu.stage) {
    if (!opt.argv[0] || !opt.criu.pidfile || opt.criu.tty_fd < 3 || opt.join || opt.rootfs)
      die_usage("--criu-restore needs --criu-pidfile, --criu-tty-fd (above 2) and criu's argv, no --join or --rootfs");
    opt.criu.argv = opt.argv;
    opt.criu.base = opt.idmap ? opt.idmap_base : 0;
    return;
  }
  if (opt.argv[0] == NULL && !(opt.join && (opt.hostname || opt.n_ops))) die_usage("missing command after --");
  if (!opt.join && !opt.rootfs) die_usage("start mode needs --rootfs");
  if (opt.keeper.si.mem_dir && !opt.keep) die_usage("--sysinfo needs --keeper");
  if (opt.join && opt.rootfs) die_usage("--join takes no --rootfs");
  /* pivot_root in the host's own mount namespace would take the host's root away */
  if (opt.rootfs && !(ns_flags(opt.unshare ? opt.unshare : "") & CLONE_NEWNS)) die_usage("--rootfs needs --unshare mnt");
  if (opt.propagation && strcmp(opt.propagation, "rslave") != 0 && strcmp(opt.propagation, "rprivate") != 0)
    die_usage("--propagation takes rslave or rprivate");
  for (int k = 0; k < opt.n_ops; k++)
    if (opt.ops[k].kind == OP_BINDMAP && !opt.idmap) die_usage("--bind-idmapped needs --idmap");
  if (opt.rootfs_stage && (!opt.idmap || !opt.rootfs)) die_usage("--rootfs-idmapped needs --idmap and --rootfs");
  if (opt.rootfs_overlay && !opt.rootfs_stage) die_usage("--rootfs-overlay needs --rootfs-idmapped");
  for (int k = 0; opt.join && k < opt.n_ops; k++)
    if (opt.ops[k].kind != OP_WRITE && opt.ops[k].kind != OP_BLOCK) die_usage("--join takes no mounts (only --write, --block)");
}

/* ---- cgroups and namespaces ----------------------------------------------------------------- */

static void join_cgroups(const int *fds, int n) {
  for (int k = 0; k < n; k++)
    if (write(fds[k], "0", 1) != 1) die_errno("cgroup", "join cgroup %s", opt.cgroups[k]);
}

static void open_cgroups(int *fds) {
  for (int k = 0; k < opt.n_cgroups; k++) {
    fds[k] = open(opt.cgroups[k], O_WRONLY | O_CLOEXEC);
    if (fds[k] < 0) die_errno("cgroup", "open %s", opt.cgroups[k]);
  }
}

/* the order is the setns order (join mode: user moved last, joined once we are done as the
 * host's root); time after mnt (its fd is open already) and before user: setns(time) needs
 * CAP_SYS_ADMIN over the namespace's owner, which the host's root has (the container's user
 * namespace, or the host's for a container started before time namespaces or by CRIU) */
static const char *const ns_names[] = {"user", "ipc", "uts", "net", "pid", "cgroup", "mnt", "time"};
static const int ns_clone_flags[] = {CLONE_NEWUSER, CLONE_NEWIPC,    CLONE_NEWUTS, CLONE_NEWNET,
                                     CLONE_NEWPID,  CLONE_NEWCGROUP, CLONE_NEWNS,  CLONE_NEWTIME};
#define N_NS ((int)(sizeof ns_names / sizeof ns_names[0]))

static int ns_flags(const char *list) {
  uint64_t mask = parse_names(list, ns_names, N_NS, "namespace");
  int flags = 0;
  for (int k = 0; k < N_NS; k++)
    if ((mask >> k) & 1) flags |= ns_clone_flags[k];
  return flags;
}

/* In a container's user namespace (new, or joined): become its root, whose ids map to BASE on
 * the host. We keep every capability in that namespace: the kernel grants them to a process
 * that enters it, and root inside is not a change away from root. */
static void become_root(void) {
  if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
    die_errno("idmap", "become root in the user namespace");
}

/* ---- network operations (net.c) ------------------------------------------------------------ */

/* Runs the --net operations for WHERE in our current network namespace; returns the first that
 * failed (errno set), or NULL. */
static const struct net_op *run_net(const char *where, pid_t ct_pid) {
  for (int k = 0; k < opt.n_net; k++) {
    const struct net_op *o = &opt.net[k];
    if (strcmp(o->where, where) != 0) continue;
    int e = net_run(o, ct_pid);
    if (e && o->verb[0] == '?') { /* optional: report the fact, go on */
      warn_record("net", e, "%s %s %s", o->verb + 1, o->a, o->b);
      continue;
    }
    if (e) {
      errno = e;
      return o;
    }
  }
  return NULL;
}

static void __attribute__((noreturn)) die_net(const struct net_op *o) {
  die_errno("net", "%s %s %s %s %s", o->where, o->verb, o->a, o->b, o->c);
}

/* Live changes: the container's end in its network namespace, the host's end in ours. */
static int do_net_live(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)opt.join);
  int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ct = open(path, O_RDONLY | O_CLOEXEC);
  if (host < 0 || ct < 0) die_errno("setns", "open %s", path);
  const struct net_op *bad = run_net("host", opt.join);
  if (bad) die_net(bad);
  if (setns(ct, CLONE_NEWNET) < 0) die_errno("setns", "join net namespace of %d", (int)opt.join);
  net_reset();
  if ((bad = run_net("ct", opt.join))) die_net(bad);
  return 0;
}

/* ---- the parent side: wait for the child's exec, relay its failure -------------------------- */

/* returns 1 if the child reported a setup error (already relayed to the status fd) */
static int relay_child_error(int rd) {
  char buf[4096];
  ssize_t n, total = 0;
  while ((n = read(rd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (status_fd >= 0) write_all(status_fd, buf, (size_t)n);
    total += n;
  }
  close(rd);
  return total > 0;
}

static int wait_status(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 2;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- start mode ----------------------------------------------------------------------------- */

/* Attaches an ext4 image to a free loop device and mounts it on DST. The device is set to clear
 * itself when its last user goes (the unmount), so nothing needs to detach it later, even
 * after a crash. Another process may take the free device first: then ask for another. */
static void host_image(void) {
  int file = open(opt.host_src, (opt.host_ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (file < 0) die_errno("image", "open %s", opt.host_src);
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) die_errno("image", "open /dev/loop-control");
  for (int tries = 0;; tries++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) die_errno("image", "no free loop device");
    char dev[32];
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    int loop = open(dev, O_RDWR | O_CLOEXEC);
    if (loop < 0) die_errno("image", "open %s", dev);
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = (unsigned)file;
    /* direct I/O to the image file: its pages are cached once, by the ext4 inside, not twice
     * (the kernel falls back to buffered I/O where the host filesystem cannot) */
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO | (opt.host_ro ? LO_FLAGS_READ_ONLY : 0);
    snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", opt.host_src);
    if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0) {
      int rc = mount(dev, opt.host_dst, "ext4", opt.host_ro ? MS_RDONLY : 0, NULL);
      int e = errno;
      close(loop); /* with autoclear, a failed mount frees the device here */
      if (rc < 0) {
        errno = e;
        die_errno("mount", "ext4 %s (%s) on %s", dev, opt.host_src, opt.host_dst);
      }
      break;
    }
    int e = errno;
    close(loop);
    if (e != EBUSY || tries >= 16) {
      errno = e;
      die_errno("image", "attach %s to %s", opt.host_src, dev);
    }
  }
  close(ctl);
  close(file);
}

/* The container's root as the admin sees it (VE_ROOT): a bind of its private area, an overlay
 * of its upper directory on a template layer, or its ext4 image. Private propagation, so that
 * nothing mounted inside a container ever shows up on the host. */
static void host_bind(void) {
  int userns = -1, e;
  if (opt.idmap && (e = idmap_userns(opt.idmap_base, opt.idmap_count, &userns))) {
    errno = e;
    die_errno("idmap", "user namespace for %u %u", opt.idmap_base, opt.idmap_count);
  }
  if (opt.host_overlay && opt.idmap) {
    if ((e = idmap_overlay(opt.host_src, opt.host_dst, opt.idmap_base, userns, opt.host_ro))) {
      errno = e;
      die_errno("mount", "idmapped overlay %s on %s", opt.host_src, opt.host_dst);
    }
  } else if (opt.host_image) {
    host_image();
  } else if (opt.host_overlay) {
    if (mount("overlay", opt.host_dst, "overlay", opt.host_ro ? MS_RDONLY : 0, opt.host_src) < 0)
      die_errno("mount", "overlay %s on %s", opt.host_src, opt.host_dst);
  } else if (mount(opt.host_src, opt.host_dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
    die_errno("mount", "bind %s on %s", opt.host_src, opt.host_dst);
  } else if (opt.host_ro && !opt.idmap && mount(NULL, opt.host_dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
    die_errno("mount", "make %s read-only", opt.host_dst);
  }
  /* a bind or an image: the plain mount is swapped for an idmapped copy of itself */
  if (opt.idmap && !opt.host_overlay && (e = idmap_in_place(opt.host_dst, userns, opt.host_ro))) {
    umount2(opt.host_dst, MNT_DETACH);
    errno = e;
    die_errno("mount", "idmap %s", opt.host_dst);
  }
  if (userns >= 0) close(userns);
  /* Device nodes in a container's files (a template's, an archive's, or mknod by a privileged
   * root) never open as devices through its root: its /dev is a tmpfs of its own, with the
   * nodes berth binds from the host. A view that no container runs from (berth mount,
   * snapshot-mount) is nosuid too: a setuid-root file planted by the container must do nothing
   * for a host user. (A running root is not nosuid: the container's root inherits this mount's
   * flags, locked in a user namespace, and su must work inside; its 0700 parent guards it.) */
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_NODEV | (opt.host_nosuid ? MOUNT_ATTR_NOSUID : 0)};
  if (syscall(SYS_mount_setattr, AT_FDCWD, opt.host_dst, AT_RECURSIVE, &attr, sizeof attr) < 0) {
    e = errno;
    umount2(opt.host_dst, MNT_DETACH);
    errno = e;
    die_errno("mount", "make %s nodev%s", opt.host_dst, opt.host_nosuid ? ",nosuid" : "");
  }
  if (mount(NULL, opt.host_dst, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
    die_errno("mount", "make %s private", opt.host_dst);
}

static int do_host_mounts(void) {
  if (opt.host_umount && umount2(opt.host_umount, MNT_DETACH) < 0 && errno != EINVAL)
    die_errno("umount", "umount %s", opt.host_umount);
  if (opt.host_src) host_bind();
  return 0;
}

/* the child's end of the "cgroups joined" pipe, and whether it must then unshare its cgroup ns */
static int cg_ready_fd = -1, cg_unshare;

/* Called by the child before its first cgroup mount (or before pivot_root if there is none). */
static void wait_cgroups(void) {
  char c;
  if (cg_ready_fd < 0) return;
  if (read(cg_ready_fd, &c, 1) != 1) _exit(2); /* the parent failed and reported it */
  close(cg_ready_fd);
  cg_ready_fd = -1;
  /* Only now: a new cgroup namespace is rooted where we are, the container's cgroup. */
  if (cg_unshare && unshare(CLONE_NEWCGROUP) < 0) die_errno("cgroup", "unshare cgroup namespace");
}

static int is_cgroup_mount(const struct op *o) {
  return o->kind == OP_MOUNT && (strcmp(o->a, "cgroup") == 0 || strcmp(o->a, "cgroup2") == 0);
}

/*
 * The keeper gets the console's master and init's seccomp listener from the child (sent just
 * before its execve), and runs on in the host's namespaces once we exit. Returns its pid, or 0
 * when the child failed before it could send them (its error record follows on errp).
 */
static pid_t fork_keeper(int sock, pid_t init) {
  char tag = 0;
  int fds[2] = {-1, -1};
  int n = recv_fds(sock, &tag, fds, 2);
  close(sock);
  if (n < 0) return 0;
  int master = tag == 'M' || tag == 'B' ? fds[0] : -1;
  int listener = tag == 'L' ? fds[0] : tag == 'B' ? fds[1] : -1;
  pid_t k = fork();
  if (k < 0) die_errno("keeper", "fork");
  if (k == 0) {
    opt.keeper.init = init;
    keeper_run(&opt.keeper, master, listener);
  }
  if (master >= 0) close(master);
  if (listener >= 0) close(listener);
  char rec[64];
  int len = snprintf(rec, sizeof rec, "{\"keeper\":%d}\n", (int)k);
  if (status_fd >= 0) write_all(status_fd, rec, (size_t)len);
  return k;
}

/* init's stdin, stdout and stderr: the console pty, or /dev/null (opened before pivot_root, as
 * a root may have none); never anything of berth's (the helper's own are berth's log file) */
static int devnull = -1;
static void init_stdio(void) {
  int fd = console_slave >= 0 ? console_slave : devnull;
  if (fd < 0) die_errno("console", "open /dev/null");
  for (int k = 0; k < 3; k++)
    if (dup2(fd, k) < 0) die_errno("console", "stdio");
}

/* the child's last step before execve: its console master and seccomp listener to the keeper */
static void send_to_keeper(int sock, int listener) {
  int fds[2], n = 0;
  if (console_master >= 0) fds[n++] = console_master;
  if (listener >= 0) fds[n++] = listener;
  char tag = console_master >= 0 && listener >= 0 ? 'B' : console_master >= 0 ? 'M' : listener >= 0 ? 'L' : 'N';
  int e = send_fds(sock, tag, fds, n);
  if (e) {
    errno = e;
    die_errno("keeper", "hand the console to the keeper");
  }
  close(sock);
  if (listener >= 0) close(listener);
}

/*
 * A step of ours failed while the child builds the container. If the child had failed first (a
 * root that does not exist, say), its record is the report; else ours is ("cgroup" names the
 * cgroup.procs file it could not join). Either way the child is gone.
 */
static void __attribute__((noreturn)) parent_failed(pid_t pid, int errfd, const char *step, const char *what) {
  int saved = errno;
  kill(pid, SIGKILL);
  int reported = relay_child_error(errfd);
  wait_status(pid);
  if (reported) _exit(2);
  errno = saved;
  die_errno(step, "%s", what);
}

static void unstage_binds(void) {
  for (int k = 0; k < opt.n_ops; k++)
    if (opt.ops[k].kind == OP_BINDMAP) umount2(opt.ops[k].d, MNT_DETACH);
  if (opt.rootfs_stage) umount2(opt.rootfs_stage, MNT_DETACH);
}

/* An idmapped copy of TREE with FLAGS, attached at STAGE (made here); NULL, or the failed step. */
static const char *stage_tree(const char *tree, const char *stage, int userns, unsigned long flags) {
  int t = idmap_tree(tree, userns, flags);
  struct stat st;
  const char *step = t < 0 ? "idmapped copy of" : fstat(t, &st) < 0 ? "fstat" : NULL;
  /* a file (CRI's and Docker's /etc/hosts, resolv.conf) moves only onto a file */
  if (!step && S_ISDIR(st.st_mode) && mkdir(stage, 0700) < 0 && errno != EEXIST) step = "mkdir";
  if (!step && !S_ISDIR(st.st_mode)) {
    int f = open(stage, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) step = "create";
    else close(f);
  }
  if (!step && syscall(SYS_move_mount, t, "", AT_FDCWD, stage, MOVE_MOUNT_F_EMPTY_PATH) < 0) step = "stage";
  if (t >= 0) {
    int e = errno;
    close(t);
    errno = e;
  }
  return step;
}

/* An unprivileged container's bind mounts (BINDMOUNT): idmapped copies of the host trees, so
 * on-disk ids show inside as they are (host root's files are the container root's). Only host
 * root may idmap, so they are made here, with their flags, and attached at their STAGE paths in
 * our (the host's) mount namespace just for the clone: the child's copy of a mount made by a
 * more privileged namespace has its flags locked (a read-only bind stays read-only inside). */
static void stage_binds(void) {
  int userns = -1, e;
  if (!opt.rootfs_stage) {
    int any = 0;
    for (int k = 0; k < opt.n_ops; k++) any |= opt.ops[k].kind == OP_BINDMAP;
    if (!any) return;
  }
  if ((e = idmap_userns(opt.idmap_base, opt.idmap_count, &userns))) {
    errno = e;
    die_errno("bind", "user namespace for idmapped binds");
  }
  /* berth-oci's root: the container's root owns host root's files. An overlay (an image's:
   * overlayfs itself cannot be idmapped) is made anew over idmapped copies of its layers. */
  const char *step = NULL;
  if (opt.rootfs_overlay) {
    if (mkdir(opt.rootfs_stage, 0700) < 0 && errno != EEXIST) step = "mkdir";
    else if ((e = idmap_overlay(opt.rootfs_overlay, opt.rootfs_stage, opt.idmap_base, userns, 0))) {
      errno = e;
      step = "overlay over idmapped layers of";
    }
  } else if (opt.rootfs_stage) {
    step = stage_tree(opt.rootfs, opt.rootfs_stage, userns, 0);
  }
  if (step) {
    const char *stage = opt.rootfs_stage;
    e = errno;
    opt.rootfs_stage = NULL; /* nothing of it to detach */
    errno = e;
    die_errno("rootfs", "%s %s (%s)", step, opt.rootfs, stage);
  }
  for (int k = 0; k < opt.n_ops; k++) {
    struct op *o = &opt.ops[k];
    if (o->kind != OP_BINDMAP) continue;
    char data[256];
    unsigned long f = parse_mount_opts(o->c, data, sizeof data);
    if (o->stage == STAGE_NEW_MOUNT) { /* a new FSTYPE of the namespaces we joined (a pod's mqueue) */
      step = mkdir(o->d, 0700) < 0 && errno != EEXIST ? "mkdir" : mount(o->a, o->d, o->a, f, data) < 0 ? "mount" : NULL;
      if (step) {
        e = errno;
        o->kind = OP_BIND; /* not staged: nothing to detach */
        unstage_binds();
        errno = e;
        die_errno("mount", "%s %s (%s)", step, o->a, o->d);
      }
      continue;
    }
    step = stage_tree(o->a, o->d, userns, f);
    /* a filesystem without idmapped mounts (EINVAL): a loose one is bound as it is */
    if (step && o->stage == STAGE_IDMAP_OR_BIND && errno == EINVAL && strcmp(step, "idmapped copy of") == 0) {
      o->kind = OP_BIND;
      continue;
    }
    if (step) {
      e = errno;
      o->kind = OP_BIND; /* not staged: nothing to detach */
      unstage_binds();   /* the ones staged before: nothing is left mounted on the host */
      errno = e;
      die_errno("bind", "%s %s (%s)", step, o->a, o->d);
    }
  }
  close(userns);
}

/* --user: the process's own ids, set by drop_privileges once the seccomp filter is loaded */
static void set_user(void) {
  if (setgroups((size_t)opt.n_user_groups, opt.user_groups) < 0) die_errno("user", "setgroups");
  if (setresgid(opt.user_gid, opt.user_gid, opt.user_gid) < 0) die_errno("user", "setresgid %u", opt.user_gid);
  if (setresuid(opt.user_uid, opt.user_uid, opt.user_uid) < 0) die_errno("user", "setresuid %u", opt.user_uid);
}

/* CMD as a path inside the new root: as given when it holds a '/', else the first executable
 * file of that name in the PATH of --env (the shell's default without one), as execvp would,
 * but with the container's PATH rather than ours. */
static void find_command(const char *cmd, char out[PATH_MAX]) {
  if (strchr(cmd, '/')) {
    snprintf(out, PATH_MAX, "%s", cmd);
    return;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int k = 0; k < opt.n_env; k++)
    if (strncmp(opt.env[k], "PATH=", 5) == 0) path = opt.env[k] + 5;
  int err = ENOENT;
  for (const char *p = path; *p;) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    struct stat st;
    size_t clen = strlen(cmd);
    if (len && len + clen + 2 <= PATH_MAX) {
      memcpy(out, p, len);
      out[len] = '/';
      memcpy(out + len + 1, cmd, clen + 1);
      if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
        if (access(out, X_OK) == 0) return;
        err = EACCES;
      }
    }
    p = end ? end + 1 : p + len;
  }
  errno = err;
  die_errno("execve", "%s: executable file not found in $PATH", cmd);
}

/* OCI process.oomScoreAdj: our own value (inherited from the caller, a shim's -998) must not
 * pass to the container, whose processes the OOM killer would then spare before the host's.
 * Written by the parent, as the host's root, before the child goes on: the child's /proc files
 * are not its own in a user namespace (it is not dumpable, so they are the host root's). */
static int write_oom_score_adj(pid_t pid, const char *v) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int e = fd < 0 || write(fd, v, strlen(v)) < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  return e;
}

/* The working directory, resolved inside the root (root_fd) with no magic link followed: a
 * path through /proc/self/fd/N must never make a host directory our cwd, which survives the
 * execve (runc's CVE-2024-21626) */
static void chdir_in_root(const char *dir) {
  int fd = open_in_root(dir, O_PATH | O_DIRECTORY);
  if (fd < 0 || fchdir(fd) < 0) die_errno("chdir", "chdir %s", dir);
  close(fd);
}

/* --setns: namespaces that exist already (a pod's network, ipc, uts), joined by the helper
 * before the clone, so the child is born in them; the others are made by the clone. Only
 * these types: a user or mount namespace joined by path would change who builds the root. */
static void join_given_namespaces(void) {
  for (int k = 0; k < opt.n_setns; k++) {
    const char *t = opt.setns_ops[k].type;
    int flag = strcmp(t, "net") == 0      ? CLONE_NEWNET
               : strcmp(t, "ipc") == 0    ? CLONE_NEWIPC
               : strcmp(t, "uts") == 0    ? CLONE_NEWUTS
               : strcmp(t, "pid") == 0    ? CLONE_NEWPID
               : strcmp(t, "cgroup") == 0 ? CLONE_NEWCGROUP
                                          : 0;
    if (!flag) die_usage("--setns: cannot join a %s namespace by path", t);
    /* a path from a config: opened without blocking (a FIFO) or side effects (a device), and
     * used only if it is a namespace */
    int fd = open(opt.setns_ops[k].path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) die_errno("setns", "open %s", opt.setns_ops[k].path);
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC) {
      errno = EINVAL;
      die_errno("setns", "%s is not a namespace", opt.setns_ops[k].path);
    }
    if (setns(fd, flag) < 0) die_errno("setns", "join the %s namespace %s", t, opt.setns_ops[k].path);
    close(fd);
  }
}

/* --sysctl-joined: a sysctl of a namespace joined by path (a pod's network), written before the
 * clone by us, the host's root, from inside it: the container's root may not (the namespace is
 * the host user namespace's). /proc/sys/net shows the writer's network namespace, kernel.shm*
 * its ipc one: berth-oci names the namespace each key is of (core/oci-sysctl.ts), and one we
 * did not join would be the host's: refused. */
static void write_joined_sysctls(void) {
  for (int k = 0; k < opt.n_sysctls; k++) {
    const char *ns = opt.sysctls[k].ns, *key = opt.sysctls[k].key, *v = opt.sysctls[k].value;
    int joined = 0;
    for (int j = 0; j < opt.n_setns; j++) joined |= strcmp(opt.setns_ops[j].type, ns) == 0;
    if (!joined || strstr(key, "..")) die_usage("--sysctl-joined %s %s: not a namespace --setns joined", ns, key);
    char path[512];
    snprintf(path, sizeof path, "/proc/sys/%s", key);
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || write_all(fd, v, strlen(v)) < 0) die_errno("sysctl", "write %s", path);
    close(fd);
  }
}

/* --console-socket: the caller's unix socket, reached from the host before the clone */
static int connect_console_socket(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    die_errno("console", "console socket %s", path);
  }
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die_errno("console", "connect to %s", path);
  return fd;
}

/* The console (--console DEST) is the process's controlling terminal and stdio; its master goes
 * to the caller over the console socket, as runc sends it: one fd, with a name as the payload. */
static void send_console(int sock, int master);

static void hand_over_console(int sock) {
  if (console_slave < 0 || console_master < 0) die_usage("--console-socket needs --console");
  if (ioctl(console_slave, TIOCSCTTY, 0) < 0) die_errno("console", "make the console the controlling tty");
  send_console(sock, console_master);
  console_master = -1;
}

/* MASTER to the caller's console socket (closed, with MASTER, once sent) */
static void send_console(int sock, int master) {
  char name[] = "/dev/ptmx";
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {name, sizeof name - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) die_errno("console", "send the console to the console socket");
  close(sock);
  close(master);
}

/* --exec-fifo: the FIFO that `start` opens (OCI's create/start split, as runc's exec.fifo), made
 * here on the host, owned by the container's root (it opens it from inside its user namespace). */
static int make_exec_fifo(void) {
  if (mkfifo(opt.exec_fifo, 0600) < 0) die_errno("exec-fifo", "mkfifo %s", opt.exec_fifo);
  if (opt.idmap && chown(opt.exec_fifo, opt.idmap_base, opt.idmap_base) < 0)
    die_errno("exec-fifo", "chown %s", opt.exec_fifo);
  /* opened here, for the child: in a user namespace it may not search the caller's state
   * directory (containerd's /run/containerd is 0600: only the host's capabilities pass) */
  int fd = open(opt.exec_fifo, O_PATH | O_CLOEXEC);
  if (fd < 0) die_errno("exec-fifo", "open %s", opt.exec_fifo);
  return fd;
}

/* The container is built: the parent is told so (our end of the error pipe closes: it exits 0
 * with the pid), and we wait until `start` opens the FIFO, then go on to the execve. A failure
 * from here on has no parent to report to: it goes to stderr (the container's) and the status
 * file. The FIFO is reopened through /proc (the container's own, mounted by now). */
static void wait_exec_fifo(int fifo_fd) {
  close(err_fd);
  err_fd = -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fifo_fd);
  int w = open(path, O_WRONLY | O_CLOEXEC);
  if (w < 0) die_errno("exec-fifo", "open the exec FIFO (is /proc mounted?)");
  if (write(w, "0", 1) != 1) die_errno("exec-fifo", "write the exec FIFO");
  /* w stays open until the execve closes it (or we die): `start` reads to that end of file,
   * so it returns once the command runs, and sees a process that failed before */
  close(fifo_fd);
}

static pid_t init_pid; /* start mode: the container's init, once cloned */
static pid_t caller;   /* our parent when we began (berth-oci's create: PDEATHSIG's check) */

static int do_start(void) {
  int go[2], errp[2], ready[2], ksock[2] = {-1, -1}, cg[MAX_LIST];
  /* the runtime's hooks: the child says its mounts are made (hk_up), then waits until they ran (hk_down) */
  int runtime_hooks = hooks_of(HOOK_PRESTART) + hooks_of(HOOK_CREATE_RUNTIME), hk_up[2] = {-1, -1}, hk_down[2] = {-1, -1};
  if (opt.host_src) host_bind();
  /* berth-oci create: killed, its caller runs delete --force at once, which must not race a
   * helper still staging mounts and cloning: we go with it (not run's waiter, which must
   * outlive the helper it forked from; the init, a clone, never inherits it) */
  if (opt.exec_fifo && !opt.exit_file && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != caller)) _exit(2);
  open_cgroups(cg);
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
    die_errno("pipe", "pipe");
  if (opt.keep && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ksock) < 0) die_errno("keeper", "socketpair");
  if (runtime_hooks && (pipe2(hk_up, O_CLOEXEC) < 0 || pipe2(hk_down, O_CLOEXEC) < 0)) die_errno("pipe", "pipe");
  if (opt.n_setns) hook_keep_namespaces(); /* the runtime's hooks run in ours, not in those joined now */
  join_given_namespaces();
  write_joined_sysctls();
  int fifo_fd = opt.exec_fifo ? make_exec_fifo() : -1;
  int console_sock = opt.console_socket ? connect_console_socket(opt.console_socket) : -1;
  stage_binds();
  int flags = opt.unshare ? ns_flags(opt.unshare) : 0;
  /* The cgroup namespace is unshared by the child once it is in the container's cgroups: the
   * first cgroup v1 migration after an idle spell waits for an RCU grace period (15-25 ms on
   * some hosts), and this way the child builds its mounts meanwhile. */
  cg_unshare = (flags & CLONE_NEWCGROUP) != 0;
  flags &= ~CLONE_NEWCGROUP;
  /* A time namespace cannot be asked of clone() (0x80 is in its exit-signal byte), only of
   * clone3. There, with a new user namespace, it is owned by that namespace (the kernel makes
   * the user namespace first), as CRIU demands of every namespace it dumps, and the child is
   * in it from its first instruction (offsets 0: the host's clocks until a restore moves them).
   * unshare() before the clone would give a namespace the host's user namespace owns. */
  struct clone_args ca = {.flags = (uint64_t)flags, .exit_signal = SIGCHLD};
  /* raw clone with a NULL stack behaves like fork(), so no separate stack is needed */
  pid_t pid = (flags & CLONE_NEWTIME) ? (pid_t)syscall(SYS_clone3, &ca, sizeof ca)
                                      : (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) {
    int e = errno;
    unstage_binds();
    errno = e;
    die_errno("clone", "clone");
  }
  if (pid > 0) {
    unstage_binds(); /* the child's namespace holds its own, locked, copies */
    if (console_sock >= 0) close(console_sock);
    if (fifo_fd >= 0) close(fifo_fd);
    /* a child that failed early has closed its pipes: our writes then fail with EPIPE (and the
     * child's own record says why), rather than kill us with SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
    close(go[0]);
    close(errp[1]);
    close(ready[0]);
    status_pid(pid);
    init_pid = pid;
    /* a user namespace's id maps, before the child is released */
    int e = (flags & CLONE_NEWUSER) ? idmap_write(pid, opt.idmap_base, opt.idmap_count) : 0;
    if (e) {
      errno = e;
      parent_failed(pid, errp[0], "idmap", "write the id maps of the child");
    }
    if (opt.oom_score_adj && (e = write_oom_score_adj(pid, opt.oom_score_adj))) {
      errno = e;
      parent_failed(pid, errp[0], "oom_score_adj", opt.oom_score_adj);
    }
    if (write(go[1], "g", 1) != 1) parent_failed(pid, errp[0], "sync", "release the child");
    close(go[1]);
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    for (int k = 0; k < opt.n_cgroups; k++)
      if (write(cg[k], buf, (size_t)n) != n) parent_failed(pid, errp[0], "cgroup", opt.cgroups[k]);
    /* the host end of the network before the child configures its end (it waits for "c") */
    const struct net_op *bad = run_net("host", pid);
    if (bad) {
      int saved = errno;
      kill(pid, SIGKILL);
      if (relay_child_error(errp[0])) {
        wait_status(pid);
        _exit(2);
      }
      errno = saved;
      die_net(bad);
    }
    if (write(ready[1], "c", 1) != 1) parent_failed(pid, errp[0], "sync", "release the child");
    close(ready[1]);
    if (runtime_hooks) {
      char h;
      close(hk_up[1]);
      close(hk_down[0]);
      /* no byte: the child failed before its mounts were made, and its record says why */
      if (read(hk_up[0], &h, 1) != 1) parent_failed(pid, errp[0], "sync", "wait for the container's mounts");
      const char *why = run_hooks(HOOK_PRESTART, "creating", pid);
      if (!why) why = run_hooks(HOOK_CREATE_RUNTIME, "creating", pid);
      if (why) {
        kill(pid, SIGKILL);
        wait_status(pid);
        die_msg("hook", "%s", why);
      }
      if (write(hk_down[1], "H", 1) != 1) parent_failed(pid, errp[0], "sync", "release the child");
      close(hk_up[0]);
      close(hk_down[1]);
    }
    if (opt.keep) {
      close(ksock[1]);
      fork_keeper(ksock[0], pid);
    }
    if (relay_child_error(errp[0])) {
      wait_status(pid);
      return 2;
    }
    return 0; /* init runs; it is re-parented when we exit */
  }
  char c;
  err_fd = errp[1];
  cg_ready_fd = ready[0];
  close(go[1]);
  close(errp[0]);
  close(ready[1]);
  if (ksock[0] >= 0) close(ksock[0]);
  if (runtime_hooks) {
    close(hk_up[0]);
    close(hk_down[1]);
  }
  hook_forget_namespaces();
  if (read(go[0], &c, 1) != 1) _exit(2); /* parent died before releasing us */
  close(go[0]);
  /* our pid as the host sees it, for the container's hooks' state: its /proc is still ours to read */
  char self[32] = "";
  pid_t host_pid = hooks_of(HOOK_CREATE_CONTAINER) + hooks_of(HOOK_START_CONTAINER) &&
                           readlink("/proc/self", self, sizeof self - 1) > 0
                       ? (pid_t)atoi(self)
                       : 0;
  if (setsid() < 0) die_errno("setsid", "setsid");
  devnull = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
  /* Mount events must not travel back to the host: make every mount in our new namespace a
   * slave (or private) before changing anything. Never skipped: with shared propagation the
   * detach of the old root below would unmount the host's own mounts (ip netns, for one). */
  {
    const char *prop = opt.propagation ? opt.propagation : "rslave";
    unsigned long p = strcmp(prop, "rprivate") == 0 ? MS_PRIVATE : MS_SLAVE;
    if (mount(NULL, "/", NULL, MS_REC | p, NULL) < 0) die_errno("mount", "make / %s", prop);
  }
  /* the idmapped copy staged before the clone: our namespace's copy of it is the root */
  if (opt.rootfs_stage) opt.rootfs = opt.rootfs_stage;
  /* pivot_root needs the new root to be a mount point: bind it onto itself. */
  if (mount(opt.rootfs, opt.rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_errno("mount", "bind %s", opt.rootfs);
  root_fd = open(opt.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die_errno("rootfs", "open %s", opt.rootfs);
  if (flags & CLONE_NEWUSER) {
    /* Host paths (the root, bind sources such as the console log) are opened while we still
     * have the host's uid 0: the container's root may not be allowed to walk to them. */
    for (int k = 0; k < opt.n_ops; k++) {
      if (opt.ops[k].kind != OP_BIND && opt.ops[k].kind != OP_BINDMAP) continue;
      const char *src = opt.ops[k].kind == OP_BINDMAP ? opt.ops[k].d : opt.ops[k].a;
      opt.ops[k].src = open(src, O_PATH | O_CLOEXEC);
      if (opt.ops[k].src < 0) die_errno("bind", "open %s", src);
    }
    become_root();
  }
  for (int k = 0; k < opt.n_ops; k++) {
    if (is_cgroup_mount(&opt.ops[k])) wait_cgroups();
    run_op(&opt.ops[k]);
  }
  wait_cgroups();
  if (opt.n_net) {
    net_reset();
    const struct net_op *bad = run_net("ct", 0);
    if (bad) die_net(bad);
  }
  /* the hooks that need the container's mounts and the host's paths: the runtime's (our parent
   * runs them), then the container's, here */
  if (runtime_hooks) {
    if (write(hk_up[1], "h", 1) != 1 || read(hk_down[0], &c, 1) != 1) _exit(2); /* the parent reported it */
    close(hk_up[1]);
    close(hk_down[0]);
  }
  const char *why = run_hooks(HOOK_CREATE_CONTAINER, "creating", host_pid);
  if (why) die_msg("hook", "%s", why);
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the
   * container's tree, with no path back to the host's. */
  if (fchdir(root_fd) < 0) die_errno("pivot_root", "chdir %s", opt.rootfs);
  if (syscall(SYS_pivot_root, ".", ".") < 0) die_errno("pivot_root", "pivot_root %s", opt.rootfs);
  if (umount2(".", MNT_DETACH) < 0) die_errno("pivot_root", "detach old root");
  if (chdir("/") < 0) die_errno("pivot_root", "chdir /");
  if (opt.hostname && sethostname(opt.hostname, strlen(opt.hostname)) < 0)
    die_errno("hostname", "sethostname %s", opt.hostname);
  if (opt.cwd) chdir_in_root(opt.cwd);
  if (!opt.inherit_stdio) init_stdio();
  if (console_sock >= 0) hand_over_console(console_sock);
  opt.env[opt.n_env] = NULL;
  /* found before the wait: a command that is not there fails the create, not the start */
  char exe[PATH_MAX];
  find_command(opt.argv[0], exe);
  if (fifo_fd >= 0) wait_exec_fifo(fifo_fd);
  /* started: the container's hooks, its paths, before the command (a failure ends it here) */
  if ((why = run_hooks(HOOK_START_CONTAINER, "created", host_pid))) die_msg("hook", "%s", why);
  /* while we may still raise a hard limit (CAP_SYS_RESOURCE in our namespace) */
  for (int k = 0; k < opt.n_rlimits; k++)
    if (setrlimit(opt.rlimits[k].resource, &opt.rlimits[k].lim) < 0) die_errno("rlimit", "setrlimit %d", opt.rlimits[k].resource);
  int listener = drop_privileges(opt.caps_keep, opt.no_new_privs, opt.seccomp_fd, opt.keep, opt.user_set ? set_user : NULL);
  if (opt.keep) send_to_keeper(ksock[1], listener);
  if (opt.n_env || opt.clear_env) execve(exe, opt.argv, opt.env);
  else execv(exe, opt.argv);
  die_errno("execve", "exec %s", opt.argv[0]);
}

/* ---- join mode (exec, enter) ---------------------------------------------------------------- */

/* The keeper's socket is a host path, so it is reached before setns(mnt) hides the host. A keeper
 * that is gone costs only the container's view of sysinfo: the call then stays the kernel's. */
static int connect_keeper(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int s = -1;
  if (strlen(path) < sizeof sa.sun_path) {
    strcpy(sa.sun_path, path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) return s;
  } else {
    errno = ENAMETOOLONG;
  }
  warn_record("keeper", errno, "connect %s", path);
  if (s >= 0) close(s);
  return -1;
}

/*
 * A privileged container's root is the host's root: while our child is in its pid namespace and
 * before it execs, /proc/PID/exe would let that root open our binary and, once we exit, write it
 * (runc's CVE-2019-5736). Running from a sealed copy in memory leaves nothing on the host to
 * write. Done before anything else, since it starts us again.
 */
static void run_from_sealed_copy(char **argv) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) die_errno("execve", "open /proc/self/exe");
  int seals = fcntl(self, F_GET_SEALS);
  if (seals >= 0 && (seals & (F_SEAL_SEAL | F_SEAL_WRITE)) == (F_SEAL_SEAL | F_SEAL_WRITE)) {
    close(self); /* we are the copy */
    return;
  }
  int copy = memfd_create("berth-nsexec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  struct stat st;
  if (copy < 0 || fstat(self, &st) < 0) die_errno("execve", "copy the helper");
  for (off_t off = 0; off < st.st_size;)
    if (sendfile(copy, self, &off, (size_t)(st.st_size - off)) <= 0) die_errno("execve", "copy the helper");
  if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    die_errno("execve", "seal the helper's copy");
  close(self);
  syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
  die_errno("execve", "run the helper's copy");
}

/*
 * --exit-file (berth-oci run): only a parent can learn how a process ended, so a waiter of ours
 * stays the init's parent. We fork it first; it builds the container as do_start does and tells
 * us the outcome, then leaves the caller's stdio, session and status fd, waits for the init and
 * writes its status (an exit code, or 128 + the signal) to PATH, by a rename. We exit with the
 * outcome, as without it.
 */
static int do_start_waited(void) {
  int rep[2];
  if (pipe2(rep, O_CLOEXEC) < 0) die_errno("pipe", "pipe");
  pid_t w = fork();
  if (w < 0) die_errno("fork", "fork");
  if (w > 0) {
    close(rep[1]);
    unsigned char code = 2;
    if (read(rep[0], &code, 1) != 1) wait_status(w); /* it failed and said why (status fd) */
    return code;
  }
  close(rep[0]);
  unsigned char rc = (unsigned char)do_start();
  if (write(rep[1], &rc, 1) != 1 || rc != 0) _exit(rc ? rc : 2);
  close(rep[1]);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int k = 0; k < 3; k++) dup2(null, k);
  if (status_fd >= 0) close(status_fd);
  status_fd = -1;
  setsid(); /* the caller's ^C is for the container (run relays it), not for us */
  char buf[16], tmp[PATH_MAX];
  int n = snprintf(buf, sizeof buf, "%d\n", wait_status(init_pid));
  snprintf(tmp, sizeof tmp, "%s.tmp", opt.exit_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0 && write(fd, buf, (size_t)n) == n && close(fd) == 0) rename(tmp, opt.exit_file);
  _exit(0);
}

/* ---- enter sessions a checkpoint may carry ---------------------------------------------------- */

static pid_t session_shell;
static void pass_on(int sig) {
  if (kill(-session_shell, sig) < 0) kill(session_shell, sig);
}

/* The shell's parent in the container: holds no fd at all, passes on the signals the helper
 * forwards, and exits with the shell's status. */
static void __attribute__((noreturn)) session_parent(pid_t shell) {
  session_shell = shell;
  close_range_compat(0, ~0U, 0);
  prctl(PR_SET_NAME, "berth-session", 0, 0, 0);
  struct sigaction sa = {.sa_handler = pass_on};
  int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
  for (int k = 0; k < 4; k++) sigaction(sigs[k], &sa, NULL);
  int st;
  for (;;) {
    pid_t w = waitpid(shell, &st, 0);
    if (w == shell) break;
    if (w < 0 && errno != EINTR) _exit(2);
  }
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* DIR/NAME (atomically): the facts a checkpoint needs of this session, its pty as CRIU keys it */
static void write_session_record(int dir, pid_t child, int master) {
  struct stat st;
  int sl = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  int ok = sl >= 0 && fstat(sl, &st) == 0;
  if (sl >= 0) close(sl);
  if (!ok) return; /* no record: a checkpoint refuses this session, as any other */
  char rec[192], tmp[80];
  int n = snprintf(rec, sizeof rec, "{\"helper\":%d,\"child\":%d,\"rdev\":%llu,\"dev\":%llu}\n", (int)getpid(),
                   (int)child, (unsigned long long)st.st_rdev, (unsigned long long)st.st_dev);
  snprintf(tmp, sizeof tmp, ".%s.tmp", opt.session_name);
  unlinkat(dir, tmp, 0);
  int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int w = write_all(fd, rec, (size_t)n);
  if (close(fd) == 0 && w == 0) renameat(dir, tmp, dir, opt.session_name);
  else unlinkat(dir, tmp, 0);
}

static int do_join(void) {
  int nsfd[N_NS], cg[MAX_LIST], errp[2], master = -1, keeper = -1;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  char path[64];
  int want = opt.unshare ? ns_flags(opt.unshare) : 0;
  /* open every namespace and cgroup file first: after setns(mnt) these host paths are gone */
  for (int k = 0; k < N_NS; k++) {
    nsfd[k] = -1;
    if (!(want & ns_clone_flags[k])) continue;
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)opt.join, ns_names[k]);
    nsfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[k] < 0) die_errno("setns", "open %s", path);
  }
  open_cgroups(cg);
  if (opt.keeper_sock && opt.argv[0]) keeper = connect_keeper(opt.keeper_sock);
  /* berth-oci exec --tty: a host path, reached before setns(mnt) */
  int console_sock = opt.console_socket && opt.argv[0] ? connect_console_socket(opt.console_socket) : -1;
  /* an enter session a checkpoint may carry: its record's directory is a host path too */
  int session = opt.session_dir && opt.pty && opt.argv[0] && !opt.detach && console_sock < 0, sdir = -1;
  if (session && (sdir = open(opt.session_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    die_errno("session", "open %s", opt.session_dir);
  /* the user namespace last: joined while we are still the host's root, a namespace the
   * container's user namespace does not own (a pod's ipc and uts, berth-oci's) is joined too */
  for (int i = 1; i <= N_NS; i++) {
    int k = i % N_NS;
    if (nsfd[k] >= 0 && setns(nsfd[k], ns_clone_flags[k]) < 0)
      die_errno("setns", "join %s namespace of %d", ns_names[k], (int)opt.join);
  }
  if (want & CLONE_NEWUSER) become_root();
  /* live edits run in the container's namespaces: without berth's terminal, so that nothing
   * the container planted (a bind of /dev/tty on /etc/hosts) can reach the admin's */
  if (!opt.argv[0] && setsid() < 0) die_errno("setsid", "setsid");
  if (!opt.argv[0] && opt.n_net) return do_net_live();
  if (!opt.argv[0] && opt.n_ops) { /* live file edits: setns(mnt) made "/" the container's root */
    root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) die_errno("write", "open the container root");
    for (int k = 0; k < opt.n_ops; k++) run_op(&opt.ops[k]);
    return 0;
  }
  if (!opt.argv[0]) { /* live hostname change: the uts namespace applies to us at once */
    if (sethostname(opt.hostname, strlen(opt.hostname)) < 0)
      die_errno("hostname", "sethostname %s", opt.hostname);
    return 0;
  }
  if (opt.detach && console_sock < 0) {
    /* the command keeps our fds 0-2 (the caller's pipes) and outlives us */
  } else if (opt.pty || console_sock >= 0) {
    /* the container's own /dev/ptmx, so the command's tty lives in the container's devpts */
    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die_errno("pty", "open /dev/ptmx");
  } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    die_errno("pipe", "pipe");
  }
  if (pipe2(errp, O_CLOEXEC) < 0) die_errno("pipe", "pipe");
  pid_t pid = fork(); /* setns(pid) applies to children only */
  if (pid < 0) die_errno("fork", "fork");
  if (pid > 0) {
    close(errp[1]);
    if (keeper >= 0) close(keeper);
    int theirs[] = {in[0], out[1], err[1]};
    for (int k = 0; k < 3; k++)
      if (theirs[k] >= 0) close(theirs[k]);
    for (int k = 0; k < 3; k++) { /* ours: never block the relay on a command that stalls */
      int fd = k == 0 ? in[1] : k == 1 ? out[0] : err[0];
      if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    status_pid(pid);
    if (relay_child_error(errp[0])) {
      wait_status(pid);
      return 2;
    }
    /* its terminal's master goes to the caller, who relays it (the shim) */
    if (console_sock >= 0) send_console(console_sock, master);
    if (opt.detach) return 0; /* it runs; its exit is for whoever reaps it (a subreaper) */
    if (console_sock >= 0) return wait_status(pid);
    if (session) {
      relay_allow_detach(); /* before the record: whoever reads it may signal us at once */
      write_session_record(sdir, pid, master);
    }
    int detached = relay(pid, master, in[1], out[0], err[0]);
    if (session) unlinkat(sdir, opt.session_name, 0);
    return detached ? 0 : wait_status(pid);
  }
  err_fd = errp[1];
  close(errp[0]);
  /* a session of its own, so the caller's terminal is never its controlling tty */
  if (setsid() < 0) die_errno("setsid", "setsid");
  join_cgroups(cg, opt.n_cgroups);
  /* setns(mnt) made "/" the container's root: the cwd is resolved in it, no magic link followed */
  root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die_errno("chdir", "open the container root");
  chdir_in_root(opt.cwd ? opt.cwd : "/");
  if (session) {
    /* we stay the shell's parent until a checkpoint has us killed (SIGUSR1 to the helper): then
     * the shell is init's child, in the tree CRIU dumps; till then its status comes through us */
    pid_t shell = fork();
    if (shell < 0) die_errno("fork", "fork");
    if (shell > 0) session_parent(shell);
    if (setsid() < 0) die_errno("setsid", "setsid"); /* the shell leads a session of its own */
  }
  int s = master >= 0 ? ioctl(master, TIOCGPTPEER, O_RDWR) : -1;
  if (master >= 0 && (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)) die_errno("pty", "open the pty's slave");
  int fds[3] = {master >= 0 ? s : in[0], master >= 0 ? s : out[1], master >= 0 ? s : err[1]};
  for (int k = 0; k < 3 && (!opt.detach || master >= 0); k++)
    if (dup2(fds[k], k) < 0) die_errno("pipe", "stdio");
  int listener = drop_privileges(opt.caps_keep, opt.no_new_privs, opt.seccomp_fd, keeper >= 0, opt.user_set ? set_user : NULL);
  int e = listener >= 0 ? send_fds(keeper, 'L', &listener, 1) : 0;
  if (e) warn_record("keeper", e, "hand over the seccomp listener");
  opt.env[opt.n_env] = NULL;
  environ = opt.env;
  execvp(opt.argv[0], opt.argv);
  die_errno("execve", "exec %s", opt.argv[0]);
}

/* ---- lock mode ------------------------------------------------------------------------------ */

/*
 * Node has no flock(). A forked holder takes the lock for berth and keeps it until berth (the
 * --watch-pid process) exits, however it exits: a pidfd becomes readable then. The foreground
 * process returns at once, so berth can spawn us synchronously; it releases the lock early by
 * killing the holder (its pid is in the record).
 */
static int do_lock(void) {
  int out = status_fd >= 0 ? status_fd : 1;
  /* the foreground returns only once the holder has written its record (or died): berth may
   * read the status fd as a file at our exit, not as a pipe that waits for every writer */
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) die_errno("lock", "pipe");
  pid_t pid = fork();
  if (pid < 0) die_errno("lock", "fork");
  if (pid > 0) {
    char c;
    close(ready[1]);
    while (read(ready[0], &c, 1) < 0 && errno == EINTR) {
    }
    return 0;
  }
  close(ready[0]);
  err_fd = -1;
  int fd = open(opt.lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) die_errno("lock", "open %s", opt.lock);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) die_errno("lock", "lock %s", opt.lock);
  int pidfd = opt.watch_pid ? (int)syscall(SYS_pidfd_open, opt.watch_pid, 0) : -1;
  if (opt.watch_pid && pidfd < 0) die_errno("lock", "watch pid %d", (int)opt.watch_pid);
  char rec[64];
  int n = snprintf(rec, sizeof rec, "{\"locked\":true,\"pid\":%d}\n", (int)getpid());
  write_all(out, rec, (size_t)n);
  close(ready[1]);
  /* let go of every inherited descriptor but the lock, so berth's pipes can close */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int k = 0; k < 3; k++) dup2(devnull, k);
  if (out > 2) close(out);
  setsid();
  struct pollfd p = {pidfd, POLLIN, 0};
  while (pidfd >= 0 && poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  if (pidfd < 0) pause();
  _exit(0);
}

int main(int argc, char **argv) {
  caller = getppid();
  parse_args(argc, argv);
  if (opt.join && opt.argv[0] && !(ns_flags(opt.unshare ? opt.unshare : "") & CLONE_NEWUSER))
    run_from_sealed_copy(argv);
  /* Nothing we inherited may reach a container: every fd berth's caller left open (a shell's
   * `exec 200</`, say) is closed at our execve; the ones we use are passed on purpose. */
  close_range_compat(3, ~0U, CLOSE_RANGE_CLOEXEC);
  /* Until we exec, nothing in a container may ptrace us or open our /proc files (our fds). */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  if (opt.seccomp_fd >= 0) fcntl(opt.seccomp_fd, F_SETFD, FD_CLOEXEC);
  if (opt.lock) return do_lock();
  if (opt.attach) return console_attach(opt.attach, opt.escape, opt.banner, opt.attach_session);
  if (opt.sync_src) return do_tree_sync(opt.sync_src, opt.sync_dst, opt.since);
  if (opt.run_hooks[0]) return do_run_hooks(opt.run_hooks[0], opt.run_hooks[1], opt.run_hooks[2]);
  if (opt.join) return do_join();
  if (opt.criu.stage) {
    /* the host side of a routed pair first: our own pid as the peer's namespace keeps the
     * container's end here, under the name CRIU's netdev[] moves into the restored namespace */
    const struct net_op *bad = run_net("host", getpid());
    if (bad) die_net(bad);
    return criu_restore(&opt.criu, &opt.keeper, opt.keep);
  }
  if (!opt.argv[0] && opt.n_net && !opt.rootfs) { /* host-side network cleanup, no container */
    const struct net_op *bad = run_net("host", 0);
    if (bad) die_net(bad);
    return 0;
  }
  if (!opt.argv[0]) return do_host_mounts();
  return opt.exit_file ? do_start_waited() : do_start();
}
