/*
 * Network operations of berth-nsexec, over rtnetlink (no `ip` processes: one socket, one
 * message per operation). Each operation is one `--net WHERE VERB A B C` on argv; WHERE says
 * which network namespace it runs in (the host's, or the container's), the rest is below and in
 * helper/PROTOCOL.md. As everywhere in the helper, TypeScript decided every value.
 */
#define _GNU_SOURCE
#include "net.h"

#include "announce.h"
#include "fastpath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nlreq {
  struct nlmsghdr h;
  char buf[1024];
};

static int nl_fd = -1;
static unsigned nl_seq;

/* from r, not &r->h: gcc 14 (Debian 13) would bound the write by the 16-byte header */
static void *tail(struct nlreq *r) { return (char *)r + NLMSG_ALIGN(r->h.nlmsg_len); }

static struct rtattr *attr(struct nlreq *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = tail(r);
  size_t need = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len);
  if (need > sizeof *r) return NULL;
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) {
    if (data) memcpy(RTA_DATA(a), data, len);
    else memset(RTA_DATA(a), 0, len); /* a nested header (the veth peer's ifinfomsg) */
  }
  r->h.nlmsg_len = (unsigned)need;
  return a;
}

static void nest_end(struct nlreq *r, struct rtattr *a) {
  a->rta_len = (unsigned short)((char *)tail(r) - (char *)a);
}

static void init_req(struct nlreq *r, unsigned short type, unsigned short flags, size_t body) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = (unsigned)NLMSG_LENGTH(body);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
}

