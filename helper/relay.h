/* relay.c: the caller's stdio to and from a command's pipes or pty, until the command exits */
#ifndef BERTH_RELAY_H
#define BERTH_RELAY_H

#include <sys/ioctl.h>
#include <sys/types.h>

/*
 * --winsize-fd N (or -1): window sizes for the pty from a caller that has no terminal of its own
 * (berthd's websockets): records of two host-order uint16, rows then columns.
 */
extern int winsize_fd;

/* One record from winsize_fd into ws; 0 when the fd ended or sent garbage (then it is -1). */
int read_winsize(struct winsize *ws);

/*
 * master: the pty (or -1); in_w, out_r, err_r: the pipes (or -1 with a pty). Returns 1 when a
 * SIGUSR1 (relay_allow_detach) had the child killed and the pty relayed to its end instead
 * (the child reaped then), else 0 once the child exited (not reaped).
 */
int relay(pid_t child, int master, int in_w, int out_r, int err_r);
/* SIGUSR1 detaches an enter session (nsexec.c): its parent in the container is killed */
void relay_allow_detach(void);

#endif
