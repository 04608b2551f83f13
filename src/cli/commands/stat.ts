// berth stat CTID [--json], berth stat --prometheus [CTID...]
import { parseCtId } from '../../core/ctid.ts';
import { collectMetrics } from '../../ops/metrics.ts';
import { statContainer } from '../../ops/stat.ts';
import { VERSION } from '../berth.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

const OPTIONS = { json: { type: 'boolean' }, prometheus: { type: 'boolean' } } as const;

export const command: Command = {
  summary: "a running container's resource counters (beancounters), or all in Prometheus' format",
  usage: 'berth stat CTID [--json] | berth stat --prometheus [CTID...]',
  help: `Prints, like OpenVZ's /proc/user_beancounters, per resource: what the container holds
now, the most it held since it started (maxheld), its limit and how often the limit was hit
(failcnt). Read from its cgroups: memory (physpages, swappages: 4 KiB pages), pids (numproc),
OOM kills (oomkills) and CPU time used (cpu_seconds). "-" is a figure this host's cgroups do
not keep (cgroup v1 has no swap or process high-water mark) or no limit.

The same figures are list fields: physpages.m, physpages.l, physpages.f (and swappages.*,
numproc.*), oomkills, cpu_seconds.

  --json             print a JSON array of {resource, held, maxheld, limit, failcnt}
                     (null for "-")
  --prometheus       print every container (or those named, running or not) in Prometheus'
                     text format, memory in bytes, with traffic and disk use: for
                     node_exporter's textfile collector (berth stat --prometheus >
                     DIR/berth.prom.tmp && mv DIR/berth.prom.tmp DIR/berth.prom). Named
                     containers get no host-wide series (berth_build_info, berth_containers),
                     so one file per container does not repeat them. The series:
                     docs/metrics.md.

Exit codes: 31 not running (not with --prometheus), 14 no such container.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse(
      'stat',
      args,
      OPTIONS,
      args.includes('--prometheus') ? Number.POSITIVE_INFINITY : 1,
    );
    if (values.prometheus) {
      const ids = positionals.length ? positionals.map((p) => parseCtId(p)) : undefined;
      io.out(collectMetrics(ctx, { version: VERSION, ids }).replace(/\n$/, ''));
      return 0;
    }
    const counters = statContainer(ctx, parseCtId(positionals[0]));
    if (values.json) io.out(JSON.stringify(counters, null, 2));
    else {
      const cell = (v: number | null) => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(2));
      io.out(
        formatTable(
          ['RESOURCE', 'HELD', 'MAXHELD', 'LIMIT', 'FAILCNT'],
          counters.map((c) => [c.resource, cell(c.held), cell(c.maxheld), cell(c.limit), cell(c.failcnt)]),
        ),
      );
    }
    return 0;
  },
};
