#!/usr/bin/env bash
# Sets berth up on a Debian 12 host (idempotent): packages, npm deps, build, helper, PATH, config,
# and the embedded busybox template. With --demo it then runs the main job: a container "demo"
# from the busybox template, created and started if needed, shown in `berth list`.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
say() { printf 'setup: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { say "run as root (sudo ./setup.sh)"; exit 12; }

# Node: berth needs >= 18.19 (node:test, parseArgs); Debian 12's own nodejs is 18.19.
if ! command -v node >/dev/null 2>&1; then
  say "installing Debian's nodejs and npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>18||(a===18&&b>=19)?0:1)' || {
  say "Node $(node --version) is too old: berth needs Node.js 18.19 or newer (Debian 12: apt-get install nodejs)"; exit 1; }

# Debian packages: the helper's build deps, the busybox template's source, template tools,
# nftables (IPv6 source filtering of routed containers).
PKGS="gcc make libc6-dev libseccomp-dev pkg-config busybox-static zstd tar debootstrap util-linux procps iproute2 nftables e2fsprogs attr acl lxcfs"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=" $p"; done
if [ -n "$missing" ]; then
  say "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dev dependencies (typescript, biome)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
say "building (tsc + helper)"
npx tsc -p . && npm run -s bundle
make -s -C helper

ln -sf "$PWD/bin/berth" /usr/local/bin/berth
# no host user but root may reach a container's files or berth's state: its directories are 0700,
# also in an install made by an older berth (docs/on-disk.md, "Modes"); berth repairs them too
own="/var/lib/berth/private /var/lib/berth/root /var/lib/berth/template /var/lib/berth/snapshots /var/lib/berth/backup /var/lib/berth/lock /var/log/berth /run/berth"
mkdir -p /etc/berth/ct $own /var/lib/berth/template/cache
chmod 0700 $own
[ -f /etc/berth/berth.conf ] || cp etc/berth.conf /etc/berth/berth.conf
[ -f /etc/berth/ct/ve-basic.conf-sample ] || cp etc/ve-basic.conf-sample /etc/berth/ct/ve-basic.conf-sample
# boot-time start: berth.service runs `berth boot` / `berth shutdown` (ONBOOT, BOOTORDER)
if [ -d /etc/systemd/system ] && ! cmp -s etc/berth.service /etc/systemd/system/berth.service; then
  cp etc/berth.service /etc/systemd/system/berth.service
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload && systemctl enable berth.service >/dev/null 2>&1 && say "berth.service installed and enabled"
  else
    say "berth.service installed (systemd is not PID 1 here: run berth boot / berth shutdown by hand)"
  fi
fi
# rebuilt every time (about a second): it always matches this berth and Debian's busybox
say "building the embedded busybox template"
berth template create busybox >/dev/null
# Host tuning (skip with BERTH_NO_TUNING=1): cgroup2's favordynmods makes task migrations
# between cgroups cheap. Without it the first migration after an idle spell waits for an RCU
# grace period (15-25 ms here), which every `berth start` and `berth exec` pays. The option
# lasts until reboot; see docs/performance.md.
if [ "${BERTH_NO_TUNING:-}" != 1 ]; then
  cg2=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
  if [ -n "$cg2" ] && ! findmnt -rn -o OPTIONS "$cg2" | grep -q favordynmods; then
    if mount -o remount,favordynmods "$cg2" 2>/dev/null; then
      say "tuned: $cg2 remounted with favordynmods (faster start/exec; docs/performance.md)"
    else
      say "note: could not set favordynmods on $cg2 (needs Linux 6.0+); start/exec will be slower"
    fi
  fi
fi
say "ready: $(berth version)"

if [ "${1:-}" = "--demo" ]; then
  berth status demo | grep -q ' exist ' || berth create demo --ostemplate busybox --hostname demo
  berth status demo | grep -q ' running' || berth start demo
  berth exec demo -- ps
  berth list
fi
