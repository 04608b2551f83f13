/* hooks.c: berth-oci's OCI hooks: those of create, while the container is half built, and
 * poststart and poststop (--run-hooks), run by the caller's own process */
#ifndef BERTH_HOOKS_H
#define BERTH_HOOKS_H

#include <sys/types.h>

/* runtime-spec's kinds, in the order they run; prestart and createRuntime in the runtime's
 * namespaces (the parent), createContainer and startContainer in the container's (the child),
 * poststart and poststop in the runtime's (--run-hooks, with no container being built) */
enum hook_kind {
  HOOK_PRESTART,
  HOOK_CREATE_RUNTIME,
  HOOK_CREATE_CONTAINER,
  HOOK_START_CONTAINER,
  HOOK_POSTSTART,
  HOOK_POSTSTOP,
  N_HOOK_KINDS
};

/* --hook KIND TIMEOUT NARGS NENV PATH ARG... ENV...: parsed from argv[*i], *i left on its last word */
void hook_parse(char **argv, int *i, int argc);
/* --hook-state PREFIX: the state's JSON object without status, pid and its closing brace */
void hook_state_prefix(const char *prefix);
int hooks_of(enum hook_kind kind);
/* the runtime's hooks run after we joined a pod's namespaces: each hook goes back to ours
 * (opened here, before the join) */
void hook_keep_namespaces(void);
/* the container's side: those fds are the host's namespaces, never to be held in there */
void hook_forget_namespaces(void);
/* runs KIND's hooks in order with the state (STATUS, PID) on stdin; NULL, or why one failed */
const char *run_hooks(enum hook_kind kind, const char *status, pid_t pid);
/* --run-hooks KIND STATUS PID: every hook of KIND, a failure a warning record and the rest still
 * run (runtime-spec: poststart and poststop failures are warnings); exits 0 */
int do_run_hooks(const char *kind, const char *status, const char *pid);

#endif
