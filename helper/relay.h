/* relay.c: the caller's stdio to and from a command's pipes or pty, until the command exits */
#ifndef BERTH_RELAY_H
#define BERTH_RELAY_H

#include <sys/types.h>

/* master: the pty (or -1); in_w, out_r, err_r: the pipes (or -1 with a pty) */
void relay(pid_t child, int master, int in_w, int out_r, int err_r);

#endif
