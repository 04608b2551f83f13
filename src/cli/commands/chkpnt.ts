// berth chkpnt CTID [--dumpfile DIR]
import { parseCtId } from '../../core/ctid.ts';
import { chkpntContainer } from '../../ops/chkpnt.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { dumpfile: { type: 'string' } } as const;

export const command: Command = {
  summary: 'checkpoint a running container to disk and stop it',
  usage: 'berth chkpnt CTID [--dumpfile DIR]',
  help: `Dumps the container's processes with CRIU (their memory, open files, sockets, the
console) into DIR, then stops it as "berth stop --fast" does; "berth restore CTID --dumpfile
DIR" brings it back where it was. A failed dump leaves the container running. CRIU 4.2 or
newer must be installed (./setup-criu.sh). DIR gets CRIU's images, its log (dump.log) and
berth-meta.json (what restore checks: CTID, ID_BASE, layout, CRIU version).

  --dumpfile DIR  where the checkpoint goes (default /var/lib/berth/dump/CTID, mode 0700); an
                  existing DIR must be empty or hold an earlier checkpoint, which is replaced

An enter session goes with the checkpoint: its shell is handed to init, the admin's berth
enter ends saying so, and after the restore "berth enter --attach N CTID" reaches the same
shell again. Refused while an exec session runs in the container: CRIU dumps init and its
descendants, and the session (a child of berth's helper) would be lost. Routed (IP_ADDRESS)
and bridged (NETIF) addresses and their TCP sessions are kept (--tcp-established), as are
device nodes, bind mounts and systemd guests (without FEATURES nesting: see
docs/checkpoint.md for what is kept and why). "berth suspend CTID --dumpfile DIR" does the
same (vzctl's other name for it).

Example:
  berth chkpnt 101 && berth restore 101 --dumpfile /var/lib/berth/dump/101

Exit codes: 16 the dump failed or was refused (the message quotes dump.log), 31 not running,
14 no such container.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('chkpnt', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const r = await chkpntContainer(ctx, id, values.dumpfile);
    io.err(`Container ${id} checkpointed to ${r.dir} (dump ${r.ms} ms) and stopped`);
    return 0;
  },
};
