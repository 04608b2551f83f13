#!/bin/bash
# The pure cgroup v2 checks, run by the guest's init (test/vm/guest-init) with berth's real
# executable and helper from the payload disk: lifecycle, live limits (OOM kill, fork bomb held),
# lxcfs, an unprivileged container and a debian-12 boot. Prints "ok"/"FAIL" lines; exits 1 on any FAIL.
set -uo pipefail
P=/payload
fails=0
t0=$SECONDS
# verdicts go to fd 3 (the console), also from inside a redirected call
exec 3>&1
ok() { echo "ok   $*" >&3; }
fail() { echo "FAIL $*" >&3; fails=$((fails + 1)); }
# check NAME CMD...: passes when CMD succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else fail "$n"; fi; }
# bq ARGS: berth that must succeed, its output on stdout; a failure is recorded with its stderr
bq() { local out; if out=$(berth "$@" 2>/tmp/err); then printf '%s' "$out"; else fail "berth $* -> $(tail -3 /tmp/err)"; return 1; fi; }
step() { echo "== $* (+$((SECONDS - t0))s)" >&3; }
# a stuck command shows itself: berth's processes every 2 minutes
(while sleep 120; do echo "-- still running:" && ps -eo pid,etime,args | grep -E '[b]erth|[s]ystemd' | cut -c1-160; done >&3) &
watch=$!
cg() { cat "/sys/fs/cgroup/berth/$1" 2>/dev/null; }

# what setup.sh installs
ln -sf $P/bin/berth /usr/local/bin/berth
mkdir -p /etc/berth/ct /var/lib/berth/template/cache
cp $P/etc/berth.conf /etc/berth/berth.conf
cp $P/etc/ve-basic.conf-sample /etc/berth/ct/
[ -f $P/debian-12.tar.zst ] && cp $P/debian-12.tar.zst /var/lib/berth/template/cache/

step "host: pure cgroup v2"
check "only cgroup2 is mounted" test "$(awk '$3 ~ /^cgroup/ {print $3" "$2}' /proc/mounts)" = "cgroup2 /sys/fs/cgroup"
# the init enables none in the root: berth must enable what it needs itself (checked after start)
check "kernel offers cpu cpuset memory pids io" bash -c 'for c in cpu cpuset memory pids io; do grep -qw $c /sys/fs/cgroup/cgroup.controllers || exit 1; done'
echo "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"

step "busybox template, create, start, exec (privileged)"
bq template create busybox >/dev/null
bq create 101 --ostemplate busybox --privileged yes >/dev/null
bq start 101 >/dev/null
check "exec runs inside" test "$(bq exec 101 -- echo hi)" = hi
check "the container's init is in the inner cgroup" test -n "$(cg 101/ns/cgroup.procs)"
check "the limits level holds no process" test -z "$(cg 101/cgroup.procs)"
check "controllers handed to the inner cgroup" grep -qw memory /sys/fs/cgroup/berth/101/cgroup.subtree_control
check "the container sees cgroup2 at /sys/fs/cgroup" bash -c "berth exec 101 -- cat /proc/self/mountinfo | grep -q ' /sys/fs/cgroup .* - cgroup2 '"
check "status says running" bash -c "berth status 101 | grep -q running"
for c in cpu cpuset memory pids io; do
  check "berth enabled $c in the root and berth/" grep -qw $c /sys/fs/cgroup/cgroup.subtree_control /sys/fs/cgroup/berth/cgroup.subtree_control
done

step "live --ram 64M --swap 0: OOM kill inside, the container lives on"
bq set 101 --ram 64M --swap 0 >/dev/null
check "memory.max 64M" test "$(cg 101/memory.max)" = 67108864
check "memory.swap.max 0" test "$(cg 101/memory.swap.max)" = 0
out=$(berth exec 101 -- sh -c 'head -c 200m /dev/zero | tail; echo "tail=$?"' 2>&1)
check "the allocation is OOM-killed ($out)" grep -q 'tail=137' <<<"$out"
check "memory.events counts the oom_kill" bash -c "grep -Eq '^oom_kill [1-9]' /sys/fs/cgroup/berth/101/memory.events"
check "still running after the OOM kill" test "$(bq list -H -o ctid,status | tr -s ' ')" = "101 running"
stat=$(bq stat 101 --json)
stat=$(tr -d ' \n' <<<"$stat")
check "stat: physpages limit 16384" grep -Eq '"resource":"physpages"[^}]*"limit":16384' <<<"$stat"
check "stat: oomkills held >= 1 ($stat)" grep -Eq '"resource":"oomkills"[^}]*"held":[1-9]' <<<"$stat"

