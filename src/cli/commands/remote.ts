// berth remote add|list|remove: the berthds this user drives with `berth -r NAME VERB`.
import { BerthError } from '../../core/errors.ts';
import { clientIdentity, readRemotes, serverCertificate, writeRemotes } from '../../host/remotes.ts';
import { fingerprintOf, parseCert } from '../../host/tls.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { fingerprint: { type: 'string' }, accept: { type: 'boolean' }, json: { type: 'boolean' } } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const command: Command = {
  summary: 'manage the remote berthds that berth -r NAME drives',
  usage: 'berth remote add NAME https://HOST:PORT [--fingerprint SHA256 | --accept] | list [--json] | remove NAME',
  noRoot: true,
  help: `An admin manages several hosts from one shell: berth -r NAME VERB ... runs VERB on the
berthd at NAME (started there with berth daemon --listen). Remote verbs: list, status, start,
stop, restart, suspend, resume, create, set, destroy, exec (not interactive), stat, snapshot,
snapshot-list, snapshot-switch, snapshot-delete, backup, template list.

  remote add NAME URL   pin the server's certificate and remember NAME. The server
                        proves itself with that certificate only, from then on.
    --fingerprint FP    the SHA-256 fingerprint the server's admin read off berth daemon's
                        start (hex, colons allowed); add refuses another certificate
    --accept            trust the certificate the server presents now, as it is (print its
                        fingerprint: compare it with the server's)
  remote list [--json]  the remotes: name, URL, the pinned fingerprint
  remote remove NAME    forget it

The first add makes this user's client certificate (~/.config/berth/client.crt; the key
beside it, 0600) and prints it: on the server, its admin runs berth trust add NAME FILE
with it. Remotes are kept in ~/.config/berth/remotes.json.

Example:
  berth remote add web https://10.0.0.5:8443 --fingerprint 3f2a...
  berth -r web list -a

Exit codes: 20 bad syntax; 21 a bad name or URL, a fingerprint that does not match; 3 the
server cannot be reached.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('remote', args, OPTIONS, 3);
    const [action, name, url] = positionals;
    const remotes = readRemotes();
    if (action === 'list') {
      if (values.json)
        io.out(
          JSON.stringify(
            Object.entries(remotes).map(([n, r]) => ({ name: n, url: r.url, fingerprint: r.fingerprint })),
            null,
            2,
          ),
        );
      else for (const [n, r] of Object.entries(remotes)) io.out(`${n}\t${r.url}\t${r.fingerprint}`);
      return 0;
    }
    if (!name || !NAME.test(name))
      throw new BerthError(
        'BAD_VALUE',
        `remote: name ${JSON.stringify((name ?? '').slice(0, 64))}: letters, digits, _ . -`,
      );
    if (action === 'remove') {
      if (!remotes[name])
        throw new BerthError('BAD_VALUE', `remote remove ${name}: no such remote`, { hint: 'berth remote list' });
      delete remotes[name];
      writeRemotes(remotes);
      return 0;
    }
    if (action !== 'add')
      throw new BerthError(
        'BAD_SYNTAX',
        `remote: ${action ? `unknown action ${JSON.stringify(action)}` : 'missing action'}`,
        { hint: 'berth remote add|list|remove' },
      );
    if (!url || !/^https:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/.test(url)) {
      throw new BerthError(
        'BAD_VALUE',
        `remote add ${name}: URL ${JSON.stringify((url ?? '').slice(0, 100))}: https://HOST:PORT`,
        { hint: 'berthd speaks HTTPS only on TCP' },
      );
    }
    if (!values.fingerprint && !values.accept) {
      throw new BerthError('BAD_SYNTAX', `remote add ${name}: say which certificate to trust`, {
        hint: '--fingerprint SHA256 (printed where berth daemon --listen started), or --accept to take what it presents now',
      });
    }
    const pem = await serverCertificate(url);
    const fp = fingerprintOf(parseCert(pem, url).raw);
    const want = values.fingerprint?.replace(/:/g, '').toLowerCase();
    if (want && want !== fp)
      throw new BerthError('BAD_VALUE', `remote add ${name}: the server presents ${fp}, not ${want}`, {
        hint: 'a different server, or someone in between: check with its admin',
      });
    remotes[name] = { url: url.replace(/\/$/, ''), fingerprint: fp, cert: pem };
    writeRemotes(remotes);
    const me = clientIdentity();
    io.out(`Remote ${name} added: ${url}, server certificate SHA-256 ${fp}`);
    ctx.log(
      `on ${name}, trust this client (SHA-256 ${me.fingerprint}) with: berth trust add NAME ${me.file}\n${me.cert.trim()}`,
    );
    return 0;
  },
};
