/*
 * `berth console`: the admin's terminal attached to a container's console. The keeper alone
 * holds the console's master; this client has only a socket to the keeper and copies bytes, so
 * neither the keeper nor the container ever gets the admin's terminal. The terminal goes into
 * raw mode and is restored on every way out: the detach keys, the container stopping, stdin
 * ending, SIGHUP, SIGTERM, SIGINT, SIGQUIT, and berth dying (parent-death signal). The escape
 * byte followed by '.' detaches; followed by anything else, both are sent as typed. Without a
 * terminal (a script's pipe) it is a byte pipe: stdin to the console until it ends.
 */
#define _GNU_SOURCE
#include "console.h"
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "fds.h"
#include "report.h"

static volatile sig_atomic_t winch = 1, quit;
static void on_winch(int s) {
  (void)s;
  winch = 1;
}
static void on_quit(int s) {
  (void)s;
  quit = 1;
}

/* the one outcome record: berth turns it into a message and an exit code */
static int outcome(const char *what, long pid) {
  char rec[96];
  int n = pid ? snprintf(rec, sizeof rec, "{\"console\":\"%s\",\"pid\":%ld}\n", what, pid)
              : snprintf(rec, sizeof rec, "{\"console\":\"%s\"}\n", what);
  if (status_fd >= 0 && n > 0) write_all(status_fd, rec, (size_t)n);
  return 0;
}

/*
 * Frames to the keeper go out without blocking: while one is still on its way (the container
 * does not read its console), stdin is still read, so the detach keys always work, and what
 * else is typed meanwhile is dropped, as a console whose input is full drops it.
 */
static unsigned char pend[3 + FRAME_MAX];
static size_t pend_len, pend_off;

/* -1 once the keeper is gone */
static int flush(int s) {
  while (pend_off < pend_len) {
    ssize_t w = send(s, pend + pend_off, pend_len - pend_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return 0;
    if (w <= 0) return -1;
    pend_off += (size_t)w;
  }
  pend_len = pend_off = 0;
  return 0;
}

/* 1 if queued, 0 if a frame is still on its way (this one is dropped), -1 once the keeper is gone */
static int queue(int s, char type, const void *payload, size_t len) {
  if (pend_len) return 0;
  pend[0] = (unsigned char)type;
  pend[1] = (unsigned char)(len & 0xff);
  pend[2] = (unsigned char)(len >> 8);
  memcpy(pend + 3, payload, len);
  pend_len = 3 + len;
  return flush(s) < 0 ? -1 : 1;
}

static int connect_to(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) die_usage("--attach: socket path too long");
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) die_errno("attach", "socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) return s;
  if (errno == ENOENT || errno == ECONNREFUSED) return -1; /* the keeper is gone: init exited */
  die_errno("attach", "connect %s", path);
}

/* what came from stdin, with the escape sequence taken out; returns 1 when it asks to detach */
static int keys(const unsigned char *in, size_t n, int escape, int *held, unsigned char *out, size_t *m) {
  *m = 0;
  for (size_t i = 0; i < n; i++) {
    if (*held) {
      *held = 0;
      if (in[i] == '.') return 1;
      out[(*m)++] = (unsigned char)escape;
    }
    if (in[i] == escape) *held = 1;
    else out[(*m)++] = in[i];
  }
  return 0;
}

int console_attach(const char *path, int escape, const char *banner, int session) {
  int s = connect_to(path);
  if (s < 0) return outcome("gone", 0);
  char tag = session > 0 ? (char)(SESSION_TAG_BASE + session) : 'C';
  if (send_fds(s, tag, NULL, 0) != 0) return outcome("gone", 0);
  unsigned char reply = 0;
  if (recv(s, &reply, 1, MSG_WAITALL) != 1) return outcome("unanswered", 0); /* gone, or an older keeper */
  if (reply == CONSOLE_BUSY) {
    int pid = 0;
    if (recv(s, &pid, sizeof pid, MSG_WAITALL) != (ssize_t)sizeof pid) pid = 0;
    return outcome("busy", pid);
  }
  if (reply != CONSOLE_OK) return outcome(reply == CONSOLE_NONE ? "none" : "unanswered", 0);

  /* from here on every way out goes through the restore below */
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_quit}; /* no SA_RESTART: a blocked read returns EINTR */
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  sa.sa_handler = on_winch;
  sigaction(SIGWINCH, &sa, NULL);
  if (banner[0]) dprintf(2, "%s\n", banner);
  struct termios saved;
  int tty = isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
  }
  const char *end = "closed";
  int held = 0;
  while (!quit) {
    struct winsize ws;
    if (winch && tty && !pend_len && ioctl(0, TIOCGWINSZ, &ws) == 0) {
      winch = 0;
      if (queue(s, FRAME_WINSIZE, &ws, sizeof ws) < 0) break;
    }
    /* a pipe or file is not read meanwhile: a script's input is never dropped */
    struct pollfd p[3] = {{pend_len && !tty ? -1 : 0, POLLIN, 0},
                          {s, (short)(POLLIN | (pend_len ? POLLOUT : 0)), 0},
                          {pend_len ? -1 : winsize_fd, POLLIN, 0}};
    /* a size change waits for the frame before it (a short nap, not a busy loop) */
    if (poll(p, 3, winch && tty && pend_len ? 50 : -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[2].revents && read_winsize(&ws) && queue(s, FRAME_WINSIZE, &ws, sizeof ws) < 0) break;
    if (p[1].revents & POLLOUT && flush(s) < 0) break;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t r = read(s, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break; /* the keeper closed: init exited */
      write_all(1, buf, (size_t)r);
    }
    if (p[0].revents) {
      unsigned char in[FRAME_MAX - 1], out[FRAME_MAX];
      ssize_t r = read(0, in, sizeof in);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { /* a pipe or file ended: a script is done */
        end = "eof";
        break;
      }
      size_t m;
      int detach = keys(in, (size_t)r, escape, &held, out, &m);
      if (m && queue(s, FRAME_DATA, out, m) < 0) break;
      if (detach) {
        end = "detached";
        break;
      }
    }
  }
  /* the end of a script's input: what is still on its way goes first */
  for (struct pollfd p = {s, POLLOUT, 0}; !quit && pend_len && strcmp(end, "eof") == 0 && poll(&p, 1, -1) >= 0;)
    if (flush(s) < 0) break;
  if (quit) end = "signal";
  if (tty) tcsetattr(0, TCSANOW, &saved);
  close(s);
  return outcome(end, 0);
}
