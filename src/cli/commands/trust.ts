// berth trust add|list|remove|token: who may use berthd over HTTPS (the trust store, /etc/berth/trust).
import { readFileSync } from 'node:fs';
import { BerthError } from '../../core/errors.ts';
import { parseDuration } from '../../core/size.ts';
import { addTrust, listTrust, makeToken, removeTrust } from '../../host/tls.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { json: { type: 'boolean' }, ttl: { type: 'string' } } as const;

export const command: Command = {
  summary: 'manage the client certificates berthd trusts over HTTPS, and browser login links',
  usage: 'berth trust add NAME CERTFILE | list [--json] | remove NAME | token [--ttl DURATION]',
  help: `berthd (berth daemon --listen) answers a TCP client only when it presents a certificate
in this store, or has a browser session begun with a one-time token. Incus keeps a trust
store the same way. The store is /etc/berth/trust/NAME.crt, root's.

  trust add NAME CERTFILE   trust the certificate in CERTFILE (PEM; - reads stdin) as NAME:
                            a client presenting it may do all that root may through the API
  trust list [--json]       the trusted certificates: name, SHA-256 fingerprint, subject,
                            expiry
  trust remove NAME         trust it no more (its next request is refused)
  trust token [--ttl D]     print a one-time token, valid for D (default 15m; s, m, h): a
                            browser that opens https://HOST:PORT/1.0/login?token=TOKEN gets a
                            session of 12 hours (an HttpOnly, Secure, SameSite cookie)

  --json       list as JSON
  --ttl D      how long a token stays valid before it is used

Example:
  berth trust add laptop ~admin/.config/berth/client.crt
  berth trust token --ttl 10m

Exit codes: 20 bad syntax; 21 not a certificate, a name in use, a bad duration; 20 no such
name (remove).`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('trust', args, OPTIONS, 3);
    const [action, name, file] = positionals;
    if (action === 'add') {
      if (!name || !file)
        throw new BerthError('BAD_SYNTAX', 'trust add: needs NAME and CERTFILE', {
          hint: 'berth trust add laptop client.crt',
        });
      const t = addTrust(ctx.paths, name, readFileSync(file === '-' ? 0 : file, 'utf8'));
      io.out(`Trusted ${t.name}: ${t.subject}, SHA-256 ${t.fingerprint}, until ${t.expires}`);
      return 0;
    }
    if (action === 'list') {
      const all = listTrust(ctx.paths);
      if (values.json) io.out(JSON.stringify(all, null, 2));
      else for (const t of all) io.out(`${t.name}\t${t.fingerprint}\t${t.subject}\t${t.expires}`);
      return 0;
    }
    if (action === 'remove') {
      removeTrust(ctx.paths, name ?? '');
      io.out(`${name} is trusted no more`);
      return 0;
    }
    if (action === 'token') {
      const ttl = parseDuration('trust token', values.ttl ?? '15m');
      const t = makeToken(ctx.paths, ttl);
      io.out(t.token);
      ctx.log(`valid until ${t.expires}, once: open https://HOST:PORT/1.0/login?token=${t.token}`);
      return 0;
    }
    throw new BerthError(
      'BAD_SYNTAX',
      `trust: ${action ? `unknown action ${JSON.stringify(action)}` : 'missing action'}`,
      {
        hint: 'berth trust add|list|remove|token',
      },
    );
  },
};
