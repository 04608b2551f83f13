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

/**
 * A self-signed EC P-256 certificate for CN (ten years, SANS as openssl's subjectAltName list)
 * and its key, each written whole (the key 0600) or not at all.
 */
export function makeSelfSigned(what: string, certFile: string, keyFile: string, cn: string, sans: string[] = []): void {
  const tmp = (f: string) => `${f}.tmp-${process.pid}`;
  const r = childProcess().spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'],
      ...['-keyout', tmp(keyFile), '-out', tmp(certFile), '-subj', `/CN=${cn}`],
      ...(sans.length ? ['-addext', `subjectAltName=${sans.join(',')}`] : []),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || '').trim().slice(0, 300);
      throw new BerthError('SYSTEM', `${what}: cannot make a certificate with openssl: ${why}`, {
        hint: 'apt install openssl',
      });
    }
    chmodSync(tmp(keyFile), 0o600);
    writeFileAtomic(keyFile, readFileSync(tmp(keyFile), 'utf8'), 0o600, true);
    writeFileAtomic(certFile, readFileSync(tmp(certFile), 'utf8'), 0o644, true);
  } finally {
    rmSync(tmp(keyFile), { force: true });
    rmSync(tmp(certFile), { force: true });
  }
}

/** The server's certificate and key, made on first use (the host's names, localhost, loopback). */
export function ensureServerCert(p: Paths): { cert: string; key: string; fingerprint: string } {
  const certFile = serverCertPath(p);
  const keyFile = serverKeyPath(p);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(p.etc, { recursive: true, mode: 0o755 });
    const host = hostname();
    makeSelfSigned('daemon', certFile, keyFile, `berthd@${host}`, [
      `DNS:${host}`,
      'DNS:localhost',
      'IP:127.0.0.1',
      'IP:::1',
    ]);
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
