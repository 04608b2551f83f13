// What the host offers containers: OS templates and managed bridges (berth template, berth net).
import { BerthError } from '../../core/errors.ts';
import { knownFields } from '../args.ts';
import type { Daemon } from '../daemon.ts';
import type { Route } from '../router.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function nameOf(what: string, v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v))
    throw new BerthError('BAD_VALUE', `${what}: name must be letters, digits, _ . -`);
  return v;
}

export function hostRoutes(d: Daemon): Route[] {
  return [
    { method: 'GET', path: '/1.0/templates', handler: async () => d.readVerb(['template', 'list', '--json']) },
    {
      method: 'POST',
      path: '/1.0/templates',
      handler: async (r) => {
        const o = knownFields('template', await r.json(), ['name']);
        return d.operation(r, ['template', 'create', nameOf('template', o['name'])], []);
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/templates/{name}',
      handler: async (r) => d.operation(r, ['template', 'remove', nameOf('template', r.params['name'])], []),
    },
    { method: 'GET', path: '/1.0/networks', handler: async () => d.readVerb(['net', 'list', '--json']) },
    {
      method: 'POST',
      path: '/1.0/networks',
      handler: async (r) => {
        const o = knownFields('net', await r.json(), ['name', 'subnet']);
        const subnets = o['subnet'] === undefined ? [] : ([] as unknown[]).concat(o['subnet']);
        if (!subnets.every((x) => typeof x === 'string'))
          throw new BerthError('BAD_VALUE', 'net: subnet must be a string or a list of them');
        return d.operation(r, ['net', 'create', nameOf('net', o['name']), ...subnets.map((x) => `--subnet=${x}`)], []);
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/networks/{name}',
      handler: async (r) => d.operation(r, ['net', 'destroy', nameOf('net', r.params['name'])], []),
    },
  ];
}