/* Sends one request and waits for its ack; returns 0 or a positive errno. */
static int talk(struct nlreq *r) {
  if (nl_fd < 0) return EBADF;
  r->h.nlmsg_seq = ++nl_seq;
  if (send(nl_fd, r, r->h.nlmsg_len, 0) < 0) return errno;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(nl_fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != nl_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

/* The socket belongs to the namespace it was created in: one per namespace switch. */
static int nl_open(void) {
  if (nl_fd >= 0) close(nl_fd);
  nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  return nl_fd < 0 ? errno : 0;
}

struct prefix {
  int family;
  unsigned char bytes[16];
  int len;
};

static int parse_prefix(const char *s, struct prefix *p) {
  char host[INET6_ADDRSTRLEN + 8];
  snprintf(host, sizeof host, "%s", s);
  char *slash = strchr(host, '/');
  if (slash) *slash = 0;
  p->family = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(p->family, host, p->bytes) != 1) return EINVAL;
  int max = p->family == AF_INET ? 32 : 128;
  p->len = slash ? atoi(slash + 1) : max;
  return p->len < 0 || p->len > max ? EINVAL : 0;
}

static size_t plen(const struct prefix *p) { return p->family == AF_INET ? 4 : 16; }

static int ifindex(const char *name, int *idx) {
  *idx = (int)if_nametoindex(name);
  return *idx ? 0 : ENODEV;
}

/* a pair; mtu 0 keeps the kernel's default (1500) */
static int link_veth(const char *host, const char *peer, uint32_t mtu, pid_t peer_pid) {
  struct nlreq r;
  init_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
  attr(&r, IFLA_IFNAME, host, strlen(host) + 1);
  if (mtu && !attr(&r, IFLA_MTU, &mtu, sizeof mtu)) return E2BIG;
  struct rtattr *info = attr(&r, IFLA_LINKINFO, NULL, 0);
  attr(&r, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = attr(&r, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *pinfo = attr(&r, VETH_INFO_PEER, NULL, sizeof(struct ifinfomsg));
  if (!pinfo) return E2BIG;
  attr(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
  if (mtu && !attr(&r, IFLA_MTU, &mtu, sizeof mtu)) return E2BIG;
  uint32_t pid = (uint32_t)peer_pid;
  if (!attr(&r, IFLA_NET_NS_PID, &pid, sizeof pid)) return E2BIG;
  nest_end(&r, pinfo);
  nest_end(&r, data);
  nest_end(&r, info);
  return talk(&r);
}

/* a bridge (existing is fine: berth re-creates managed bridges idempotently) */
static int link_bridge(const char *name) {
  struct nlreq r;
  init_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
  attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  struct rtattr *info = attr(&r, IFLA_LINKINFO, NULL, 0);
  attr(&r, IFLA_INFO_KIND, "bridge", 6);
  nest_end(&r, info);
  int e = talk(&r);
  return e == EEXIST ? 0 : e;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  char end;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6) return EINVAL;
  for (int k = 0; k < 6; k++) mac[k] = (unsigned char)v[k];
  return 0;
}

/* MAC address (IFLA_ADDRESS) or master bridge (IFLA_MASTER) of a link */
static int link_set(const char *name, const char *mac, const char *master) {
  struct nlreq r;
  int idx, e = ifindex(name, &idx);
  if (e) return e;
  init_req(&r, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  ((struct ifinfomsg *)NLMSG_DATA(&r.h))->ifi_index = idx;
  if (mac) {
    unsigned char m[6];
    if ((e = parse_mac(mac, m))) return e;
    attr(&r, IFLA_ADDRESS, m, 6);
  }
  if (master) {
    int bidx;
    if ((e = ifindex(master, &bidx))) return e;
    uint32_t b = (uint32_t)bidx;
    attr(&r, IFLA_MASTER, &b, sizeof b);
  }
  return talk(&r);
}

static int link_up(const char *name) {
  struct nlreq r;
  int idx, e = ifindex(name, &idx);
  if (e) return e;
  init_req(&r, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
  ifi->ifi_index = idx;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return talk(&r);
}

static int link_del(const char *name) {
  struct nlreq r;
  int idx;
  if (ifindex(name, &idx)) return 0; /* already gone: the goal is reached */
  init_req(&r, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
  ((struct ifinfomsg *)NLMSG_DATA(&r.h))->ifi_index = idx;
  int e = talk(&r);
  return e == ENODEV ? 0 : e;
}

static int addr(int add, const char *name, const char *pfx) {
  struct nlreq r;
  struct prefix p;
  int idx, e = ifindex(name, &idx);
  if (e || (e = parse_prefix(pfx, &p))) return e;
  init_req(&r, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(struct ifaddrmsg));
  struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
  ifa->ifa_family = (unsigned char)p.family;
  ifa->ifa_prefixlen = (unsigned char)p.len;
  ifa->ifa_index = (unsigned)idx;
  /* no duplicate address detection: the host routes each address to one container only, and
   * DAD would leave a new address unusable ("tentative") for a second or more */
  ifa->ifa_flags = p.family == AF_INET6 ? IFA_F_NODAD : 0;
  attr(&r, IFA_LOCAL, p.bytes, plen(&p));
  attr(&r, IFA_ADDRESS, p.bytes, plen(&p));
  e = talk(&r);
  return !add && e == EADDRNOTAVAIL ? 0 : e;
}

static int route(int add, const char *dst, const char *name, const char *gw, uint32_t metric) {
  struct nlreq r;
  struct prefix p, g;
  int idx, e = ifindex(name, &idx);
  if (e || (e = parse_prefix(dst, &p))) return e;
  if (gw && (e = parse_prefix(gw, &g))) return e;
  init_req(&r, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(struct rtmsg));
  struct rtmsg *rt = NLMSG_DATA(&r.h);
  rt->rtm_family = (unsigned char)p.family;
  rt->rtm_dst_len = (unsigned char)p.len;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt->rtm_type = RTN_UNICAST;
  /* the gateway is the host end of the pair, reachable on the link whatever our addresses */
  if (gw) rt->rtm_flags = RTNH_F_ONLINK;
  if (p.len) attr(&r, RTA_DST, p.bytes, plen(&p));
  if (gw) attr(&r, RTA_GATEWAY, g.bytes, plen(&g));
  uint32_t oif = (uint32_t)idx;
  attr(&r, RTA_OIF, &oif, sizeof oif);
  /* a delete without a metric matches any: routes made before berth marked them still go */
  if (metric) attr(&r, RTA_PRIORITY, &metric, sizeof metric);
  e = talk(&r);
  return !add && e == ESRCH ? 0 : e;
}

static int proxy(int add, const char *name, const char *address) {
  struct nlreq r;
  struct prefix p;
  int idx, e = ifindex(name, &idx);
  if (e || (e = parse_prefix(address, &p))) return e;
  init_req(&r, add ? RTM_NEWNEIGH : RTM_DELNEIGH, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(struct ndmsg));
  struct ndmsg *nd = NLMSG_DATA(&r.h);
  nd->ndm_family = (unsigned char)p.family;
  nd->ndm_ifindex = idx;
  nd->ndm_flags = NTF_PROXY;
  nd->ndm_state = NUD_PERMANENT;
  attr(&r, NDA_DST, p.bytes, plen(&p));
  e = talk(&r);
  return !add && e == ENOENT ? 0 : e;
}

/*
 * The fast path on IF's ingress: a clsact qdisc and, in it, the program as a direct-action
 * cls_bpf filter (which works from kernel 4.5 on, where tcx needs 6.6). Both go with the link.
 */
static int fastpath(const char *name, uint32_t metric) {
  struct nlreq r;
  int idx, fd, e = ifindex(name, &idx);
  if (e) return e;
  init_req(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct tcmsg));
  struct tcmsg *t = NLMSG_DATA(&r.h);
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = idx;
  t->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
  t->tcm_parent = TC_H_CLSACT;
  attr(&r, TCA_KIND, "clsact", 7);
  if ((e = talk(&r)) && e != EEXIST) return e;
  if ((e = fastpath_load(metric, &fd))) return e;
  init_req(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct tcmsg));
  t = NLMSG_DATA(&r.h);
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = idx;
  t->tcm_handle = 1;
  t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  t->tcm_info = TC_H_MAKE(1U << 16, htons(ETH_P_ALL)); /* priority 1, every protocol */
  attr(&r, TCA_KIND, "bpf", 4);
  struct rtattr *o = attr(&r, TCA_OPTIONS, NULL, 0);
  uint32_t pfd = (uint32_t)fd, flags = TCA_BPF_FLAG_ACT_DIRECT;
  attr(&r, TCA_BPF_FD, &pfd, sizeof pfd);
  attr(&r, TCA_BPF_NAME, "berth-fastpath", 15);
  attr(&r, TCA_BPF_FLAGS, &flags, sizeof flags);
  nest_end(&r, o);
  e = talk(&r);
  close(fd); /* the filter holds the program now */
  return e;
}

/* PATH is under /proc/sys/net, which shows the sysctls of the caller's network namespace */
static int sysctl_net(const char *path, const char *value) {
  char full[256];
  if (strstr(path, "..")) return EINVAL;
  snprintf(full, sizeof full, "/proc/sys/net/%s", path);
  int fd = open(full, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, value, strlen(value));
  int e = n < 0 ? errno : 0;
  close(fd);
  return e;
}

static const char *dash(const char *s) { return s && strcmp(s, "-") != 0 ? s : NULL; }

int net_op_valid(const char *where, const char *verb) {
  static const char *const verbs[] = {"veth",      "link-del", "up",    "addr",   "addr-del", "route", "route-del",
                                      "proxy",     "proxy-del", "sysctl", "bridge", "mac",      "master",
                                      "route-metric", "fastpath", "announce"};
  if (strcmp(where, "host") != 0 && strcmp(where, "ct") != 0) return 0;
  if (verb[0] == '?') verb++; /* optional: a failure is reported, and the others still run */
  for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
    if (strcmp(verb, verbs[k]) == 0) return 1;
  return 0;
}

int net_run(const struct net_op *o, pid_t ct_pid) {
  const char *a = o->a, *b = dash(o->b), *c = dash(o->c), *verb = o->verb + (o->verb[0] == '?');
  if (nl_fd < 0 && nl_open()) return errno;
  if (strcmp(verb, "veth") == 0) return link_veth(a, b ? b : "", c ? (uint32_t)strtoul(c, NULL, 10) : 0, ct_pid);
  if (strcmp(verb, "link-del") == 0) return link_del(a);
  if (strcmp(verb, "up") == 0) return link_up(a);
  if (strcmp(verb, "addr") == 0) return addr(1, a, b ? b : "");
  if (strcmp(verb, "addr-del") == 0) return addr(0, a, b ? b : "");
  if (strcmp(verb, "route") == 0) return route(1, a, b ? b : "", c, 0);
  if (strcmp(verb, "route-del") == 0) return route(0, a, b ? b : "", NULL, 0);
  if (strcmp(verb, "proxy") == 0) return proxy(1, a, b ? b : "");
  if (strcmp(verb, "proxy-del") == 0) return proxy(0, a, b ? b : "");
  if (strcmp(verb, "sysctl") == 0) return sysctl_net(a, b ? b : "");
  if (strcmp(verb, "bridge") == 0) return link_bridge(a);
  if (strcmp(verb, "mac") == 0) return link_set(a, b ? b : "", NULL);
  if (strcmp(verb, "master") == 0) return link_set(a, NULL, b ? b : "");
  if (strcmp(verb, "route-metric") == 0) return route(1, a, b ? b : "", NULL, c ? (uint32_t)strtoul(c, NULL, 10) : 0);
  if (strcmp(verb, "announce") == 0) return announce(a, b ? b : "");
  if (strcmp(verb, "fastpath") == 0) return fastpath(a, b ? (uint32_t)strtoul(b, NULL, 10) : 0);
  return EINVAL;
}

void net_reset(void) {
  if (nl_fd >= 0) close(nl_fd);
  nl_fd = -1;
}
