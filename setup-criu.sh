#!/usr/bin/env bash
# Makes CRIU 4.2 or newer available to berth at /usr/local/lib/berth/criu/sbin/criu (issue 17),
# leaving the system's /usr/sbin/criu alone, and prints its version. setup.sh runs it; it is
# idempotent and may be run by itself (as root).
# Why 4.2: Debian 12's criu 3.17 fails on current kernels (`vdso: Failed to fill self vdso
# symtable`), and 4.1.1 (Debian 13's) cannot dump a TCP or UDP socket on Linux 6.16 and later,
# which refuses SO_PASSCRED/SO_PASSSEC on them (`Can't get 1:16 opt`, CRIU issues 2705/2718;
# docs/design/criu-recipe.md); every systemd container has such a socket.
# - A release whose criu package is 4.2 or newer: that package; berth's criu is a symlink to
#   /usr/sbin/criu (not a copy), so the package's updates reach berth.
# - Otherwise (Debian 12 and 13 today): sid's source package is built: criu_4.2.1.orig.tar.xz,
#   pinned below and checked against sid's signed Sources index, plus Debian's patches when the
#   mirror serves the .debian.tar.xz, then berth's own (build/criu/). The installed tree is cached in /var/cache/berth-criu/KEY/,
#   KEY being a hash of everything the build depends on (key_inputs); berth's path is a symlink
#   to that tree, so a later run whose key matches only checks the link (milliseconds).
set -euo pipefail
say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "criu: $*"; exit 1; }

PREFIX=/usr/local/lib/berth/criu
CACHE=/var/cache/berth-criu
# sid's criu source, pinned as a lockfile pins: the key is computed without the network, and a
# changed file in the archive fails the download instead of changing what is built. When sid
# moves on, the pinned file leaves its index: the download then stops with a message naming this
# pin (update it to the new version and its sha256 from the index).
CRIU_VERSION=4.2.1
DEBIAN_VERSION=4.2.1-1
SOURCE_SUITE=sid
ORIG=criu_$CRIU_VERSION.orig.tar.xz
ORIG_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
PATCHES=criu_$DEBIAN_VERSION.debian.tar.xz
PATCHES_SHA256=e9f797a19f0e7dd66d480bea47f2ef261b3d9aee6bab5059882c0074b1b84d2d
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# berth's own patches, applied after Debian's in name order; each says at its top what it changes
# and why (today: lazy pages for unprivileged containers, docs/design/criu-recipe.md §8.2)
OWN_PATCHES=$(dirname "$(readlink -f "$0")")/build/criu
# what `make criu` uses (no python, which only crit needs): upstream's images/Makefile runs
# `protoc --c_out` (protobuf-compiler, with protobuf-c-compiler's protoc-gen-c plugin); Debian's
# patches switch it to protoc-c, but a mirror may not serve them, so both are installed;
# libprotobuf-dev brings google/protobuf/descriptor.proto
BUILD_DEPS="gcc make libc6-dev pkgconf patch xz-utils libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
  libnl-3-dev libnet1-dev libcap-dev libbsd-dev libnftables-dev libgnutls28-dev uuid-dev"

# Points PREFIX at a tree (a symlink swapped by rename, so berth never sees it missing).
point_at() {
  local tree=$1
  [ "$(readlink "$PREFIX" 2>/dev/null || true)" = "$tree" ] && return 0
  if [ -e "$PREFIX" ] && [ ! -L "$PREFIX" ]; then
    die "$PREFIX exists and is not berth's symlink: move it away and rerun"
  fi
  mkdir -p "$(dirname "$PREFIX")"
  ln -sfn "$tree" "$PREFIX.new"
  mv -T "$PREFIX.new" "$PREFIX"
}

# Prints "MAJOR.MINOR" of a criu binary (`Version: 4.1.1` on its first line).
criu_version() { { "$1" --version 2>/dev/null || true; } | sed -n 's/^Version: \([0-9]*\.[0-9]*\).*/\1/p'; }
at_least_4_2() { local v=$1; [ -n "$v" ] && [ "${v%%.*}" -gt 4 ] || { [ "${v%%.*}" = 4 ] && [ "${v#*.}" -ge 2 ]; }; }
# "MAJOR.MINOR" of the criu package apt would install ("" if none): 1:4.2.1-1 -> 4.2
package_version() {
  apt-cache policy criu 2>/dev/null | awk '/Candidate:/ { print $2 }' | sed -n 's/^\([0-9]*:\)\{0,1\}\([0-9]*\.[0-9]*\).*/\2/p'
}

# the listed packages that are not installed
missing_of() {
  local installed p
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null | awk '$2 == "installed" { print $1 }' || true)
  for p in "$@"; do grep -qx "$p" <<<"$installed" || printf ' %s' "$p"; done
}

