/* console.c: `berth console`, the admin's terminal attached to a container's console through its keeper */
#ifndef BERTH_CONSOLE_H
#define BERTH_CONSOLE_H

/*
 * The attach protocol on the keeper's socket (helper/PROTOCOL.md, "Console attach"): the client
 * sends the tag 'C'; the keeper answers one byte, CONSOLE_OK, CONSOLE_BUSY (then the attached
 * client's pid, 4 bytes) or CONSOLE_NONE. After OK the keeper sends the console's output as it
 * comes, and the client sends frames: a type byte, a 16-bit little-endian length, the payload.
 */
/* a session's tag: this plus its number (1 to KEEPER_MAX_SESSIONS), instead of 'C' */
#define SESSION_TAG_BASE 0x80
#define CONSOLE_OK 'O'
#define CONSOLE_BUSY 'B'
#define CONSOLE_NONE 'N'
#define FRAME_DATA 'D'   /* keystrokes for the console */
#define FRAME_WINSIZE 'W' /* a struct winsize for the master (TIOCSWINSZ) */
#define FRAME_MAX 4096   /* the largest payload */

/* attach mode: returns the helper's exit code; ESCAPE is the detach prefix byte (-1: none);
 * SESSION 0 the console, else a carried-over enter session's number */
int console_attach(const char *sock_path, int escape, const char *banner, int session);

#endif
