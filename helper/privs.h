/* privs.c: capabilities and the seccomp filter */
#ifndef BERTH_PRIVS_H
#define BERTH_PRIVS_H

#include <stdint.h>

/* "a,b,c" -> a bitmask of the positions of those names in NAMES (bad argv on unknown ones) */
uint64_t parse_names(const char *list, const char *const *names, int n, const char *what);
/* returns the seccomp listener when the policy's notify rules were loaded (supervised), or -1 */
int drop_privileges(const char *caps_keep, int no_new_privs, int seccomp_fd, int supervised, void (*as_user)(void));

#endif
