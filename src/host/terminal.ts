// Whether an fd is a terminal, without loading node:tty for the usual answer: it loads net and
// streams (about 5 ms of start-up, also under Bun), and a pipe, a file or /dev/null never is one.
import { fstatSync } from 'node:fs';

/** Linux's major number of /dev/null, /dev/zero and the other memory devices */
const MEM_MAJOR = 1;

export async function isTerminal(fd: number): Promise<boolean> {
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice() || (st.rdev >> 8) % 4096 === MEM_MAJOR) return false;
  } catch {
    return false;
  }
  return (await import('node:tty')).isatty(fd);
}