step "lxcfs: the container's /proc shows its limits"
mem=$(berth exec 101 -- awk '/MemTotal/ {print $2}' /proc/meminfo)
check "MemTotal is 64M inside ($mem kB)" test "$mem" = 65536
check "SwapTotal is 0 inside" test "$(berth exec 101 -- awk '/SwapTotal/ {print $2}' /proc/meminfo)" = 0
# lxcfs's own cgroup2 mount resets the superblock's flags; berth puts them back
opts=$(findmnt -rn -o OPTIONS /sys/fs/cgroup)
check "the host's cgroup2 keeps nsdelegate,memory_recursiveprot ($opts)" grep -q 'nsdelegate.*memory_recursiveprot' <<<"$opts"

step "live --cpus 1"
bq set 101 --cpus 1 >/dev/null
check "cpu.max 100% of one CPU ($(cg 101/cpu.max))" test "$(cg 101/cpu.max)" = "100000 100000"
check "cpuset.cpus one CPU ($(cg 101/cpuset.cpus))" grep -Eqx '[0-9]+' <<<"$(cg 101/cpuset.cpus)"
check "nproc inside is 1" test "$(berth exec 101 -- nproc)" = 1
bq set 101 --cpus 2 >/dev/null
check "widened live to 2 CPUs" test "$(berth exec 101 -- nproc)" = 2

step "live --numproc 64: a fork bomb is held"
bq set 101 --numproc 64 >/dev/null
check "pids.max 64" test "$(cg 101/pids.max)" = 64
s0=$SECONDS
out=$(timeout 120 berth exec 101 -- sh -c 'bomb() { bomb | bomb & }; bomb; sleep 2; ps | wc -l' 2>/dev/null)
check "refused forks counted in pids.events ($(cg 101/pids.events | tr '\n' ' '))" bash -c "grep -Eq '^max [1-9]' /sys/fs/cgroup/berth/101/pids.events || grep -Eq '^max [1-9]' /sys/fs/cgroup/berth/101/ns/pids.events"
check "at most 64 tasks inside ($(cg 101/pids.current), ps saw ${out//$'\n'/ })" test "$(cg 101/pids.current)" -le 64
check "the host answers while it runs ($((SECONDS - s0))s)" test $((SECONDS - s0)) -lt 100
row=$(bq list --json -o ctid,numproc.l,numproc.f)
row=$(tr -d ' \n' <<<"$row")
check "list: numproc.f counts refused forks ($row)" grep -Eq '"numproc.f":[1-9]' <<<"$row"
check "stop --fast stops a bombed container" bash -c "berth stop --fast 101 >/dev/null"
check "stopped: its cgroup is gone" test ! -e /sys/fs/cgroup/berth/101

step "start again, stop, destroy"
bq start 101 >/dev/null && check "restarted without the unsaved --ram ($(cg 101/memory.max))" test "$(cg 101/memory.max)" != 67108864
bq stop 101 >/dev/null
bq destroy 101 >/dev/null

step "unprivileged container (user namespace, dir layout), delegated cgroup"
bq create 102 --ostemplate busybox --layout dir >/dev/null
bq set 102 --ram 128M --numproc 100 --save >/dev/null
bq start 102 >/dev/null
check "root inside is mapped" bash -c "berth exec 102 -- cat /proc/self/uid_map | awk '\$1==0 && \$2!=0 {m=1} END {exit !m}'"
owner=$(stat -c %u /sys/fs/cgroup/berth/102/ns)
check "the inner cgroup belongs to the container's root ($owner)" test -n "$owner" -a "$owner" != 0
check "the limits level stays root's" test "$(stat -c %u /sys/fs/cgroup/berth/102/memory.max)" = 0
check "its root can make a sub-cgroup" berth exec 102 -- sh -c 'mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs'
check "but cannot raise its limit" bash -c "! berth exec 102 -- sh -c 'echo max > /sys/fs/cgroup/../memory.max' 2>/dev/null && test \"\$(cat /sys/fs/cgroup/berth/102/memory.max)\" = 134217728"
check "lxcfs: MemTotal 128M inside" test "$(berth exec 102 -- awk '/MemTotal/ {print $2}' /proc/meminfo)" = 131072
check "pids.max 100" test "$(cg 102/pids.max)" = 100
check "stop removes the sub-cgroup too" bash -c "berth stop 102 >/dev/null && test ! -e /sys/fs/cgroup/berth/102"
bq destroy 102 >/dev/null

