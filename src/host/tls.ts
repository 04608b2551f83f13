// berthd's TLS identity and trust store on disk (/etc/berth, root's): the server's certificate
// and key, made once with openssl; the client certificates the admin trusts (trust/NAME.crt);
// and the one-time login tokens `berth trust token` hands out (/run/berth/tokens, hashed).
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { errCode, writeFileAtomic } from './fs-util.ts';
import type { Paths } from './paths.ts';
import { childProcess } from './spawn.ts';

export const serverCertPath = (p: Paths) => join(p.etc, 'berthd.crt');
export const serverKeyPath = (p: Paths) => join(p.etc, 'berthd.key');
const trustDir = (p: Paths) => join(p.etc, 'trust');
const tokenDir = (p: Paths) => join(p.run, 'tokens');

const TRUST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface TrustedCert {
  name: string;
  /** SHA-256 of the DER certificate, lowercase hex without colons */
  fingerprint: string;
  subject: string;
  expires: string;
}

/** SHA-256 fingerprint as berth writes it: lowercase hex, no colons. */
export function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** The certificate PEM holds, or a BAD_VALUE naming what. */
export function parseCert(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new BerthError('BAD_VALUE', `${what}: not a PEM certificate: ${(err as Error).message.slice(0, 200)}`);
  }
}

/** The server's certificate and key, made on first use (EC P-256, 10 years, the host's names). */
export function ensureServerCert(p: Paths): { cert: string; key: string; fingerprint: string } {
  const certFile = serverCertPath(p);
  const keyFile = serverKeyPath(p);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(p.etc, { recursive: true, mode: 0o755 });
    const host = hostname();
    const r = childProcess().spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-keyout',
        `${keyFile}.tmp`,
        '-out',
        `${certFile}.tmp`,
        '-subj',
        `/CN=berthd@${host}`,
        '-addext',
        `subjectAltName=DNS:${host},DNS:localhost,IP:127.0.0.1,IP:::1`,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      throw new BerthError(
        'SYSTEM',
        `daemon: cannot make its TLS certificate with openssl: ${(r.stderr || r.error?.message || '').trim().slice(0, 300)}`,
        {
          hint: 'apt install openssl',
        },
      );
    }
    chmodSync(`${keyFile}.tmp`, 0o600);
    writeFileAtomic(keyFile, readFileSync(`${keyFile}.tmp`, 'utf8'), 0o600, true);
    writeFileAtomic(certFile, readFileSync(`${certFile}.tmp`, 'utf8'), 0o644, true);
    rmSync(`${keyFile}.tmp`, { force: true });
    rmSync(`${certFile}.tmp`, { force: true });
  }
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint: fingerprintOf(parseCert(cert, certFile).raw) };
}

export function checkTrustName(name: string | undefined): string {
  if (!name || !TRUST_NAME.test(name)) {
    throw new BerthError(
      'BAD_VALUE',
      `trust: name ${JSON.stringify((name ?? '').slice(0, 80))}: letters, digits, _ . - (up to 64)`,
    );
  }
  return name;
}

export function listTrust(p: Paths): TrustedCert[] {
  let names: string[] = [];
  try {
    names = readdirSync(trustDir(p)).filter((n) => n.endsWith('.crt'));
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
  return names.sort().flatMap((file) => {
    try {
      const c = new X509Certificate(readFileSync(join(trustDir(p), file)));
      return [
        {
          name: file.slice(0, -4),
          fingerprint: fingerprintOf(c.raw),
          subject: c.subject,
          expires: new Date(c.validTo).toISOString(),
        },
      ];
    } catch {
      return []; // not a certificate: trusts nothing
    }
  });
}

export function addTrust(p: Paths, name: string, pem: string): TrustedCert {
  checkTrustName(name);
  const c = parseCert(pem, `trust add ${name}`);
  const fp = fingerprintOf(c.raw);
  const same = listTrust(p).find((t) => t.name === name || t.fingerprint === fp);
  if (same)
    throw new BerthError(
      'BAD_VALUE',
      `trust add ${name}: already trusted as ${same.name} (${same.fingerprint.slice(0, 16)}...)`,
    );
  mkdirSync(trustDir(p), { recursive: true, mode: 0o700 });
  writeFileAtomic(join(trustDir(p), `${name}.crt`), c.toString(), 0o600, true);
  return { name, fingerprint: fp, subject: c.subject, expires: new Date(c.validTo).toISOString() };
}

export function removeTrust(p: Paths, name: string): void {
  checkTrustName(name);
  try {
    unlinkSync(join(trustDir(p), `${name}.crt`));
  } catch (err) {
    if (errCode(err) === 'ENOENT')
      throw new BerthError('NOT_FOUND', `trust remove ${name}: no such trusted certificate`, {
        hint: 'berth trust list',
      });
    throw err;
  }
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** A one-time login token valid for ttlMs: only its hash is kept on disk. */
export function makeToken(p: Paths, ttlMs: number): { token: string; expires: string } {
  const token = randomBytes(24).toString('base64url');
  const expires = new Date(Date.now() + ttlMs).toISOString();
  mkdirSync(tokenDir(p), { recursive: true, mode: 0o700 });
  writeFileAtomic(join(tokenDir(p), tokenHash(token)), expires, 0o600, false);
  return { token, expires };
}

/** Uses up a token: true when it was issued and has not expired (either way it is gone). */
export function redeemToken(p: Paths, token: string): boolean {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return false;
  const file = join(tokenDir(p), tokenHash(token));
  try {
    const expires = readFileSync(file, 'utf8').trim();
    unlinkSync(file);
    return Date.parse(expires) > Date.now();
  } catch {
    return false;
  }
}

/** Tokens past their time (a token is tiny; this keeps the directory from growing). */
export function pruneTokens(p: Paths): void {
  try {
    for (const f of readdirSync(tokenDir(p))) {
      const file = join(tokenDir(p), f);
      try {
        if (Date.parse(readFileSync(file, 'utf8').trim()) <= Date.now()) unlinkSync(file);
      } catch {}
    }
  } catch {}
}

/** the mtime of the trust directory: a change means the store is read again */
export function trustStamp(p: Paths): number {
  try {
    return statSync(trustDir(p)).mtimeMs;
  } catch {
    return 0;
  }
}
