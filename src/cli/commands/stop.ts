// berth stop CTID [--fast] [--timeout S]
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { stopContainer } from '../../ops/stop.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { fast: { type: 'boolean' }, timeout: { type: 'string' } } as const;

export const command: Command = {
  summary: 'stop a container',
  usage: 'berth stop CTID [--fast] [--timeout SECONDS]',
  help: `Asks init to power off the way it expects (SIGRTMIN+4 for systemd, SIGUSR2 for busybox
init, SIGTERM otherwise), waits up to STOP_TIMEOUT seconds (default 60), then kills whatever is
left in the container's cgroups, removes them and unmounts VE_ROOT. The action script
CTID.stop runs inside first, the umount and postumount ones around the unmount
(docs/scripts.md); a failing one is a warning.

  --fast             kill at once, without a clean shutdown
  --timeout SECONDS  wait this long for the clean shutdown

Exit codes: 31 not running, 33 processes survived SIGKILL.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('stop', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    let timeout: number | undefined;
    if (values.timeout !== undefined) {
      timeout = Number(values.timeout);
      if (!Number.isFinite(timeout) || timeout < 0)
        throw new BerthError('BAD_VALUE', `stop: invalid timeout ${JSON.stringify(values.timeout)}`);
    }
    await stopContainer(ctx, id, { fast: values.fast ?? false, ...(timeout !== undefined ? { timeout } : {}) });
    io.err(`Container ${id} stopped`);
    return 0;
  },
};
