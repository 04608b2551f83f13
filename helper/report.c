/*
 * What the helper says: status records (JSON lines) on --status-fd, and its messages on stderr
 * as "berth-nsexec: ...". A child that fails before its execve reports through err_fd, a
 * close-on-exec pipe its parent relays (helper/PROTOCOL.md, "Status records").
 */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fds.h"

int err_fd = -1; /* where a child reports a setup failure (CLOEXEC pipe to the parent) */
int status_fd = -1; /* --status-fd: where status records go */

static void json_escape(char *out, size_t n, const char *s) {
  size_t j = 0;
  for (; *s && j + 7 < n; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[j++] = '\\';
      out[j++] = (char)ch;
    } else if (ch < 0x20) {
      j += (size_t)snprintf(out + j, n - j, "\\u%04x", ch);
    } else {
      out[j++] = (char)ch;
    }
  }
  out[j] = 0;
}

/* MSG (with its errno's words when E is not 0) on stderr and as a status record; exit 2 */
static void __attribute__((noreturn)) die_with(const char *step, int e, const char *msg) {
  char full[1200], esc[2400], rec[2600];
  snprintf(full, sizeof full, e ? "%s: %s" : "%s", msg, strerror(e));
  fprintf(stderr, "berth-nsexec: %s\n", full);
  json_escape(esc, sizeof esc, full);
  int n = snprintf(rec, sizeof rec, "{\"error\":\"%s\",\"errno\":%d,\"message\":\"%s\"}\n", step, e, esc);
  int fd = err_fd >= 0 ? err_fd : status_fd;
  if (fd >= 0 && n > 0) write_all(fd, rec, (size_t)n);
  _exit(2);
}

/* die_errno: print "berth-nsexec: <what>: <strerror>", send a status record, exit 2 */
void die_errno(const char *step, const char *fmt, ...) {
  int saved = errno;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  die_with(step, saved, msg);
}

void die_msg(const char *step, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  die_with(step, 0, msg);
}

/* a plan the helper cannot carry out as given (a bug in helper-args.ts, or a value berth should
 * have refused): exit 1; a child that finds it mid-way reports it like any failed step, so its
 * parent never mistakes its exit for a running init */
void die_usage(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (err_fd >= 0) {
    errno = EINVAL;
    die_errno("usage", "%s", msg);
  }
  fprintf(stderr, "berth-nsexec: usage: %s\n", msg);
  exit(1);
}

/* a step berth marked optional failed; the run goes on: {"warning":STEP,"errno":N,"message":...} */
void warn_record(const char *step, int e, const char *fmt, ...) {
  char msg[512], esc[1024], rec[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ": %s", strerror(e));
  json_escape(esc, sizeof esc, msg);
  int n = snprintf(rec, sizeof rec, "{\"warning\":\"%s\",\"errno\":%d,\"message\":\"%s\"}\n", step, e, esc);
  if (status_fd >= 0 && n > 0) write_all(status_fd, rec, (size_t)n);
}

void status_pid(pid_t pid) {
  char rec[64];
  int n = snprintf(rec, sizeof rec, "{\"pid\":%d}\n", (int)pid);
  if (status_fd >= 0) write_all(status_fd, rec, (size_t)n);
}

