#ifndef BERTH_ANNOUNCE_H
#define BERTH_ANNOUNCE_H

/* One unsolicited announcement that DEV now answers for IP (IPv4: a gratuitous ARP request;
 * IPv6: an unsolicited neighbour advertisement with the override flag). Returns an errno, 0. */
int announce(const char *dev, const char *ip);

#endif
