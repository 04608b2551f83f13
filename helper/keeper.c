/*
 * The keeper: one small host process per running container (berth's only one), forked by the
 * helper at start. It holds what must outlive the helper and must never be inside the container:
 *
 *   - the master of the container's console pty. Everything the container writes to
 *     /dev/console goes to its log, which is bounded: at half the size given, the log becomes
 *     LOG.1 (replacing the older one) and a new LOG begins, so the oldest output is dropped and
 *     the two never hold more than the size given;
 *   - the seccomp user-notification listeners of init's filter and of each `berth exec`'s, for
 *     sysinfo(2): the kernel's answer is the host's (RAM, swap, uptime, load, process count), so
 *     the keeper answers from the container's cgroups instead (sysinfo.c).
 *
 * It runs as the host's root, in the host's namespaces, with no terminal and no fd but its own.
 * It serves a unix socket (root only) on which join-mode helpers hand it their listeners, and
 * it exits when init does. Nothing it reads comes from the container except console bytes (only
 * copied) and notification records (answered by value, written into the caller's own memory).
 */
#define _GNU_SOURCE
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "fds.h"
#include "sysinfo.h"

#define MAX_LISTENERS 1024

/* ---- the console log ---------------------------------------------------------------------- */

static struct keeper_plan plan;
static int log_fd = -1;
static off_t log_size;

static void open_log(int truncate) {
  if (log_fd >= 0) close(log_fd);
  log_fd = open(plan.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0), 0600);
  struct stat st;
  log_size = log_fd >= 0 && fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* at half the bound: LOG becomes LOG.1 and a new LOG starts, so both never hold more than it */
static void log_write(const char *buf, size_t n) {
  if (log_fd < 0) return;
  if (plan.log_max > 0 && log_size + (off_t)n > plan.log_max / 2) {
    char old[4200];
    snprintf(old, sizeof old, "%s.1", plan.log_path);
    if (rename(plan.log_path, old) == 0) open_log(1);
    /* a write bigger than half the bound keeps only its tail */
    if ((off_t)n > plan.log_max / 2) {
      buf += n - (size_t)(plan.log_max / 2);
      n = (size_t)(plan.log_max / 2);
    }
  }
  while (n > 0) {
    ssize_t w = write(log_fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* a full disk loses console output, never the container */
    buf += w;
    n -= (size_t)w;
    log_size += w;
  }
}

static int drain_console(int master) {
  char buf[16384];
  ssize_t n = read(master, buf, sizeof buf);
  if (n > 0) log_write(buf, (size_t)n);
  return (int)n;
}

/* ---- the socket: join-mode helpers hand over their listeners --------------------------------- */

static int listeners[MAX_LISTENERS], n_listeners;

static void add_listener(int fd) {
  if (n_listeners >= MAX_LISTENERS) {
    close(fd); /* the caller's sysinfo then fails with ENOSYS rather than wait forever */
    return;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  listeners[n_listeners++] = fd;
}

/* connections wait in the poll set for their one message, so a slow sender never stalls us */
#define MAX_CLIENTS 16
static int clients[MAX_CLIENTS], n_clients;

static void accept_client(int sock) {
  int c = accept4(sock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) return;
  struct ucred cred;
  socklen_t len = sizeof cred;
  /* the socket's directory is root's alone; the peer check is a second lock on that door */
  if (n_clients >= MAX_CLIENTS || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
    close(c);
    return;
  }
  clients[n_clients++] = c;
}

/* one message per connection: 'L' with a seccomp listener */
static void serve_client(int c) {
  char tag = 0;
  int fd;
  if (recv_fds(c, &tag, &fd, 1) == 1) {
    if (tag == 'L') add_listener(fd);
    else close(fd);
  }
  close(c);
}

static int listen_on(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -1;
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return -1;
  unlink(path);
  mode_t old = umask(0077);
  int rc = bind(s, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (rc < 0 || listen(s, 16) < 0) {
    close(s);
    return -1;
  }
  return s;
}

/* ---- the loop ------------------------------------------------------------------------------ */

void keeper_run(const struct keeper_plan *p, int master, int listener) {
  plan = *p;
  /* keep only our own fds: everything else berth or its caller had open stays behind */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int k = 0; k < 3; k++)
    if (devnull >= 0) dup2(devnull, k);
  int keep[] = {master, listener, devnull};
  close_all_but(keep, 3);
  setsid();
  prctl(PR_SET_NAME, "berth-keeper", 0, 0, 0); /* what ps and top show */
  /* room for every listener and client we take, so that accept never fails (and spins) */
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 4096) {
    nofile.rlim_cur = nofile.rlim_max < 4096 ? nofile.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  int init = (int)syscall(SYS_pidfd_open, plan.init, 0);
  if (init < 0) _exit(0); /* init is already gone: nothing to keep */
  open_log(0);
  /* a slave of our own: the master never reads as hung up while the container has none open */
  int slave = master >= 0 ? ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
  (void)slave;
  if (listener >= 0) add_listener(listener);
  int sock = plan.sock_path ? listen_on(plan.sock_path) : -1;
  if (plan.si.mem_dir) sysinfo_init(&plan.si, plan.init);
  static struct pollfd pfd[MAX_LISTENERS + MAX_CLIENTS + 3];
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){init, POLLIN, 0};
    pfd[n++] = (struct pollfd){master, POLLIN, 0};
    pfd[n++] = (struct pollfd){sock, POLLIN, 0};
    for (int k = 0; k < n_clients; k++) pfd[n++] = (struct pollfd){clients[k], POLLIN, 0};
    for (int k = 0; k < n_listeners; k++) pfd[n++] = (struct pollfd){listeners[k], POLLIN, 0};
    int r = poll(pfd, (nfds_t)n, sysinfo_timeout());
    if (r < 0 && errno != EINTR) break;
    sysinfo_tick();
    if (r <= 0) continue;
    if (pfd[1].revents & POLLIN) drain_console(master);
    int first_listener = 3 + n_clients, k = 0;
    for (int i = first_listener; i < n; i++) {
      if (pfd[i].revents & POLLIN) sysinfo_answer(pfd[i].fd);
      if (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
        close(pfd[i].fd); /* every task of that filter is gone */
        continue;
      }
      listeners[k++] = pfd[i].fd;
    }
    n_listeners = k;
    /* after the listeners: a client may add one */
    k = 0;
    for (int i = 3; i < first_listener; i++) {
      if (pfd[i].revents) serve_client(pfd[i].fd);
      else clients[k++] = pfd[i].fd;
    }
    n_clients = k;
    if (pfd[2].revents & POLLIN) accept_client(sock);
    if (pfd[0].revents & POLLIN) break; /* init exited */
  }
  /* what init and its last words left in the pty */
  if (master >= 0) {
    fcntl(master, F_SETFL, O_NONBLOCK);
    while (drain_console(master) > 0) {
    }
  }
  if (plan.sock_path) unlink(plan.sock_path);
  _exit(0);
}
