/*
 * The clock-setting system calls through each x86 entry point a 64-bit process can use: the
 * native x86_64 ABI, the i386 ABI (`int $0x80`, which runs the 32-bit syscall table from a
 * 64-bit process, and which seccomp sees as AUDIT_ARCH_I386) and the x32 ABI (the number with
 * bit 30 set). Built with gcc -static by test/integration/seccomp-compat.test.ts.
 *
 * Harmless by construction: every pointer argument is an address that is never mapped (below
 * mmap_min_addr). Each of these calls first copies its argument in, which fails with EFAULT
 * before any check or change, so a call that gets past seccomp says EFAULT and the clock is
 * never touched; seccomp's refusal is EPERM. `getpid` shows whether the kernel has the ABI.
 *
 * Usage: clock32 x86_64|i386|x32. Prints one line per call: ABI <TAB> NAME <TAB> "ok" or the
 * errno name. A kernel that runs no i386 code kills it with SIGSEGV at the first int $0x80.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#define BAD 0x1000L /* below mmap_min_addr: never mapped */
#define X32 0x40000000L
#define REALTIME 0L

static long i386_call(long nr, long a, long b) {
  long ret;
  /* the kernel zeroes r8-r11 on return from int $0x80 */
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

static long x64_call(long nr, long a, long b) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "memory", "rcx", "r11");
  return ret;
}

static void report(const char *abi, const char *name, long ret) {
  const char *e = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
  printf("%s\t%s\t%s\n", abi, name, ret >= 0 ? "ok" : e ? e : "?");
}

int main(int argc, char **argv) {
  const char *abi = argc > 1 ? argv[1] : "";
  /* numbers from arch/x86/entry/syscalls/syscall_64.tbl (x32 shares them) and syscall_32.tbl */
  static const struct {
    const char *name;
    long nr;
    long a, b;
  } x64[] = {
      {"getpid", 39, 0, 0},
      {"settimeofday", 164, BAD, 0},
      {"clock_settime", 227, REALTIME, BAD},
      {"adjtimex", 159, BAD, 0},
      {"clock_adjtime", 305, REALTIME, BAD},
  },
    i386[] = {
        {"getpid", 20, 0, 0},
        {"stime", 25, BAD, 0},
        {"settimeofday", 79, BAD, 0},
        {"adjtimex", 124, BAD, 0},
        {"clock_settime", 264, REALTIME, BAD},
        {"clock_adjtime", 343, REALTIME, BAD},
        {"clock_settime64", 404, REALTIME, BAD},
        {"clock_adjtime64", 405, REALTIME, BAD},
    };
  setvbuf(stdout, NULL, _IONBF, 0); /* a kernel without i386 support kills us at the first int $0x80 */
  if (strcmp(abi, "i386") == 0) {
    for (size_t i = 0; i < sizeof i386 / sizeof i386[0]; i++)
      report(abi, i386[i].name, i386_call(i386[i].nr, i386[i].a, i386[i].b));
  } else if (strcmp(abi, "x86_64") == 0 || strcmp(abi, "x32") == 0) {
    long bit = strcmp(abi, "x32") == 0 ? X32 : 0;
    for (size_t i = 0; i < sizeof x64 / sizeof x64[0]; i++)
      report(abi, x64[i].name, x64_call(x64[i].nr | bit, x64[i].a, x64[i].b));
  } else {
    fputs("usage: clock32 x86_64|i386|x32\n", stderr);
    return 2;
  }
  return 0;
}
