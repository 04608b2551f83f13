// The CLI's side of remote berthds (berth remote, berth -r NAME): the remotes and their pinned
// certificates in ~/.config/berth/remotes.json, and this user's client identity (client.crt,
// client.key) that a server's admin trusts with `berth trust add`. All 0600 in a 0700 directory.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { BerthError } from '../core/errors.ts';
import { errCode, writeFileAtomic } from './fs-util.ts';
import { fingerprintOf, makeSelfSigned } from './tls.ts';

export interface Remote {
  url: string;
  fingerprint: string;
  /** the server's certificate, PEM */
  cert: string;
}

export const configDir = () => join(process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'berth');
const remotesFile = () => join(configDir(), 'remotes.json');

export function readRemotes(): Record<string, Remote> {
  try {
    const data = JSON.parse(readFileSync(remotesFile(), 'utf8')) as { remotes?: Record<string, Remote> };
    return data.remotes ?? {};
  } catch (err) {
    if (errCode(err) === 'ENOENT') return {};
    throw new BerthError('CONFIG_INVALID', `${remotesFile()}: ${(err as Error).message.slice(0, 200)}`, {
      hint: 'fix or remove it',
    });
  }
}

export function writeRemotes(remotes: Record<string, Remote>): void {
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  writeFileAtomic(remotesFile(), `${JSON.stringify({ remotes }, null, 2)}\n`, 0o600, true);
}

/** This user's client certificate and key, made on first use (EC P-256, 10 years). */
export function clientIdentity(): { cert: string; key: string; fingerprint: string; file: string } {
  const cert = join(configDir(), 'client.crt');
  const key = join(configDir(), 'client.key');
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(configDir(), { recursive: true, mode: 0o700 });
    makeSelfSigned('remote', cert, key, `${userInfo().username}@${hostname()}`);
  }
  const pem = readFileSync(cert, 'utf8');
  return {
    cert: pem,
    key: readFileSync(key, 'utf8'),
    fingerprint: fingerprintOf(new X509Certificate(pem).raw),
    file: cert,
  };
}

/** The certificate a server presents (no trust decided yet: the caller pins or refuses it). */
export function serverCertificate(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(
      {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || 8443),
        rejectUnauthorized: false,
        timeout: 10_000,
      },
      () => {
        const raw = sock.getPeerCertificate()?.raw;
        sock.destroy();
        if (!raw) reject(new BerthError('SYSTEM', `remote ${url}: the server presented no certificate`));
        else resolve(new X509Certificate(raw).toString());
      },
    );
    sock.on('timeout', () => sock.destroy(new Error('no answer in 10 s')));
    sock.on('error', (err) =>
      reject(
        new BerthError('SYSTEM', `remote ${url}: ${err.message}`, { hint: 'is berth daemon --listen running there?' }),
      ),
    );
  });
}
