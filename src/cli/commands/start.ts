// berth start CTID
import { parseCtId } from '../../core/ctid.ts';
import { startContainer } from '../../ops/start.ts';
import { type Command, parse } from '../command.ts';

export const command: Command = {
  summary: 'start a container',
  usage: 'berth start CTID',
  help: `Mounts the container's root at VE_ROOT, creates its cgroups with its limits, builds its
namespaces and mounts, and execs its init (/sbin/init: busybox init or systemd). Returns once
init runs; init's output goes to /var/log/berth/CTID.console.log. The action scripts
/etc/berth/ct/{vps,CTID}.premount and .mount run on the host around the mount, CTID.start inside
once init runs (docs/scripts.md).

Exit codes: 32 already running, 43 private area missing, 7 the helper failed, 79 an action
script failed (the start is undone).`,
  async run(ctx, args, io) {
    const { positionals } = parse('start', args, {});
    const id = parseCtId(positionals[0]);
    const pid = await startContainer(ctx, id);
    io.err(`Container ${id} started (init pid ${pid})`);
    return 0;
  },
};
