/*
 * The keeper: one small host process per running container (berth's only one), forked by the
 * helper at start. It holds what must outlive the helper and must never be inside the container:
 *
 *   - the master of the container's console pty (and of enter sessions a restore carried over). Everything the container writes to
 *     /dev/console goes to its log, which is bounded: at half the size given, the log becomes
 *     LOG.1 (replacing the older one) and a new LOG begins, so the oldest output is dropped and
 *     the two never hold more than the size given. One admin at a time may attach to it
 *     (`berth console`, console.c): the keeper copies the output to that client too and its
 *     keystrokes into the master, so neither the container nor the keeper gets the admin's
 *     terminal;
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

#include "console.h"
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

/* ---- the ptys and their attached clients (berth console, berth enter --attach) --------------- */

/*
 * Slot 0 is the console. Slots 1.. are enter sessions a restore carried over (criu.c): their
 * shells run in the container, their masters are ours, and an admin attaches to one by number.
 * While nobody is attached a session's output is read all the same (the shell never blocks on
 * it) and its last BACKLOG bytes are kept, which the next attach gets first (as the console's
 * log keeps the console's); when its last slave closes (the shell ended) the slot is freed and
 * its client sees the end.
 */
#define BACKLOG 16384
struct pty_slot {
  int master; /* -1: none */
  int num;    /* 0 the console, else the session's number */
  int attached; /* its client's connection, or -1 */
  /* frames from the client not yet written to the master: one whole frame fits, so it never stalls */
  unsigned char cin[3 + FRAME_MAX];
  size_t cin_len;
  int cin_stalled; /* the master's input queue is full: wait for POLLOUT */
  /* a session's output while detached: a ring, HEAD the next byte's place, LEN bytes held */
  size_t back_head, back_len;
};
static struct pty_slot slots[1 + KEEPER_MAX_SESSIONS];
static int n_slots;
/* the rings, untouched (so never resident) unless a session prints while detached */
static char backlog[1 + KEEPER_MAX_SESSIONS][BACKLOG];

static void backlog_keep(struct pty_slot *t, const char *buf, size_t n) {
  char *ring = backlog[t - slots];
  if (n >= BACKLOG) { /* only the last BACKLOG bytes count */
    memcpy(ring, buf + n - BACKLOG, BACKLOG);
    t->back_head = 0;
    t->back_len = BACKLOG;
    return;
  }
  size_t first = BACKLOG - t->back_head < n ? BACKLOG - t->back_head : n;
  memcpy(ring + t->back_head, buf, first);
  memcpy(ring, buf + first, n - first);
  t->back_head = (t->back_head + n) % BACKLOG;
  t->back_len = t->back_len + n > BACKLOG ? BACKLOG : t->back_len + n;
}

