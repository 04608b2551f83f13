// berth set CTID [--ram SIZE] [--swap SIZE] [--cpus N] [--cpulimit PCT] [--cpuunits N] ... [--save]
import { parseCtId } from '../../core/ctid.ts';
import { setContainer } from '../../ops/set.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = {
  ram: { type: 'string' },
  swap: { type: 'string' },
  cpus: { type: 'string' },
  cpulimit: { type: 'string' },
  cpuunits: { type: 'string' },
  numproc: { type: 'string' },
  hostname: { type: 'string' },
  onboot: { type: 'string' },
  bootorder: { type: 'string' },
  description: { type: 'string' },
  ipadd: { type: 'string', multiple: true },
  ipdel: { type: 'string', multiple: true },
  nat: { type: 'string' },
  netif_add: { type: 'string', multiple: true },
  netif_del: { type: 'string', multiple: true },
  ifname: { type: 'string' },
  mac: { type: 'string' },
  host_ifname: { type: 'string' },
  host_mac: { type: 'string' },
  bridge: { type: 'string' },
  gw: { type: 'string' },
  gw6: { type: 'string' },
  dhcp: { type: 'string' },
  nameserver: { type: 'string', multiple: true },
  searchdomain: { type: 'string', multiple: true },
  portfwd: { type: 'string', multiple: true },
  'portfwd-del': { type: 'string', multiple: true },
  diskspace: { type: 'string' },
  diskinodes: { type: 'string' },
  privileged: { type: 'string' },
  capability: { type: 'string', multiple: true },
  devnodes: { type: 'string', multiple: true },
  features: { type: 'string', multiple: true },
  userpasswd: { type: 'string', multiple: true },
  bindmount_add: { type: 'string', multiple: true },
  bindmount_del: { type: 'string', multiple: true },
  save: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'change resources and settings (live and/or saved)',
  usage: 'berth set CTID [OPTIONS] [--save]',
  help: `Applies the changes to a running container at once; with --save, also writes them to
/etc/berth/ct/CTID.conf (keeping its other lines as they are). A stopped container needs --save.
A set takes effect entirely or not at all: when a step fails (say a file in the container that
berth refuses to write: a symlink out of place, a directory, a file of 1 MiB or more), the
changes made before it (limits, hostname, addresses, nftables, files) are put back and nothing
is saved.

  --ram SIZE         RAM limit, e.g. 512M, 2G; a bare number is bytes, rounded up to whole
                     pages (PHYSPAGES)
  --swap SIZE        swap allowed on top of RAM; 0 = none (SWAPPAGES)
  --cpus N           CPUs worth of time (CPUS)
  --cpulimit PCT     CPU cap in percent of one CPU, 0 = none (CPULIMIT)
  --cpuunits N       relative CPU weight, 8..500000, default 1000 (CPUUNITS)
  --numproc N        maximum processes and threads (NUMPROC)
  --hostname NAME    hostname (HOSTNAME)
  --onboot yes|no    start at host boot (ONBOOT; berth boot, berth.service)
  --bootorder N      higher starts earlier at boot and stops later at shutdown (BOOTORDER)
  --privileged yes|no
                     no: a user namespace with an id range of its own (ID_BASE, handed out
                     now); yes: root inside is root on the host (ID_BASE removed). The files
                     need no change either way. Only on a stopped container, with --save
  --capability NAME:on|off
                     add to or take from the default capability set (docs/security.md);
                     repeatable (CAPABILITY). With --save; applies from the next start.
                     A container gets no capability berth itself lacks
  --devnodes NAME:r|w|rw|none
                     give the container the host's /dev/NAME (fuse:rw, net/tun:rw), with
                     that access in the devices cgroup; none takes it back; repeatable
                     (DEVNODES). With --save; applies from the next start. An
                     unprivileged container gets a node of its own, owned by its root
  --features NAME:on|off[,...]
                     fuse (/dev/fuse, fuse mounts inside), tun (/dev/net/tun), nesting
                     (containers inside: an unmasked proc and sysfs at /dev/.berth, new UTS
                     and IPC namespaces; chkpnt may then fail, see docs/security.md);
                     repeatable (FEATURES). With --save; applies from
                     the next start. vzctl's other names are refused with the reason
  --bindmount_add SRC:DST[,ro][,noexec]
                     show host path SRC at DST inside (BINDMOUNT), always nosuid and nodev;
                     ro stays read-only inside. In an unprivileged container the mount is
                     idmapped: files of host root are the container root's, uid N is N.
                     SRC must exist and lie outside berth's own trees. Repeatable; with
                     --save, from the next start
  --bindmount_del DST|all
                     remove the bind mount at container path DST, or all of them
  --description TXT  free text (DESCRIPTION)
  --userpasswd USER:PASSWORD
                     set USER's password (and make USER when missing) with the container's
                     own useradd/adduser and chpasswd; repeatable. Never saved or logged; the
                     container must run. Mind the shell history: read it from a file, e.g.
                     --userpasswd "root:$(cat pwfile)"
  --ipadd IP         add a routed (venet0) address, IPv4 or IPv6; repeatable (IP_ADDRESS)
  --ipdel IP|all     remove an address, or all of them; repeatable
  --nameserver IP|inherit
                     resolvers for /etc/resolv.conf; repeatable, replaces the list;
                     "inherit" copies the host's (NAMESERVER)
  --searchdomain DOM search domains for /etc/resolv.conf; repeatable (SEARCHDOMAIN)
  --netif_add IFNAME[,MAC,HOST_IFNAME,HOST_MAC,BRIDGE]
                     add a bridged (veth) interface; empty fields get defaults: MACs are
                     generated once and saved, the host end is vethCTID.N (NETIF)
  --netif_del IFNAME|all
                     remove a bridged interface
  --ifname IFNAME    the bridged interface that these change: --mac MAC, --host_ifname NAME,
                     --host_mac MAC, --bridge BRIDGE, --ipadd A/LEN, --ipdel A/LEN|all,
                     --gw IP, --gw6 IP, --dhcp yes|no (then berth sets no address: the
                     container's own DHCP client does). Interface changes need --save; on
                     a running container they apply at once.
  --nat on|off       masquerade the private addresses (10/8, 172.16/12, 192.168/16,
                     100.64/10, fc00::/7) when they leave the host (NAT)
  --portfwd tcp|udp:HOSTPORT:CTPORT[:HOSTIP]
                     forward a host port to the container's first address of the family
                     (IPv4 and IPv6; only HOSTIP when given); repeatable (PORTFWD)
  --portfwd-del SPEC|all
                     remove a port forward, or all of them; repeatable
  --diskspace SOFT[:HARD]
                     disk space limit, KiB or with K, M, G, T suffixes (DISKSPACE). Only the
                     image layout enforces it (the image's size): growing works while the
                     container runs, shrinking needs it stopped. Always saved: the image
                     itself changes. Other layouts refuse it (exit 60).
  --diskinodes SOFT[:HARD]
                     inode limit (DISKINODES); an image's count is fixed when it is made
  --save             also save to the config file

Sizes take K, M, G, T suffixes; "unlimited" lifts a limit.
Addresses are routed: the container sees them on venet0 with a default route, the host routes
each one to the container and answers ARP/NDP for it on NEIGHBOUR_DEVS (berth.conf), and a
container cannot send from an address it was not given. See docs/networking.md.

Examples:
  berth set 101 --ram 256M --swap 128M --cpus 1 --numproc 200 --save
  berth set 101 --ipadd 192.0.2.10 --nameserver 192.0.2.53 --save
  berth set 200 --netif_add eth0,,,,br0 --save

Exit codes: 21 bad value, 70 bad hostname, 71 bad IP, 78 IP in use by another container,
72 bad nameserver, 73 bad search domain, 74 the password could not be set, 150 host port already forwarded, 31 not running (without --save),
60 the layout cannot enforce a disk limit, 62 the image could not be resized, 32 --privileged
on a running container.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('set', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const { save, ...opts } = values;
    const r = await setContainer(ctx, id, opts, save ?? false);
    // a --userpasswd alone changes no key: its own line said what it did
    if (Object.keys(r.keys).length === 0 && opts.userpasswd?.length) return 0;
    io.err(
      `${r.applied ? 'Applied' : 'Not running; not applied'}${r.saved ? ', saved' : ''}: ${Object.entries(r.keys)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    return 0;
  },
};
