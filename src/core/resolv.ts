// Names and resolvers written into the container: /etc/resolv.conf from NAMESERVER and
// SEARCHDOMAIN.
import { BerthError } from './errors.ts';
import { type IpAddr, parseUnicast } from './net.ts';

/** A resolver address: any unicast address (a loopback resolver inside the container is fine). */
export function parseNameserver(raw: string): IpAddr {
  const ip = parseUnicast(raw);
  if (ip) return ip;
  throw new BerthError('BAD_DNS_SERVER', `invalid nameserver ${JSON.stringify(raw)}`, {
    hint: 'an IPv4 or IPv6 address, or "inherit" for the host\'s own resolvers',
  });
}

const DOMAIN_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function parseSearchDomain(raw: string): string {
  if (!DOMAIN_RE.test(raw)) {
    throw new BerthError('BAD_DNS_SEARCH', `invalid search domain ${JSON.stringify(raw)}`, {
      hint: 'a domain name such as example.com',
    });
  }
  return raw.toLowerCase();
}

/** NAMESERVER="..." words: addresses, or "inherit" (the host's resolvers at start). */
export function parseNameserverList(value: string): string[] {
  const words = value.split(/\s+/).filter(Boolean);
  return words.map((w) => (w === 'inherit' ? w : parseNameserver(w).addr));
}

/**
 * /etc/resolv.conf for the container, or null to leave the template's own. "inherit" takes
 * the host's nameservers (hostResolvers, read by the caller).
 */
export function resolvConf(nameservers: string[], search: string[], hostResolvers: string[]): string | null {
  if (nameservers.length === 0 && search.length === 0) return null;
  const ns = nameservers.flatMap((n) => (n === 'inherit' ? hostResolvers : [n]));
  const lines = ['# written by berth from NAMESERVER and SEARCHDOMAIN (berth set --nameserver)'];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  for (const n of [...new Set(ns)]) lines.push(`nameserver ${n}`);
  return `${lines.join('\n')}\n`;
}

/** The host's resolvers from its resolv.conf text (loopback stubs cannot serve a container). */
export function resolversOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*nameserver\s+(\S+)/gm)) {
    try {
      const ip = parseNameserver(m[1] ?? '');
      if (!ip.addr.startsWith('127.') && ip.addr !== '::1') out.push(ip.addr);
    } catch {}
  }
  return out;
}
