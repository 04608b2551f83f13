#!/usr/bin/env bash
# Builds the pure cgroup v2 guest for test/vm/run-v2.sh once and caches it, keyed by its inputs
# (this script: suite, package list): prints the cache directory holding vmlinuz, initrd.img
# and root.img. A minimal Debian bookworm root with Debian's kernel and what berth runs at run time.
set -euo pipefail
say() { printf 'vm-image: %s\n' "$*" >&2; }
SUITE=bookworm
MIRROR="${BERTH_VM_MIRROR:-http://deb.debian.org/debian}"
# the kernel and its initramfs tools, kmod (fuse, overlay, veth are modules), what berth runs (setup.sh's
# run-time share: tar zstd rsync util-linux mount procps iproute2 nftables e2fsprogs attr acl lxcfs
# busybox-static), fuse3 for lxcfs
PKGS="linux-image-amd64 initramfs-tools kmod busybox-static zstd tar rsync util-linux mount procps iproute2 nftables e2fsprogs attr acl lxcfs fuse3"
CACHE="${BERTH_VM_CACHE:-/var/cache/berth-vm}"
key=$(sha256sum < "$0" | cut -c1-12)
dir="$CACHE/$key"
if [ -f "$dir/root.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then echo "$dir"; exit 0; fi
[ "$(id -u)" = 0 ] || { say "run as root"; exit 12; }
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
say "debootstrap $SUITE into $work/root (a few minutes, once per key $key)"
debootstrap --variant=minbase --include="${PKGS// /,}" "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
r="$work/root"
cp "$r"/boot/vmlinuz-* "$work/vmlinuz"
cp "$r"/boot/initrd.img-* "$work/initrd.img"
# the guest never needs these: smaller image, faster mkfs
rm -rf "$r"/boot/* "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/* "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/*
# the real init comes with each run's payload disk (test/vm/guest-init), so changing it needs no rebuild
printf '%s\n' '#!/bin/sh' 'mount -t devtmpfs dev /dev' 'mount -o ro /dev/vdb /payload && exec /payload/init' \
  'echo "BERTH-VM-EXIT: 98 (no payload disk)"; echo o > /proc/sysrq-trigger' > "$r/sbin/berth-vm-init"
chmod 0755 "$r/sbin/berth-vm-init"
echo berth-vm > "$r/etc/hostname"
mkdir -p "$r/payload" "$r/var/lib/berth" "$r/etc/berth"
# root.img: the root plus room for containers' trees (ext4, sparse)
mkfs.ext4 -q -F -L berthvm -d "$r" "$work/root.img" 6G >/dev/null
rm -rf "$r"
mv "$work" "$work.done" && trap - EXIT
rm -rf "$dir" && mv "$work.done" "$dir"
# images of older keys are of no further use (about 1 GB each)
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{12}' ! -name "$key" -exec rm -rf {} +
say "built $dir in $(($(date +%s) - t0)) s (kernel $(file -b "$dir/vmlinuz" | grep -o 'version [^ ]*' || true))"
echo "$dir"
