/*
 * --net host announce DEV IP: after a start or a restore (a migration's destination) the host
 * answers ARP/NDP for a container's address on its uplink DEV (a neighbour proxy); neighbours
 * that cached another host's MAC for it (the migration's source) would keep sending there until
 * their entry ages out. One gratuitous ARP (IPv4) or unsolicited neighbour advertisement with
 * the override flag (IPv6, to all nodes) updates their caches at once, as vzctl's arpsend -U
 * and ndsend do. Linux updates an entry it already has, and creates none (arp_accept=0).
 * The frames carry DEV's own MAC, and nothing else of the host.
 */
#define _GNU_SOURCE
#include "announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* DEV's index and Ethernet address; ENOTSUP for a link without one (a tun, a wireguard) */
static int ether_of(const char *dev, int *idx, unsigned char mac[6]) {
  struct ifreq ifr = {0};
  if (strlen(dev) >= sizeof ifr.ifr_name) return ENODEV;
  strcpy(ifr.ifr_name, dev);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int e = ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 ? errno : 0;
  close(fd);
  if (e) return e;
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) return ENOTSUP;
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  *idx = (int)if_nametoindex(dev);
  return *idx ? 0 : ENODEV;
}

static int garp(int idx, const unsigned char mac[6], const struct in_addr *ip) {
  struct __attribute__((packed)) {
    struct arphdr h;
    unsigned char sha[6], spa[4], tha[6], tpa[4];
  } m = {.h = {htons(ARPHRD_ETHER), htons(ETH_P_IP), 6, 4, htons(ARPOP_REQUEST)}};
  memcpy(m.sha, mac, 6);
  memcpy(m.spa, ip, 4);
  memcpy(m.tpa, ip, 4); /* sender and target the same address: gratuitous */
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = idx, .sll_halen = 6};
  memset(to.sll_addr, 0xff, 6);
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
  if (fd < 0) return errno;
  int e = sendto(fd, &m, sizeof m, 0, (struct sockaddr *)&to, sizeof to) < 0 ? errno : 0;
  close(fd);
  return e;
}

static int unsolicited_na(int idx, const unsigned char mac[6], const struct in6_addr *ip) {
  struct __attribute__((packed)) {
    struct nd_neighbor_advert na;
    struct nd_opt_hdr opt;
    unsigned char lladdr[6];
  } m = {0};
  m.na.nd_na_type = ND_NEIGHBOR_ADVERT;
  m.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
  m.na.nd_na_target = *ip;
  m.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
  m.opt.nd_opt_len = 1; /* in units of 8 bytes */
  memcpy(m.lladdr, mac, 6);
  struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)idx};
  inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6), hops = 255;
  if (fd < 0) return errno;
  int e = 0; /* the kernel fills in the checksum of an ICMPv6 raw socket, and DEV's link-local source */
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0 ||
      sendto(fd, &m, sizeof m, 0, (struct sockaddr *)&to, sizeof to) < 0)
    e = errno;
  close(fd);
  return e;
}

int announce(const char *dev, const char *ip) {
  unsigned char mac[6];
  int idx = 0, e = ether_of(dev, &idx, mac);
  if (e) return e;
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, ip, &v4) == 1) return garp(idx, mac, &v4);
  if (inet_pton(AF_INET6, ip, &v6) == 1) return unsolicited_na(idx, mac, &v6);
  return EINVAL;
}
