// The embedded "busybox" template: its directories and small files (busybox init boots it).

export const BUSYBOX_DIRS: ReadonlyArray<[string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['etc/init.d', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
  ['tmp', 0o1777],
  ['root', 0o700],
  ['run', 0o755],
  ['var/log', 0o755],
  ['var/run', 0o755],
  ['home', 0o755],
  ['mnt', 0o755],
];

const INITTAB = `# busybox init: see busybox's examples/inittab
::sysinit:/etc/init.d/rcS
::shutdown:/etc/init.d/rcK
::ctrlaltdel:/sbin/reboot
`;

const RCS = `#!/bin/sh
# Brought up by busybox init at boot. berth has already mounted /proc, /sys and /dev.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname -F /etc/hostname 2>/dev/null
for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" start; done
echo "berth busybox container $(hostname) is up"
`;

const RCK = `#!/bin/sh
# Run by busybox init at shutdown (berth stop sends SIGUSR2 = poweroff).
for s in /etc/rc.d/K*; do [ -x "$s" ] && "$s" stop; done
echo "berth busybox container $(hostname) is going down"
`;

export const BUSYBOX_FILES: ReadonlyArray<[string, number, string]> = [
  ['etc/inittab', 0o644, INITTAB],
  ['etc/init.d/rcS', 0o755, RCS],
  ['etc/init.d/rcK', 0o755, RCK],
  ['etc/passwd', 0o644, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'],
  ['etc/group', 0o644, 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n'],
  ['etc/shadow', 0o600, 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n'],
  ['etc/hostname', 0o644, 'localhost\n'],
  ['etc/hosts', 0o644, '127.0.0.1 localhost\n::1 localhost\n'],
  [
    'etc/profile',
    0o644,
    'export PS1="[\\u@\\h \\W]\\$ "\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
  ],
  ['etc/os-release', 0o644, 'NAME="berth busybox"\nID=busybox\nPRETTY_NAME="berth busybox container"\n'],
];