apt_install() {
  say "criu: installing $*"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed"
}

# A release whose criu package is 4.2 or newer: that package (installed or upgraded to it).
use_package() {
  at_least_4_2 "$(criu_version /usr/sbin/criu)" || apt_install criu
  mkdir -p "$CACHE/debian/sbin"
  [ "$(readlink "$CACHE/debian/sbin/criu" 2>/dev/null || true)" = /usr/sbin/criu ] || ln -sfn /usr/sbin/criu "$CACHE/debian/sbin/criu"
  point_at "$CACHE/debian"
}

# Everything the build's result depends on; its hash names the cache entry. The recipe is the
# text of the functions that fetch and build (declare -f), so editing a message elsewhere in
# this file does not rebuild.
key_inputs() {
  printf 'arch %s\nprefix %s\n' "$(dpkg --print-architecture)" "$PREFIX"
  printf 'source %s sha256 %s\npatches %s sha256 %s (used if the mirror serves them)\n' \
    "$ORIG" "$ORIG_SHA256" "$PATCHES" "$PATCHES_SHA256"
  printf 'compiler %s\nlinker %s\n' "$(gcc --version | head -n 1)" "$(ld --version | head -n 1)"
  # shellcheck disable=SC2086
  dpkg-query -W -f='package ${Package} ${Version}\n' $BUILD_DEPS
  (cd "$OWN_PATCHES" && sha256sum -- *.patch) | sed 's/^/own patch /'
  declare -f fetch_source apply_patches apply_own_patches build_tree | sha256sum | sed 's/^/recipe /; s/ *-$//'
}

# The archive mirror the host's apt uses for its own release (the same host, another suite).
host_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk -v r="$codename" '$2 == r { print $1; exit }'
}

