/* fds.c: close-on-exec hygiene and fd passing between the helper's own processes */
#ifndef BERTH_FDS_H
#define BERTH_FDS_H

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#include <stddef.h>

/* every byte, or -1 with errno (callers that report a fact best-effort may ignore it) */
int write_all(int fd, const char *buf, size_t len);
void close_range_compat(unsigned lo, unsigned hi, unsigned flags);
void close_all_but(const int *keep, int n);
/* returns 0 or an errno */
int send_fds(int sock, char tag, const int *fds, int n);
/* returns how many fds arrived (0 with only the tag), or -1 at EOF or on error */
int recv_fds(int sock, char *tag, int *fds, int max);

#endif
