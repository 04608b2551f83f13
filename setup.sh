#!/usr/bin/env bash
# Sets berth up on a Debian 12 or 13 host (idempotent): packages, npm deps, build (the `berth`
# executable, compiled by Bun), helper, PATH, config, and the embedded busybox template. With
# --demo it then runs the main job: a container "demo" from the busybox template, created and
# started if needed, shown in `berth list`. `--print-packages [12|13]` only prints the Debian
# packages setup would install on that release (test/setup.test.ts checks both).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
say() { printf 'setup: %s\n' "$*" >&2; }

# The Debian major release: 12 (bookworm), 13 (trixie); "trixie/sid" and the like count as 13.
debian_major() {
  local v
  v=$(cat /etc/debian_version 2>/dev/null || true)
  case "$v" in
    12.* | 12) echo 12 ;;
    13.* | 13 | trixie* ) echo 13 ;;
    *) say "not Debian 12 or 13 (/etc/debian_version: ${v:-missing}); trying Debian 13's package list"; echo 13 ;;
  esac
}

# Debian packages: the helper's build deps, the busybox template's source, template tools,
# nftables (IPv6 source filtering of routed containers), lxcfs, and Node.js + npm for the build
# and the test runner (berth itself runs without Node). The names are the same on 12 and 13
# (pkg-config is a transitional name on both: pkgconf is the package); what differs is the
# versions: nodejs 18.19 / 20.19, gcc 12 / 14 (checked: the helper and the test probes build
# with 14's -Werror in a debootstrapped trixie), lxcfs 5.0 / 6.0, libseccomp 2.5 / 2.6.
packages() {
  local common="gcc make libc6-dev libseccomp-dev pkgconf busybox-static zstd tar rsync debootstrap util-linux mount procps iproute2 nftables e2fsprogs attr acl lxcfs nodejs npm"
  case "$1" in
    12 | 13) echo "$common" ;;
    *) say "unknown Debian release $1"; return 1 ;;
  esac
}

# What only the tests need: Prometheus' promtool (checks berth's metrics) and server (scrapes
# berthd), chromium for the dashboard's browser test (driven by playwright-core from npm),
# containerd (and its runc shim), docker.io and podman to drive berth-oci as Kubernetes, Docker
# and Podman do. Debian 12 ships promtool in the prometheus package, 13 in a package of its own.
test_packages() {
  case "$1" in
    12) echo "prometheus chromium containerd docker.io podman" ;;
    13) echo "prometheus promtool chromium containerd docker.io podman" ;;
    *) say "unknown Debian release $1"; return 1 ;;
  esac
}

if [ "${1:-}" = "--print-packages" ]; then
  rel="${2:-$(debian_major)}"
  common=$(packages "$rel")
  tests=$(test_packages "$rel")
  echo "$common $tests"
  exit 0
fi

[ "$(id -u)" = 0 ] || { say "run as root (sudo ./setup.sh)"; exit 12; }

REL=$(debian_major)
# the packages of a list that are not installed
missing_of() { for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf ' %s' "$p"; done; }
missing=$(missing_of $(packages "$REL"))
test_missing=$(missing_of $(test_packages "$REL"))
# a Node.js from elsewhere (nodesource, nvm) serves as well as Debian's
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then missing=$(printf '%s\n' $missing | grep -vx -e nodejs -e npm | tr '\n' ' ' || true); fi
[ -z "${missing// /}${test_missing// /}" ] || apt-get update -qq
if [ -n "${missing// /}" ]; then
  say "installing: $missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# prometheus, containerd, docker and podman are services: installed for the tests, which start their own, they must not start
# (without systemd its init script would, from the package's postinst) nor come up at boot.
# A policy-rc.d that refuses every start, unless the host has one of its own (containers do).
if [ -n "${test_missing// /}" ]; then
  say "installing for the tests:$test_missing (its service stays off)"
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $test_missing >/dev/null
  [ -z "$own_policy" ] || { rm -f "$policy"; trap - EXIT; }
  # one unit at a time: a name that this release's packages lack fails only its own disable
  if [ -d /run/systemd/system ]; then
    for unit in prometheus.service containerd.service docker.service docker.socket podman.service podman.socket \
      podman-restart.service podman-auto-update.timer; do
      systemctl disable --quiet "$unit" 2>/dev/null || true
    done
  fi
fi
# Node builds berth and runs the tests: >= 18.19 (node:test, parseArgs); Debian 12 has 18.19, 13 has 20.19
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>18||(a===18&&b>=19)?0:1)' || {
  say "Node $(node --version) is too old: building berth needs Node.js 18.19 or newer (apt-get install nodejs)"; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dev dependencies (typescript, biome)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
