/* report.c: status records on --status-fd and messages on stderr */
#ifndef BERTH_REPORT_H
#define BERTH_REPORT_H

#include <sys/types.h>

extern int status_fd; /* --status-fd */
extern int err_fd;    /* a child's report pipe to its parent (-1 in the parent) */

/* "berth-nsexec: <what>: <strerror>" and {"error":STEP,...}; exit 2 */
void die_errno(const char *step, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* the same for a failure with no errno (a hook's exit): "berth-nsexec: <what>", errno 0; exit 2 */
void die_msg(const char *step, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* a plan the helper cannot carry out as given: exit 1 (a child reports it as a failed step) */
void die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* an optional step failed, the run goes on: {"warning":STEP,"errno":N,"message":...} (E 0: no errno's text) */
void warn_record(const char *step, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void status_pid(pid_t pid);

#endif
