/*
 * File descriptors: what crosses a process boundary, and what must not. The helper passes fds
 * only on purpose (SCM_RIGHTS between its own processes); everything it inherited from berth or
 * from berth's caller is marked close-on-exec at once, so nothing a shell had open ever reaches a
 * container (the class of runc's CVE-2024-21626).
 */
#define _GNU_SOURCE
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* close_range(2), or the same by walking /proc/self/fd on kernels before 5.11 */
void close_range_compat(unsigned lo, unsigned hi, unsigned flags) {
  if (lo > hi) return;
  if (syscall(SYS_close_range, lo, hi, flags) == 0) return;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  for (struct dirent *e; (e = readdir(d));) {
    long fd = strtol(e->d_name, NULL, 10);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == self || fd < (long)lo || fd > (long)hi) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    else close((int)fd);
  }
  closedir(d);
}

/* closes every fd but those in keep (-1 entries are ignored) */
void close_all_but(const int *keep, int n) {
  int sorted[8], m = 0;
  for (int k = 0; k < n && m < 8; k++)
    if (keep[k] >= 0) sorted[m++] = keep[k];
  for (int i = 1; i < m; i++)
    for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      int t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  unsigned lo = 3;
  for (int k = 0; k < m; k++) {
    if ((unsigned)sorted[k] < lo) continue;
    if ((unsigned)sorted[k] > lo) close_range_compat(lo, (unsigned)sorted[k] - 1, 0);
    lo = (unsigned)sorted[k] + 1;
  }
  close_range_compat(lo, ~0U, 0);
}

/* all of BUF, unless the fd fails (a reader gone, a full disk): then as much as went */
int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR) continue;
    if (w == 0) errno = EIO;
    if (w <= 0) return -1;
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* one tag byte, with up to 4 fds as SCM_RIGHTS */
int send_fds(int sock, char tag, const int *fds, int n) {
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {&tag, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n > 4) return EINVAL;
  if (n > 0) {
    memset(cbuf, 0, sizeof cbuf);
    msg.msg_control = cbuf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
  }
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

int recv_fds(int sock, char *tag, int *fds, int max) {
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {tag, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t r;
  while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (r <= 0) return -1;
  int n = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int got[4];
    memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)(k < 4 ? k : 4));
    for (int j = 0; j < k && j < 4; j++) {
      if (n < max) fds[n++] = got[j];
      else close(got[j]); /* more than we asked for: never keep what we did not expect */
    }
  }
  return n;
}

