/* Network operations of berth-nsexec (helper/net.c): rtnetlink, no `ip` processes. */
#ifndef BERTH_NET_H
#define BERTH_NET_H
#include <sys/types.h>

/* one `--net WHERE VERB A B C` ("-" for an unused argument) */
struct net_op {
  const char *where, *verb, *a, *b, *c;
};

int net_op_valid(const char *where, const char *verb);
/* Runs one operation in the caller's network namespace; 0 or a positive errno. ct_pid is the
 * process whose network namespace receives the peer end of a veth pair. */
int net_run(const struct net_op *o, pid_t ct_pid);
/* Forgets the netlink socket (call after switching network namespace). */
void net_reset(void);
#endif
