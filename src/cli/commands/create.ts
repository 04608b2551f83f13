// berth create CTID [--ostemplate NAME] [--hostname H] [--config SAMPLE]
import { parseCtId } from '../../core/ctid.ts';
import { createContainer } from '../../ops/create.ts';
import { type Command, parse } from '../command.ts';

export const command: Command = {
  summary: 'create a container from an OS template',
  usage: 'berth create CTID [--ostemplate NAME] [--hostname NAME] [--config SAMPLE]',
  help: `Unpacks the OS template into the private area (VE_PRIVATE) and writes
/etc/berth/ct/CTID.conf from a config sample. The container is left stopped.

  --ostemplate NAME  template from the cache (default: DEF_OSTEMPLATE, "busybox");
                     see "berth template list"
  --hostname NAME    the container's hostname (default: ctCTID)
  --config SAMPLE    start from /etc/berth/ct/ve-SAMPLE.conf-sample (default: basic)

Exit codes: 44 the CTID exists, 47 no such template, 21 bad value.`,
  async run(ctx, args) {
    const { values, positionals } = parse('create', args, {
      ostemplate: { type: 'string' },
      hostname: { type: 'string' },
      config: { type: 'string' },
    });
    const id = parseCtId(positionals[0]);
    await createContainer(ctx, id, values);
    return 0;
  },
};
