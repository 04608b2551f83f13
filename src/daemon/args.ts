// A JSON body as a verb's command line: the keys are the CLI's option names (create's
// {"ostemplate": "busybox", "hostname": "web1"} is --ostemplate busybox --hostname web1), so the
// daemon takes exactly what the CLI takes and the verb validates it as it always does.
import type { Options } from '../cli/command.ts';
import { BerthError } from '../core/errors.ts';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** The body as an object, or a 400. */
export function objectBody(verb: string, body: unknown): Record<string, Json> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BerthError('BAD_SYNTAX', `${verb}: the request body must be a JSON object`);
  }
  return body as Record<string, Json>;
}

/** The body as an object with no keys outside ALLOWED (a 400 names the first); values are checked later. */
export function knownFields(verb: string, body: unknown, allowed: readonly string[]): Record<string, Json> {
  const o = objectBody(verb, body);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      throw new BerthError('BAD_SYNTAX', `${verb}: unknown field ${JSON.stringify(k.slice(0, 80))}`);
  }
  return o;
}

/**
 * --KEY VALUE for each key the verb's options name; `skip` keys are the route's own (ctid,
 * save). Unknown keys, objects and wrong types are a 400 before anything runs.
 */
export function optionArgs(
  verb: string,
  body: Record<string, Json>,
  options: Options,
  skip: readonly string[] = [],
): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (skip.includes(key)) continue;
    const opt = options[key];
    if (!opt || key === 'json' || key === 'help') {
      throw new BerthError('BAD_SYNTAX', `${verb}: unknown field ${JSON.stringify(key.slice(0, 80))}`, {
        hint: `the fields are the options of berth ${verb} (berth help ${verb})`,
      });
    }
    const values = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && !opt.multiple && value.length !== 1) {
      throw new BerthError('BAD_VALUE', `${verb}: ${key} takes one value, not a list`);
    }
    for (const v of values) {
      if (opt.type === 'boolean') {
        if (typeof v !== 'boolean') throw new BerthError('BAD_VALUE', `${verb}: ${key} must be true or false`);
        if (v) args.push(`--${key}`);
        continue;
      }
      // vzctl's yes/no options take JSON booleans too
      const text = typeof v === 'boolean' ? (v ? 'yes' : 'no') : typeof v === 'number' ? String(v) : v;
      if (typeof text !== 'string') {
        throw new BerthError('BAD_VALUE', `${verb}: ${key} must be a string, a number or a boolean`);
      }
      args.push(`--${key}=${text}`);
    }
  }
  return args;
}
