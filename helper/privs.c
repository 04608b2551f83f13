/*
 * Privileges a container keeps: the capability sets and the seccomp filter, from the plan's
 * --caps-keep and the policy on --seccomp-fd (src/core/seccomp.ts writes it).
 */
#define _GNU_SOURCE
#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

static const char *cap_names[] = {
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore"};
#define N_CAP_NAMES ((int)(sizeof cap_names / sizeof cap_names[0]))

/* "a,b,c" -> a bitmask of the positions of those names in `names` (bad argv on unknown ones) */
uint64_t parse_names(const char *list, const char *const *names, int n, const char *what) {
  uint64_t mask = 0;
  char copy[2048];
  snprintf(copy, sizeof copy, "%s", list);
  for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    int k;
    for (k = 0; k < n; k++)
      if (strcmp(w, names[k]) == 0) break;
    if (k == n) die_usage("unknown %s %s", what, w);
    mask |= 1ULL << k;
  }
  return mask;
}

static uint64_t parse_caps(const char *list) {
  return parse_names(list, cap_names, N_CAP_NAMES, "capability");
}

/*
 * Order matters: the bounding set is trimmed first (needs CAP_SETPCAP), then the seccomp filter
 * is loaded (needs CAP_SYS_ADMIN unless no_new_privs is set), and only then are the effective,
 * permitted and inheritable sets lowered, since that may remove the two capabilities above.
 */
int drop_privileges(const char *caps_keep, int no_new_privs, int seccomp_fd, int supervised, void (*as_user)(void)) {
  int listener = -1;
  if (caps_keep) {
    uint64_t keep = parse_caps(caps_keep);
    int last = 40;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
      if (fscanf(f, "%d", &last) != 1) last = 40;
      fclose(f);
    }
    for (int c = 0; c <= last; c++)
      if (!(c < 64 && (keep >> c) & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        die_errno("capabilities", "drop capability %d from the bounding set", c);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  }
  if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_errno("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
  if (seccomp_fd >= 0) {
    FILE *f = fdopen(seccomp_fd, "r");
    char line[256], action[32], name[128];
    scmp_filter_ctx ctx = NULL;
    if (!f) die_errno("seccomp", "read policy fd %d", seccomp_fd);
    while (fgets(line, sizeof line, f)) {
      int num = 0;
      if (line[0] == '#' || line[0] == '\n') continue;
      if (sscanf(line, "default %31s", action) == 1) {
        ctx = seccomp_init(strcmp(action, "allow") == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM));
        if (!ctx) die_usage("seccomp_init failed");
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
      } else if (!ctx) {
        die_usage("seccomp policy must start with a default line");
      } else if (sscanf(line, "arch %127s", name) == 1) {
        uint32_t arch = seccomp_arch_resolve_name(name);
        if (arch) seccomp_arch_add(ctx, arch); /* -EEXIST for the native one is fine */
      } else if (sscanf(line, "errno %d %127s", &num, name) == 2 || sscanf(line, "kill %127s", name) == 1 ||
                 sscanf(line, "notify %127s", name) == 1) {
        int nr = seccomp_syscall_resolve_name(name);
        int notify = strncmp(line, "notify", 6) == 0;
        uint32_t act = notify ? SCMP_ACT_NOTIFY : num ? SCMP_ACT_ERRNO((uint32_t)num) : SCMP_ACT_KILL_PROCESS;
        if (notify && !supervised) continue; /* nobody to answer: the call stays the kernel's */
        if (nr == __NR_SCMP_ERROR) continue; /* not a syscall on this architecture */
        int rc = seccomp_rule_add(ctx, act, nr, 0);
        if (rc < 0) {
          errno = -rc;
          die_errno("seccomp", "add rule for %s", name);
        }
      }
    }
    fclose(f);
    if (ctx) {
      int rc = seccomp_load(ctx);
      if (rc < 0) {
        errno = -rc;
        die_errno("seccomp", "load seccomp filter");
      }
      listener = seccomp_notify_fd(ctx); /* with a notify rule, the kernel made us a listener */
      if (listener >= 0) fcntl(listener, F_SETFD, FD_CLOEXEC);
    }
  }
  /* another uid (OCI process.user) after the filter (its load without no_new_privs needs
   * CAP_SYS_ADMIN) and before the capset, which stays possible: the kernel keeps the
   * permitted set across the change with KEEPCAPS, and the execve recomputes it as for any
   * non-root process */
  if (as_user) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die_errno("user", "prctl(PR_SET_KEEPCAPS)");
    as_user();
  }
  if (caps_keep) {
    uint64_t keep = parse_caps(caps_keep);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    for (int k = 0; k < 2; k++) {
      /* inheritable stays empty: a file capability's +i bits must not grant anything to a
       * non-root user inside (runc's CVE-2022-29162, crun's CVE-2022-27650) */
      data[k].effective = data[k].permitted = (uint32_t)(keep >> (32 * k));
      data[k].inheritable = 0;
    }
    if (syscall(SYS_capset, &hdr, data) < 0) die_errno("capabilities", "capset");
  }
  return listener;
}