/* the kept output to the client just attached (its send buffer, 1 MiB, takes it whole) */
static void backlog_replay(struct pty_slot *t) {
  char *ring = backlog[t - slots];
  size_t start = (t->back_head + BACKLOG - t->back_len) % BACKLOG;
  size_t first = BACKLOG - start < t->back_len ? BACKLOG - start : t->back_len;
  if (first) send(t->attached, ring + start, first, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (t->back_len > first) send(t->attached, ring, t->back_len - first, MSG_NOSIGNAL | MSG_DONTWAIT);
  t->back_len = 0;
  t->back_head = 0;
}

static void detach(struct pty_slot *t) {
  if (t->attached >= 0) close(t->attached);
  t->attached = -1;
  t->cin_len = 0;
  t->cin_stalled = 0;
}

static void attach(int c, struct pty_slot *t) {
  char reply = !t || t->master < 0 ? CONSOLE_NONE : t->attached >= 0 ? CONSOLE_BUSY : CONSOLE_OK;
  if (reply != CONSOLE_BUSY) {
    if (send(c, &reply, 1, MSG_NOSIGNAL) != 1 || reply != CONSOLE_OK) {
      close(c);
      return;
    }
    /* room for a burst of output (a boot, a screenful), so a terminal a little slow is not dropped */
    int sz = 1 << 20;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    t->attached = c;
    if (t->num > 0) backlog_replay(t);
    return;
  }
  /* refused: say who holds it */
  struct ucred cred = {0};
  socklen_t len = sizeof cred;
  getsockopt(t->attached, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  char msg[1 + sizeof(int)];
  msg[0] = reply;
  memcpy(msg + 1, &cred.pid, sizeof(int));
  send(c, msg, sizeof msg, MSG_NOSIGNAL);
  close(c);
}

/* Whole frames from cin to the master. The master is non-blocking: what it cannot take now stays
 * in cin as a shorter frame, and the client is not read until it drains (the client then holds
 * its next frame and drops what is typed meanwhile). */
static void pty_input(struct pty_slot *t) {
  size_t off = 0;
  t->cin_stalled = 0;
  while (t->cin_len - off >= 3) {
    size_t len = t->cin[off + 1] | (size_t)t->cin[off + 2] << 8;
    if (len > FRAME_MAX) {
      detach(t); /* not our client's framing: drop it */
      return;
    }
    if (t->cin_len - off < 3 + len) break;
    unsigned char *p = t->cin + off + 3;
    if (t->cin[off] == FRAME_WINSIZE && len == sizeof(struct winsize)) {
      struct winsize ws;
      memcpy(&ws, p, sizeof ws);
      ioctl(t->master, TIOCSWINSZ, &ws);
    } else if (t->cin[off] == FRAME_DATA) {
      ssize_t w = write(t->master, p, len);
      if (w < 0 && errno != EAGAIN && errno != EINTR) w = (ssize_t)len; /* lost: never block */
      if (w < 0) w = 0;
      if ((size_t)w < len) {
        /* the rest as a frame of its own, over the bytes already written */
        off += (size_t)w;
        len -= (size_t)w;
        t->cin[off] = FRAME_DATA;
        t->cin[off + 1] = (unsigned char)(len & 0xff);
        t->cin[off + 2] = (unsigned char)(len >> 8);
        t->cin_stalled = 1;
        break;
      }
    }
    off += 3 + len;
  }
  memmove(t->cin, t->cin + off, t->cin_len - off);
  t->cin_len -= off;
}

static void read_client(struct pty_slot *t) {
  ssize_t n = read(t->attached, t->cin + t->cin_len, sizeof t->cin - t->cin_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    detach(t); /* the admin detached, or their berth died */
    return;
  }
  t->cin_len += (size_t)n;
  pty_input(t);
}

static int drain_pty(struct pty_slot *t) {
  char buf[16384];
  ssize_t n = read(t->master, buf, sizeof buf);
  if (n > 0 && t->num == 0) log_write(buf, (size_t)n);
  if (n > 0 && t->num > 0 && t->attached < 0) backlog_keep(t, buf, (size_t)n);
  /* never wait for the admin's terminal: a client that fell a socket buffer behind is dropped */
  if (n > 0 && t->attached >= 0 && send(t->attached, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) detach(t);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return -1;
  if (n <= 0 && t->num > 0) { /* a session's shell and all it left are gone (EIO): so is the slot */
    detach(t);
    close(t->master);
    t->master = -1;
  }
  return (int)n;
}

static struct pty_slot *slot_of(unsigned char tag) {
  int num = tag == 'C' ? 0 : tag >= SESSION_TAG_BASE ? tag - SESSION_TAG_BASE : -1;
  for (int k = 0; num >= 0 && k < n_slots; k++)
    if (slots[k].num == num) return &slots[k];
  return NULL;
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

/* one message per connection: 'L' with a seccomp listener, or 'C' or a session's tag (the
 * connection then stays, attached to that pty) */
static void serve_client(int c) {
  char tag = 0;
  int fd;
  int n = recv_fds(c, &tag, &fd, 1);
  if (n == 0 && (tag == 'C' || (unsigned char)tag >= SESSION_TAG_BASE)) {
    attach(c, slot_of((unsigned char)tag));
    return;
  }
  if (n == 1) {
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
  int keep[3 + KEEPER_MAX_SESSIONS] = {master, listener, devnull};
  for (int k = 0; k < plan.nsessions; k++) keep[3 + k] = plan.session_master[k];
  close_all_but(keep, 3 + plan.nsessions);
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
  slots[n_slots++] = (struct pty_slot){.master = master, .num = 0, .attached = -1};
  for (int k = 0; k < plan.nsessions; k++)
    slots[n_slots++] = (struct pty_slot){.master = plan.session_master[k], .num = plan.session_num[k], .attached = -1};
  /* an admin's keystrokes must never block us when the container does not read its ptys */
  for (int k = 0; k < n_slots; k++)
    if (slots[k].master >= 0) fcntl(slots[k].master, F_SETFL, fcntl(slots[k].master, F_GETFL) | O_NONBLOCK);
  if (listener >= 0) add_listener(listener);
  int sock = plan.sock_path ? listen_on(plan.sock_path) : -1;
  if (plan.si.mem_dir) sysinfo_init(&plan.si, plan.init);
  static struct pollfd pfd[MAX_LISTENERS + MAX_CLIENTS + 2 + 2 * (1 + KEEPER_MAX_SESSIONS)];
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){init, POLLIN, 0};
    pfd[n++] = (struct pollfd){sock, POLLIN, 0};
    for (int k = 0; k < n_slots; k++) {
      struct pty_slot *t = &slots[k];
      pfd[n++] = (struct pollfd){t->master, (short)(POLLIN | (t->cin_stalled ? POLLOUT : 0)), 0};
      /* the attached client is read only once its last frames went into the master (a hang-up shows) */
      pfd[n++] = (struct pollfd){t->attached, (short)(t->cin_stalled ? 0 : POLLIN), 0};
    }
    int first_client = n;
    for (int k = 0; k < n_clients; k++) pfd[n++] = (struct pollfd){clients[k], POLLIN, 0};
    for (int k = 0; k < n_listeners; k++) pfd[n++] = (struct pollfd){listeners[k], POLLIN, 0};
    int r = poll(pfd, (nfds_t)n, sysinfo_timeout());
    if (r < 0 && errno != EINTR) break;
    sysinfo_tick();
    if (r <= 0) continue;
    for (int k = 0; k < n_slots; k++) {
      struct pty_slot *t = &slots[k];
      short mr = pfd[2 + 2 * k].revents, cr = pfd[3 + 2 * k].revents;
      if (t->master >= 0 && mr & (POLLIN | POLLHUP | POLLERR)) drain_pty(t);
      if (t->master >= 0 && mr & POLLOUT && t->attached >= 0) pty_input(t);
      if (cr && t->attached >= 0) read_client(t);
    }
    int first_listener = first_client + n_clients, k = 0;
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
    for (int i = first_client; i < first_listener; i++) {
      if (pfd[i].revents) serve_client(pfd[i].fd);
      else clients[k++] = pfd[i].fd;
    }
    n_clients = k;
    if (pfd[1].revents & POLLIN) accept_client(sock);
    if (pfd[0].revents & POLLIN) break; /* init exited */
  }
  /* what init and its last words left in the pty */
  if (master >= 0) {
    while (drain_pty(&slots[0]) > 0) {
    }
  }
  if (plan.sock_path) unlink(plan.sock_path);
  _exit(0);
}