step "unprivileged container on the overlay layout (idmapped layers)"
bq create 104 --ostemplate busybox --layout overlay >/dev/null
if bq start 104 >/dev/null; then
  check "exec in the overlay container" test "$(berth exec 104 -- id -u)" = 0
  bq stop 104 >/dev/null
else
  dmesg | grep -i overlay | tail -5
fi
bq destroy 104 >/dev/null

step "berth-oci: a system container on pure cgroup v2"
ln -sf $P/bin/berth /usr/local/bin/berth-oci
# on the guest's ext4 root: its /tmp is a tmpfs, which Linux 6.1 cannot idmap
ob=$(mktemp -d /var/tmp/oci-XXXXXX)
mkdir -p "$ob/rootfs" && tar --zstd -xf /var/lib/berth/template/cache/busybox.tar.zst -C "$ob/rootfs"
# runc's default spec, edited: no terminal, a writable root, sleep, a memory limit, a cgroup path
(cd "$ob" && berth-oci spec) && sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"readonly": true/"readonly": false/' \
  -e 's/^\t\t\t"sh"$/\t\t\t"sleep", "300"/' -e 's/^\t\t"resources": {$/\t\t"cgroupsPath": "\/berth-oci\/v2",\n\t\t"resources": {"memory": {"limit": 100663296},/' "$ob/config.json"
if berth-oci --root /run/oci-v2 create --bundle "$ob" v2 </dev/null >/dev/null 2>/tmp/err && berth-oci --root /run/oci-v2 start v2; then
  opid=$(berth-oci --root /run/oci-v2 state v2 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
  check "its root is an unprivileged host uid" awk '$1==0 && $2>=1048576 {m=1} END {exit !m}' /proc/$opid/uid_map
  check "lxcfs: MemTotal 96M inside" test "$(berth-oci --root /run/oci-v2 exec v2 awk '/MemTotal/ {print $2}' /proc/meminfo)" = 98304
  check "its root can make a sub-cgroup" berth-oci --root /run/oci-v2 exec v2 sh -c 'mkdir /sys/fs/cgroup/sub && rmdir /sys/fs/cgroup/sub'
  check "delete --force leaves no cgroup" bash -c "berth-oci --root /run/oci-v2 delete --force v2 && test ! -e /sys/fs/cgroup/berth-oci/v2"
else
  fail "berth-oci create: $(tail -3 /tmp/err)"
fi
rm -rf "$ob"

if [ -f /var/lib/berth/template/cache/debian-12.tar.zst ]; then
  step "debian-12 boots systemd (unprivileged)"
  s0=$SECONDS
  bq create 103 --ostemplate debian-12 --hostname deb --layout dir >/dev/null
  bq set 103 --ram 512M --cpus 1 --save >/dev/null
  echo "created in $((SECONDS - s0))s" >&3
  state=""
  s0=$SECONDS
  bq start 103 >/dev/null && echo "started in $((SECONDS - s0))s" >&3 && for _ in $(seq 1 60); do
    state=$(timeout 30 berth exec 103 -- systemctl is-system-running 2>&1)
    echo "  +$((SECONDS - s0))s: ${state//$'\n'/ }" >&3
    case "$state" in running | degraded) break ;; esac
    sleep 3
  done
  echo "systemd: $state after $((SECONDS - s0))s" >&3
  [ "$state" = degraded ] && berth exec 103 -- systemctl --failed --no-legend
  check "systemd reaches running ($state)" test "$state" = running
  check "pid 1 is systemd" test "$(berth exec 103 -- cat /proc/1/comm)" = systemd
  check "free -m shows 512M" bash -c "berth exec 103 -- free -m | grep -Eq '^Mem: +512 '"
  check "systemd made its own cgroups under the inner one" test -d /sys/fs/cgroup/berth/103/ns/init.scope -o -d /sys/fs/cgroup/berth/103/ns/system.slice
  check "stop shuts it down cleanly" bash -c "timeout 120 berth stop 103 >/dev/null"
  check "its cgroups are gone" test ! -e /sys/fs/cgroup/berth/103
  bq destroy 103 >/dev/null
else
  fail "no debian-12 template on the payload disk"
fi

step "done: $fails failure(s)"
kill $watch
pkill -x lxcfs 2>/dev/null
[ "$fails" = 0 ]
