/* The routed pairs' fast path (helper/fastpath.c): an eBPF program for a host end's ingress. */
#ifndef BERTH_FASTPATH_H
#define BERTH_FASTPATH_H
#include <stdint.h>

/* Loads the program for routes of METRIC; 0 and its fd, or a positive errno (the verifier's
 * log goes to stderr when it refuses). */
int fastpath_load(uint32_t metric, int *fd);
#endif
