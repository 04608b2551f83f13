// CtId: the one validated form of a container id (a number or a name), parsed once at the edge.
import { BerthError } from './errors.ts';

declare const brand: unique symbol;
export type CtId = string & { readonly [brand]: 'CtId' };

const CTID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseCtId(raw: string | undefined): CtId {
  if (raw === undefined || raw === '') {
    throw new BerthError('BAD_SYNTAX', 'missing CTID', { hint: 'give a container id, e.g. 101' });
  }
  // '..' would walk out of every per-container directory; names must not look like paths.
  if (!CTID_RE.test(raw) || raw.includes('..')) {
    throw new BerthError('BAD_VALUE', `invalid CTID ${JSON.stringify(raw)}`, {
      hint: 'a CTID is a number or a name of letters, digits, _ . - (up to 64, no "..")',
    });
  }
  return raw as CtId;
}
