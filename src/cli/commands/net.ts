// berth net create|list|destroy
import { BerthError } from '../../core/errors.ts';
import { bridgeCreate, bridgeDestroy, bridgeList } from '../../ops/bridge.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

const CREATE_OPTIONS = { subnet: { type: 'string', multiple: true } } as const;
const LIST_OPTIONS = { json: { type: 'boolean' } } as const;

export const command: Command = {
  summary: 'manage host bridges for bridged (veth) containers',
  usage: 'berth net create NAME [--subnet CIDR]... | berth net list [--json] | berth net destroy NAME',
  help: `Bridges berth creates and remembers (/etc/berth/net/NAME.conf): after a reboot, the first
container that needs one creates it again. Containers can also join a bridge berth does not
manage (created with ip link or by the distro); a missing one is an error at start (exit 151).

  net create NAME --subnet CIDR   a bridge holding the first address of CIDR (10.89.0.0/24
                                  gives 10.89.0.1/24); --subnet is repeatable (IPv4, IPv6)
  net list [--json]               managed bridges, whether they exist now, their containers
  net destroy NAME                delete the bridge (refused while a container uses it)

  --subnet CIDR      (net create) the bridge's address and prefix; repeatable
  --json             (net list) print a JSON array

Containers join with: berth set CTID --netif_add eth0,,,,NAME --save, then
berth set CTID --ifname eth0 --ipadd 10.89.0.2/24 --gw 10.89.0.1 --save.

Example:
  berth net create br0 --subnet 10.89.0.0/24 --subnet fd00:89::/64

Exit codes: 21 bad name or subnet, or destroy of a bridge containers use; 151 destroy of a
bridge berth does not manage.`,
  options: { ...CREATE_OPTIONS, ...LIST_OPTIONS },
  async run(ctx, args, io) {
    const sub = args[0];
    if (sub === 'create') {
      const { values, positionals } = parse('net create', args.slice(1), CREATE_OPTIONS, 1);
      const name = positionals[0];
      if (!name)
        throw new BerthError('BAD_SYNTAX', 'net create: missing bridge name', { hint: 'berth net create br0' });
      const b = bridgeCreate(ctx, name, values.subnet ?? []);
      io.err(`Bridge ${b.name} created${b.addrs.length ? ` with ${b.addrs.join(' ')}` : ''}`);
      return 0;
    }
    if (sub === 'list') {
      const { values } = parse('net list', args.slice(1), LIST_OPTIONS, 0);
      const bs = bridgeList(ctx);
      if (values.json) io.out(JSON.stringify(bs, null, 2));
      else
        io.out(
          formatTable(
            ['NAME', 'STATE', 'ADDRESSES', 'CONTAINERS'],
            bs.map((b) => [b.name, b.up ? 'up' : 'absent', b.addrs.join(' ') || '-', b.users.join(',') || '-']),
          ),
        );
      return 0;
    }
    if (sub === 'destroy') {
      const { positionals } = parse('net destroy', args.slice(1), {}, 1);
      const name = positionals[0];
      if (!name) throw new BerthError('BAD_SYNTAX', 'net destroy: missing bridge name');
      bridgeDestroy(ctx, name);
      io.err(`Bridge ${name} destroyed`);
      return 0;
    }
    throw new BerthError('BAD_SYNTAX', `net: unknown subcommand ${JSON.stringify(sub ?? '')}`, {
      hint: 'berth net create NAME | berth net list | berth net destroy NAME',
    });
  },
};