# Downloads the pinned files into $1, checked against trixie's Sources index, which apt fetches
# into a private state directory (the host's sources and lists stay as they are) and verifies
# against the archive's signature.
fetch_source() {
  local dir=$1 mirror apt listed
  mirror=$(host_mirror)
  mirror=${mirror:-http://deb.debian.org/debian/}
  mkdir -p "$dir/apt/lists/partial" "$dir/apt/parts" "$dir/apt/cache/archives/partial"
  echo "deb-src [signed-by=$KEYRING] $mirror $SOURCE_SUITE main" >"$dir/apt/sources.list"
  apt=(-o "Dir::Etc::SourceList=$dir/apt/sources.list" -o "Dir::Etc::SourceParts=$dir/apt/parts"
    -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Dir::Cache::pkgcache=
    -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
  say "criu: reading $SOURCE_SUITE's Sources index from $mirror"
  apt-get "${apt[@]}" update -qq >&2 || die "apt-get update of $SOURCE_SUITE's Sources ($mirror) failed"
  # "SHA256 DIRECTORY" of the first source record listing ORIG (Directory comes after the checksums)
  listed=$(apt-cache "${apt[@]}" showsrc --only-source criu 2>/dev/null | awk -v f="$ORIG" '
    function out() { if (sha != "" && d != "" && !done) { print sha, d; done = 1 } sha = d = "" }
    /^$/ { out() } /^Directory:/ { d = $2 } /^Checksums-Sha256:/ { c = 1; next } /^[^ ]/ { c = 0 }
    c && $3 == f { sha = $1 } END { out() }')
  [ -n "$listed" ] || die "$SOURCE_SUITE's Sources index lists no $ORIG: update the pin in $0"
  [ "${listed%% *}" = "$ORIG_SHA256" ] ||
    die "$ORIG: the Sources index says sha256 ${listed%% *}, $0 pins $ORIG_SHA256"
  local pool=$mirror${listed#* }
  /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$pool/$ORIG" "$dir/$ORIG" "SHA256:$ORIG_SHA256" >&2 ||
    die "download of $pool/$ORIG failed"
  echo "$ORIG_SHA256  $dir/$ORIG" | sha256sum -c --quiet - || die "$ORIG: sha256 mismatch"
  # Debian's packaging is optional: a file the mirror does not have (404: some mirrors carry only
  # what binaries need) is said and skipped; any other failure, a hash mismatch too, stops here
  local out
  if ! out=$(/usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$pool/$PATCHES" "$dir/$PATCHES" \
    "SHA256:$PATCHES_SHA256" 2>&1); then
    case "$out" in
      *" 404 "*) say "criu: $pool/$PATCHES is not on this mirror: building without Debian's patches" ;;
      *) die "download of $pool/$PATCHES failed: $(printf '%s\n' "$out" | grep -m1 '^E:' || echo "$out")" ;;
    esac
    rm -f "$dir/$PATCHES"
  fi
}

# Applies debian/patches/series from Debian's tarball to the source tree $2 (a quilt series, so
# plain `patch -p1` in order). Prints what was applied: "none (...)" or the patch names.
apply_patches() {
  local dir=$1 src=$2 series p applied=""
  [ -f "$dir/$PATCHES" ] || { echo "none ($PATCHES not on the mirror)"; return 0; }
  tar -xf "$dir/$PATCHES" -C "$dir"
  series=$dir/debian/patches/series
  [ -s "$series" ] || { echo "none (Debian's $DEBIAN_VERSION has no patches)"; return 0; }
  for p in $(sed 's/#.*//' "$series"); do
    patch -d "$src" -p1 -s --forward <"$dir/debian/patches/$p" >&2 || die "Debian's patch $p does not apply"
    applied="$applied $p"
  done
  echo "${applied# }"
}

# Applies berth's patches to the source tree $1; prints their names.
apply_own_patches() {
  local src=$1 p applied=""
  for p in "$OWN_PATCHES"/*.patch; do
    patch -d "$src" -p1 -s --forward <"$p" >&2 || die "berth's patch $(basename "$p") does not apply to $CRIU_VERSION"
    applied="$applied $(basename "$p")"
  done
  echo "${applied# }"
}

# Builds criu (the binary only: no crit, libcriu or plugins) from the source in $1 and installs it
# for PREFIX under $2. PREFIX is compiled in (plugin and script directories).
build_tree() {
  local src=$1 dest=$2
  make -C "$src" -j"$(nproc)" PREFIX="$PREFIX" criu
  make -C "$src" PREFIX="$PREFIX" DESTDIR="$dest" install-criu
}

# Debian 12: build once per key, into a temporary directory renamed into place when complete,
# so a run killed at any point leaves no entry that a later run would trust.
use_build() {
  local missing key entry work
  # shellcheck disable=SC2086
  missing=$(missing_of $BUILD_DEPS)
  # shellcheck disable=SC2086
  [ -z "$missing" ] || apt_install $missing
  key=$(key_inputs | sha256sum | cut -c1-20) || die "computing the cache key failed (dpkg-query, gcc or ld)"
  entry=$CACHE/$key
  if [ ! -x "$entry/sbin/criu" ]; then
    work=$(mktemp -d "$CACHE/.build.XXXXXX")
    trap "rm -rf '$work'" EXIT
    fetch_source "$work"
    tar -xf "$work/$ORIG" -C "$work"
    local src=$work/criu-$CRIU_VERSION patches own started=$SECONDS
    patches=$(apply_patches "$work" "$src")
    own=$(apply_own_patches "$src")
    say "criu: building $CRIU_VERSION, about a minute; Debian's patches: $patches; berth's: $own"
    build_tree "$src" "$work/dest" >"$work/build.log" 2>&1 || {
      cp "$work/build.log" "$CACHE/last-build.log"
      tail -n 15 "$CACHE/last-build.log" >&2
      die "build of $CRIU_VERSION failed (log: $CACHE/last-build.log)"
    }
    local tree=$work/dest$PREFIX
    at_least_4_2 "$(criu_version "$tree/sbin/criu")" || die "the built $tree/sbin/criu does not run or is not 4.2+"
    { key_inputs; echo "patches applied: $patches; berth's: $own"; echo "built $(date -u +%FT%TZ) in $((SECONDS - started)) s"; } >"$tree/BUILDINFO"
    mv -T "$tree" "$entry"
    rm -rf "$work"
    trap - EXIT
    rm -f "$CACHE/last-build.log" # an earlier failure's, no longer the story
    say "criu: built in $((SECONDS - started)) s, cached in $entry"
  fi
  point_at "$entry"
  # entries of other keys are unreachable now (the link moved); the binary of one still running keeps working
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{20}' \
    ! -name "$key" -exec rm -rf {} +
}

[ "$(id -u)" = 0 ] || { say "run as root"; exit 12; }
[ -r /etc/debian_version ] || die "not Debian (no /etc/debian_version)"
mkdir -p "$CACHE"
# one run at a time; a run holding the lock owns the temporary build directories, so what is
# left of them after it got the lock is a killed run's and goes (that run's orphaned make, if
# any, inherited the lock's fd: the wait lasts until it ends)
exec 9>"$CACHE/.lock"
flock -n 9 || { say "criu: waiting for another setup-criu.sh"; flock 9; }
rm -rf "$CACHE"/.build.*

if at_least_4_2 "$(package_version)"; then use_package; else use_build; fi

version=$(criu_version "$PREFIX/sbin/criu")
at_least_4_2 "$version" || die "$PREFIX/sbin/criu is not CRIU 4.2 or newer (version: ${version:-none})"
say "criu $("$PREFIX/sbin/criu" --version | sed -n 's/^Version: //p') at $PREFIX/sbin/criu"