# Bun's x86-64 build (the executable's runtime) needs AVX2; other CPUs get the -baseline build of
# the same version (build/bun picks it)
if [ "$(uname -m)" = x86_64 ] && ! grep -qw avx2 /proc/cpuinfo && [ ! -x node_modules/@oven/bun-linux-x64-baseline/bin/bun ]; then
  v=$(node -p 'require("./package.json").devDependencies["@oven/bun-linux-x64"]')
  say "this CPU has no AVX2: installing Bun's baseline build $v"
  npm install --no-save --no-audit --no-fund --loglevel=error "@oven/bun-linux-x64-baseline@$v" >/dev/null
fi
say "building (tsc + dashboard + helper)"
npx tsc -p . && npm run -s ui
make -s -C helper
# the executable: bun build --compile (about 2 s), skipped when tsc's output and Bun are unchanged
inputs=$( (find dist/src -name '*.js' | LC_ALL=C sort | xargs cat; grep '"compile"' package.json; build/bun --version; build/bun --revision) | sha256sum)
if [ ! -x bin/berth ] || [ "$(cat bin/.berth.inputs 2>/dev/null)" != "$inputs" ]; then
  say "compiling bin/berth (bun build --compile)"
  npm run -s compile >/dev/null
  echo "$inputs" > bin/.berth.inputs
fi

ln -sf "$PWD/bin/berth" /usr/local/bin/berth
# the OCI runtime: a small client that hands each call to berth-oci's server, or runs the
# executable as berth-oci itself (docs/oci.md, "The call server")
ln -sf "$PWD/helper/berth-oci" /usr/local/bin/berth-oci
# no host user but root may reach a container's files or berth's state: its directories are 0700,
# also in an install made by an older berth (docs/on-disk.md, "Modes"); berth repairs them too
own="/var/lib/berth/private /var/lib/berth/root /var/lib/berth/template /var/lib/berth/snapshots /var/lib/berth/backup /var/lib/berth/lock /var/log/berth /run/berth"
mkdir -p /etc/berth/ct $own /var/lib/berth/template/cache
# /run/berth stays 0710 root:berth-admin where berth daemon made it so (its socket is there)
[ "$(stat -c %a:%G /run/berth)" = "710:berth-admin" ] && own="${own% /run/berth}"
chmod 0700 $own
# members of berth-admin may use berthd's socket (docs/api.md: root's equals through the API)
getent group berth-admin >/dev/null || groupadd --system berth-admin
[ -f /etc/berth/berth.conf ] || cp etc/berth.conf /etc/berth/berth.conf
[ -f /etc/berth/ct/ve-basic.conf-sample ] || cp etc/ve-basic.conf-sample /etc/berth/ct/ve-basic.conf-sample
# boot-time start: berth.service runs `berth boot` / `berth shutdown` (ONBOOT, BOOTORDER);
# berthd.service runs `berth daemon` (the API: docs/api.md); berth-oci.service runs
# `berth-oci serve` (OCI calls in warm workers: docs/oci.md)
for unit in berth.service berthd.service berth-oci.service; do
  case $unit in berth.service) by_hand="berth boot" ;; berthd.service) by_hand="berth daemon" ;; *) by_hand="berth-oci serve --detach" ;; esac
  if [ -d /etc/systemd/system ] && ! cmp -s "etc/$unit" "/etc/systemd/system/$unit"; then
    cp "etc/$unit" "/etc/systemd/system/$unit"
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload && systemctl enable "$unit" >/dev/null 2>&1 && say "$unit installed and enabled"
    else
      say "$unit installed (systemd is not PID 1 here: run $by_hand by hand)"
    fi
  fi
done
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
# CRIU 4.2+ for checkpoint/restore at /usr/local/lib/berth/criu/sbin/criu (built once, cached). Only
# checkpoints need it: when it cannot be had (a mirror without sid, sid moved past the pin), setup
# says so and goes on, and the tests that need CRIU skip, saying why.
./setup-criu.sh || say "note: CRIU 4.2+ is not installed (see above): checkpoint and restore are unavailable; the rest of berth is not affected"
say "ready: $(berth version)"

if [ "${1:-}" = "--demo" ]; then
  berth status demo | grep -q ' exist ' || berth create demo --ostemplate busybox --hostname demo
  berth status demo | grep -q ' running' || berth start demo
  berth exec demo -- ps
  berth list
fi
