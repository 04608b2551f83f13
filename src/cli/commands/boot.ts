// berth boot / berth shutdown [--fast] [--timeout S]  (run by berth.service)
import { BerthError } from '../../core/errors.ts';
import { bootAll, shutdownAll } from '../../ops/boot.ts';
import { type Command, parse } from '../command.ts';

const BOOT_OPTIONS = { json: { type: 'boolean' } } as const;
const SHUTDOWN_OPTIONS = { fast: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' } } as const;

export const bootCommand: Command = {
  summary: 'start the ONBOOT containers, highest BOOTORDER first',
  usage: 'berth boot [--json]',
  help: `Starts every container with ONBOOT="yes" that is not running, in BOOTORDER (highest
first; containers without one last). One that fails to start does not stop the others. This is
what berth.service runs at host boot (etc/berth.service; setup.sh installs it).

  --json             print what was started, skipped (already running) and failed

Exit codes: 0 all started, 153 some failed (each one is named).`,
  options: BOOT_OPTIONS,
  async run(ctx, args, io) {
    const { values } = parse('boot', args, BOOT_OPTIONS, 0);
    const r = await bootAll(ctx);
    if (values.json) io.out(JSON.stringify(r, null, 2));
    io.err(`Boot: started ${r.done.length}${r.skipped.length ? `, ${r.skipped.length} already running` : ''}`);
    return 0;
  },
};

export const shutdownCommand: Command = {
  summary: 'stop every running container, in reverse BOOTORDER',
  usage: 'berth shutdown [--fast] [--timeout SECONDS] [--json]',
  help: `Stops every running container cleanly, lowest BOOTORDER first (the reverse of boot);
containers of one BOOTORDER stop in parallel. This is what berth.service runs at host shutdown.

  --fast             kill at once, without a clean shutdown
  --timeout SECONDS  how long each container's init may take (default: its STOP_TIMEOUT)
  --json             print what was stopped and what failed

Exit codes: 0 all stopped, 153 some failed (each one is named).`,
  options: SHUTDOWN_OPTIONS,
  async run(ctx, args, io) {
    const { values } = parse('shutdown', args, SHUTDOWN_OPTIONS, 0);
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
      throw new BerthError('BAD_VALUE', `shutdown: invalid timeout ${JSON.stringify(values.timeout)}`);
    }
    const r = await shutdownAll(ctx, { fast: values.fast ?? false, ...(timeout !== undefined ? { timeout } : {}) });
    if (values.json) io.out(JSON.stringify(r, null, 2));
    io.err(`Shutdown: stopped ${r.done.length}`);
    return 0;
  },
};
