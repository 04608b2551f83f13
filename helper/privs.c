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
#include <stdlib.h>
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

/* a policy's number: decimal, at most MAX (a value, an errno) */
static uint64_t policy_num(const char *w, uint64_t max, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = w ? strtoull(w, &end, 10) : 0;
  if (!w || !*w || *w == '-' || *end || errno || v > max)
    die_usage("seccomp policy: bad %s %s", what, w ? w : "(none)");
  return v;
}

/* ACTION as the policy names it; errno and trace take the next word as their number (or EPERM
 * where it may be left out: the first format's "default errno") */
static uint32_t policy_action(const char *w, char **save, int number_optional) {
  static const struct {
    const char *name;
    uint32_t act;
  } plain[] = {{"allow", SCMP_ACT_ALLOW}, {"kill_thread", SCMP_ACT_KILL_THREAD},
               {"kill_process", SCMP_ACT_KILL_PROCESS}, {"trap", SCMP_ACT_TRAP}, {"log", SCMP_ACT_LOG}};
  if (!w) die_usage("seccomp policy: an action is missing");
  for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
    if (strcmp(w, plain[k].name) == 0) return plain[k].act;
  int is_errno = strcmp(w, "errno") == 0;
  if (!is_errno && strcmp(w, "trace") != 0) die_usage("seccomp policy: unknown action %s", w);
  char *n = strtok_r(NULL, " \n", save);
  uint32_t num = n || !number_optional ? (uint32_t)policy_num(n, 0xffff, "errno") : EPERM;
  return is_errno ? SCMP_ACT_ERRNO(num) : SCMP_ACT_TRACE(num);
}

/* rule ACTION NAME [ARG OP V [V2]]...: V2 (the value; V is the mask) for masked_eq only */
static void policy_rule(scmp_filter_ctx ctx, uint32_t act, const char *name, char **save) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
             {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ}};
  struct scmp_arg_cmp cmp[6];
  unsigned n = 0;
  if (!name) die_usage("seccomp policy: a rule names no syscall");
  for (char *w; (w = strtok_r(NULL, " \n", save)); n++) {
    if (n == 6) die_usage("seccomp policy: more than 6 conditions for %s", name);
    cmp[n].arg = (unsigned)policy_num(w, 5, "argument");
    const char *op = strtok_r(NULL, " \n", save);
    size_t k = 0;
    while (k < sizeof ops / sizeof ops[0] && !(op && strcmp(op, ops[k].name) == 0)) k++;
    if (k == sizeof ops / sizeof ops[0]) die_usage("seccomp policy: bad operator %s for %s", op ? op : "(none)", name);
    cmp[n].op = ops[k].op;
    cmp[n].datum_a = policy_num(strtok_r(NULL, " \n", save), UINT64_MAX, "value");
    const char *two = cmp[n].op == SCMP_CMP_MASKED_EQ ? strtok_r(NULL, " \n", save) : "0";
    cmp[n].datum_b = policy_num(two, UINT64_MAX, "value");
  }
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return; /* not a syscall libseccomp knows on any architecture */
  int rc = seccomp_rule_add_array(ctx, act, nr, n, cmp);
  if (rc < 0) {
    errno = -rc;
    die_errno("seccomp", "add rule for %s", name);
  }
}

/*
 * The policy on FD (src/core/seccomp.ts, src/core/oci-seccomp.ts; helper/PROTOCOL.md), as a
 * filter. A line that does not fit the buffer or is not understood stops the run: a policy
 * read in part would load a filter other than the one asked for.
 */
static scmp_filter_ctx read_policy(int fd, int supervised) {
  FILE *f = fdopen(fd, "r");
  char line[1024];
  scmp_filter_ctx ctx = NULL;
  if (!f) die_errno("seccomp", "read policy fd %d", fd);
  while (fgets(line, sizeof line, f)) {
    char *save, *w, *name;
    if (!strchr(line, '\n') && !feof(f))
      die_usage("seccomp policy: a line longer than %zu bytes", sizeof line - 2);
    if (!(w = strtok_r(line, " \n", &save)) || w[0] == '#') continue;
    if (strcmp(w, "default") == 0) {
      if (ctx) die_usage("seccomp policy: a second default line");
      ctx = seccomp_init(policy_action(strtok_r(NULL, " \n", &save), &save, 1));
      if (!ctx) die_usage("seccomp_init failed");
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
      continue;
    }
    if (!ctx) die_usage("seccomp policy must start with a default line");
    if (strcmp(w, "arch") == 0) {
      name = strtok_r(NULL, " \n", &save);
      uint32_t arch = name ? seccomp_arch_resolve_name(name) : 0;
      if (!arch) die_usage("seccomp policy: unknown architecture %s", name ? name : "(none)");
      /* -EEXIST: the native one, there from the start; -EDOM: an ABI of the other byte order,
       * which libseccomp cannot put in this filter and whose calls never reach this kernel */
      int rc = seccomp_arch_add(ctx, arch);
      if (rc < 0 && rc != -EEXIST && rc != -EDOM) {
        errno = -rc;
        die_errno("seccomp", "add architecture %s", name);
      }
    } else if (strcmp(w, "flag") == 0) {
      name = strtok_r(NULL, " \n", &save);
      enum scmp_filter_attr attr = SCMP_FLTATR_CTL_LOG;
      if (name && strcmp(name, "spec_allow") == 0)
        attr = SCMP_FLTATR_CTL_SSB;
      else if (!name || strcmp(name, "log") != 0)
        die_usage("seccomp policy: unknown flag %s", name ? name : "(none)");
      int rc = seccomp_attr_set(ctx, attr, 1);
      if (rc < 0) {
        errno = -rc;
        die_errno("seccomp", "set filter flag %s", name);
      }
    } else if (strcmp(w, "rule") == 0) {
      uint32_t act = policy_action(strtok_r(NULL, " \n", &save), &save, 0);
      policy_rule(ctx, act, strtok_r(NULL, " \n", &save), &save);
    } else if (strcmp(w, "errno") == 0) { /* the first format's lines: errno N NAME, kill NAME, notify NAME */
      uint32_t num = (uint32_t)policy_num(strtok_r(NULL, " \n", &save), 0xffff, "errno");
      policy_rule(ctx, SCMP_ACT_ERRNO(num), strtok_r(NULL, " \n", &save), &save);
    } else if (strcmp(w, "kill") == 0) {
      policy_rule(ctx, SCMP_ACT_KILL_PROCESS, strtok_r(NULL, " \n", &save), &save);
    } else if (strcmp(w, "notify") == 0) {
      name = strtok_r(NULL, " \n", &save);
      /* without a keeper nobody would answer: the call stays the kernel's */
      if (supervised) policy_rule(ctx, SCMP_ACT_NOTIFY, name, &save);
    } else {
      die_usage("seccomp policy: unknown line %.40s", w);
    }
  }
  if (ferror(f)) die_errno("seccomp", "read policy fd %d", fd);
  fclose(f);
  if (!ctx) die_usage("seccomp policy without a default line");
  return ctx;
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
    scmp_filter_ctx ctx = read_policy(seccomp_fd, supervised);
    int rc = seccomp_load(ctx);
    if (rc < 0) {
      errno = -rc;
      die_errno("seccomp", "load seccomp filter");
    }
    listener = seccomp_notify_fd(ctx); /* with a notify rule, the kernel made us a listener */
    if (listener >= 0) fcntl(listener, F_SETFD, FD_CLOEXEC);
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

