// set --userpasswd USER:PASSWORD (vzctl): a user's password, set by the running container's own
// tools, so it is hashed the way that distribution hashes (yescrypt on Debian 12, busybox's on
// busybox). The password goes to chpasswd's stdin through an anonymous file: no argv,
// environment, log or config of the host or the container holds it.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { parseUserPasswd } from '../core/set-options.ts';
import { closeFd } from '../host/files.ts';
import { inputFd } from '../host/helper.ts';
import type { Ctx } from './context.ts';
import type { Inspection } from './inspect.ts';
import { joinCaptured, runJoined } from './join.ts';

/**
 * Makes user $1 when missing (useradd on Debian, adduser, else the files themselves: Debian's
 * busybox has neither), then sets the password read from stdin as USER:PASSWORD (chpasswd, else
 * busybox passwd, which reads it twice; printf is the shell's own, so no argv holds it).
 */
const SCRIPT = `u="$1"
if ! id -u "$u" >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then useradd -m -s /bin/sh "$u"
  elif command -v adduser >/dev/null 2>&1; then adduser -D "$u"
  else
    n=1000
    while cut -d: -f3 /etc/passwd /etc/group 2>/dev/null | grep -qx "$n"; do n=$((n+1)); done
    echo "$u:x:$n:$n::/home/$u:/bin/sh" >>/etc/passwd && echo "$u:x:$n:" >>/etc/group &&
      echo "$u:!:19000:0:99999:7:::" >>/etc/shadow && mkdir -p "/home/$u" && chown "$n:$n" "/home/$u"
  fi || exit 3
fi
command -v chpasswd >/dev/null 2>&1 && exec chpasswd
IFS= read -r line
p="\${line#*:}"
printf '%s\\n%s\\n' "$p" "$p" | passwd -a sha512 "$u" >/dev/null 2>&1`;

/** Sets each USER:PASSWORD in running container ID, in order; the first failure stops. */
export function setPasswords(ctx: Ctx, id: CtId, now: Inspection, specs: readonly string[]): void {
  for (const spec of specs) {
    const { user, password } = parseUserPasswd(spec);
    const input = inputFd(ctx.paths.run, `${user}:${password}\n`);
    let code: number;
    try {
      code = runJoined(ctx, id, now, scriptArgv(user), { pty: false, verb: 'set', stdin: input });
    } finally {
      closeFd(input);
    }
    passwordSet(ctx, id, user, code);
  }
}

/**
 * berthd's: the same, without blocking it. The password goes to the helper's stdin through a
 * pipe from the daemon (the request's body), never to argv or a file.
 */
export async function setPasswordsAsync(ctx: Ctx, id: CtId, now: Inspection, specs: readonly string[]) {
  for (const spec of specs) {
    const { user, password } = parseUserPasswd(spec);
    const r = await joinCaptured(ctx, id, now, scriptArgv(user), {
      verb: 'set',
      env: [],
      stdin: Buffer.from(`${user}:${password}\n`),
      cap: 64 << 10,
    });
    passwordSet(ctx, id, user, r.code);
  }
}

const scriptArgv = (user: string) => ['/bin/sh', '-c', SCRIPT, 'sh', user];

function passwordSet(ctx: Ctx, id: CtId, user: string, code: number): void {
  if (code !== 0) {
    throw new BerthError(
      'CHANGE_PASSWORD',
      `set ${id} --userpasswd ${user}: the container's tools failed (exit ${code})`,
      {
        hint: 'the container needs chpasswd, and useradd or adduser to make a user that is missing',
      },
    );
  }
  ctx.log(`${id}: password of ${user} set`);
}
