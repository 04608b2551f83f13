// berth clone CTID NEWCTID [--hostname NAME]
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { cloneContainer } from '../../ops/clone.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { hostname: { type: 'string' } } as const;

export const command: Command = {
  summary: 'copy a container as a new, distinct one',
  progress: true,
  usage: 'berth clone CTID NEWCTID [--hostname NAME]',
  help: `Copies the container's files and config as NEWCTID, which is left stopped. The copy is
a distinct machine: a new hostname (ctNEWCTID unless --hostname), no IP addresses or port
forwards, new MACs and host interface names for its bridged interfaces (their bridges and DHCP
setting stay), and a fresh /etc/machine-id written at its first start.
Limits, layout and everything else are kept. A running source is frozen only while berth
catches up with what changed during the copy (an image for the whole copy); an overlay clone
copies only what the source changed on its shared template layer.

  --hostname NAME    the copy's hostname (default: ctNEWCTID)

Example:
  berth clone 101 104 --hostname web2 && berth start 104

Exit codes: 14 no such container, 44 NEWCTID exists, 21 bad value.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('clone', args, OPTIONS, 2);
    if (!positionals[1])
      throw new BerthError('BAD_SYNTAX', 'clone: needs CTID and NEWCTID', { hint: 'berth clone 101 102' });
    const [from, to] = [parseCtId(positionals[0]), parseCtId(positionals[1])];
    await cloneContainer(ctx, from, to, values.hostname);
    io.err(`Container ${from} cloned as ${to}`);
    return 0;
  },
};
