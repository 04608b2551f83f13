/*
 * The stdio of `berth exec` and `berth enter`. The command never gets the caller's own fds: a
 * terminal would let it push keystrokes into the admin's shell (TIOCSTI) or keep it after the
 * exec; a directory, a socket or a device would be a way out of the container. It gets pipes (or
 * a pty of the container's own devpts) that the helper made, and the helper copies between
 * those and the caller's fds until the command exits. What background processes left behind by
 * the command write after that is not waited for.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fds.h"

struct pump {
  int from, to;
  int done;
  size_t len, off;
  char buf[16384];
};

static volatile sig_atomic_t winch = 1, target = 0;
static void on_winch(int s) {
  (void)s;
  winch = 1;
}
/* ^C and friends that reach us go to the command's process group (it leads its own session) */
static void forward(int s) {
  if (target > 0 && kill(-target, s) < 0) kill(target, s);
}

static void install(int sig, void (*fn)(int)) {
  struct sigaction sa = {.sa_handler = fn};
  sigaction(sig, &sa, NULL);
}

/* SIGUSR1 from a checkpoint: let the session's shell go to init (relay_allow_detach) */
static volatile sig_atomic_t detach_asked = 0;
static void on_detach(int s) {
  (void)s;
  detach_asked = 1;
}
void relay_allow_detach(void) {
  install(SIGUSR1, on_detach);
}

/* one step of a pump whose poll entry fired */
static void pump_step(struct pump *p, short revents, int pty_stdin) {
  if (p->len == 0) {
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
    ssize_t n = read(p->from, p->buf, sizeof p->buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) { /* EOF (a pty master says EIO once no slave is open) */
      p->done = 1;
      if (pty_stdin && write(p->to, "\x04", 1) < 0) return; /* the terminal's end of input */
      return;
    }
    p->len = (size_t)n;
    p->off = 0;
    return;
  }
  if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
  ssize_t w = write(p->to, p->buf + p->off, p->len - p->off);
  if (w < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (w < 0) { /* the reader went away: stop this stream, the writer then gets EPIPE */
    p->done = 1;
    p->len = 0;
    return;
  }
  p->off += (size_t)w;
  if (p->off == p->len) p->len = 0;
}

/* after the command exited: what its pipes hold now, not what stragglers write later */
static void drain(int from, int to) {
  char buf[16384];
  fcntl(from, F_SETFL, fcntl(from, F_GETFL) | O_NONBLOCK);
  for (size_t total = 0; total < (16u << 20);) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    write_all(to, buf, (size_t)n);
    total += (size_t)n;
  }
}

int winsize_fd = -1;

int read_winsize(struct winsize *ws) {
  unsigned short rec[2];
  ssize_t n;
  do n = read(winsize_fd, rec, sizeof rec);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof rec || rec[0] == 0 || rec[1] == 0) {
    close(winsize_fd);
    winsize_fd = -1;
    return 0;
  }
  *ws = (struct winsize){.ws_row = rec[0], .ws_col = rec[1]};
  return 1;
}

int relay(pid_t child, int master, int in_w, int out_r, int err_r) {
  int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  target = child;
  signal(SIGPIPE, SIG_IGN);
  install(SIGHUP, forward);
  install(SIGINT, forward);
  install(SIGQUIT, forward);
  install(SIGTERM, forward);
  struct termios saved;
  int tty = master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
  }
  if (master >= 0) install(SIGWINCH, on_winch);
  static struct pump in, out, err;
  in = (struct pump){.from = 0, .to = master >= 0 ? master : in_w};
  out = (struct pump){.from = master >= 0 ? master : out_r, .to = 1};
  err = (struct pump){.from = err_r, .to = 2, .done = err_r < 0};
  struct pump *pumps[3] = {&in, &out, &err};
  int exited = 0, detached = 0;
  while (!exited) {
    /* the session's parent in the container goes: its shell becomes init's child (CRIU dumps
     * init's tree), and we relay its pty until the checkpoint ends it (the master's EIO) */
    if (detach_asked && !detached && master >= 0) {
      detached = 1;
      kill(child, SIGKILL);
    }
    if (detached && out.done) break;
    if (winch && tty) {
      struct winsize ws;
      winch = 0;
      if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    }
    struct pollfd pfd[5];
    for (int k = 0; k < 3; k++) {
      struct pump *p = pumps[k];
      pfd[k] = p->done ? (struct pollfd){-1, 0, 0}
               : p->len ? (struct pollfd){p->to, POLLOUT, 0}
                        : (struct pollfd){p->from, POLLIN, 0};
    }
    pfd[3] = (struct pollfd){pidfd < 0 ? -1 : pidfd, POLLIN, 0};
    pfd[4] = (struct pollfd){master >= 0 ? winsize_fd : -1, POLLIN, 0};
    if (poll(pfd, 5, pidfd == -1 ? 100 : -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 3; k++) {
      int was = pumps[k]->done;
      if (!was && pfd[k].revents) pump_step(pumps[k], pfd[k].revents, k == 0 && master >= 0);
      /* stdin ended: the command sees EOF on its pipe */
      if (k == 0 && !was && in.done && master < 0 && in_w >= 0) {
        close(in_w);
        in_w = -1;
      }
    }
    struct winsize ws;
    if (pfd[4].revents && read_winsize(&ws)) ioctl(master, TIOCSWINSZ, &ws);
    if (pfd[3].revents & POLLIN) {
      if (!detached) exited = 1;
      else { /* its parent is gone as asked: reaped, and no longer watched */
        waitpid(child, NULL, WNOHANG);
        close(pidfd);
        pidfd = -2;
      }
    }
    siginfo_t si = {0};
    /* no pidfd (before 5.3): ask every 100 ms, leaving the zombie for our caller to reap */
    if (pidfd == -1 && !detached && waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == child)
      exited = 1;
  }
  if (out.len) write_all(1, out.buf + out.off, out.len - out.off);
  if (err.len) write_all(2, err.buf + err.off, err.len - err.off);
  if (!out.done) drain(out.from, 1);
  if (!err.done) drain(err.from, 2);
  if (tty) tcsetattr(0, TCSANOW, &saved);
  return detached;
}
