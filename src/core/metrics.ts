// Prometheus' text exposition format (version 0.0.4) of what each container holds and may hold:
// the series, their HELP and TYPE, label escaping, base units. Pure: ops/metrics.ts gathers.
import type { Counter } from './beancounters.ts';

/** Every state a container series can be in: one series each, 1 for the current, 0 otherwise. */
export const METRIC_STATES = ['running', 'suspended', 'stopped', 'broken'] as const;
export type MetricState = (typeof METRIC_STATES)[number];

/** Traffic of one interface, as the container sees it (received by the container = sent by the host end). */
export interface IfTraffic {
  /** the interface's name inside the container (venet0, eth0) */
  name: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export interface CtMetrics {
  ctid: string;
  state: MetricState;
  /** when its init started, in seconds since the epoch (running only) */
  startTime: number | null;
  /** from the config; null when it is broken */
  info: { hostname: string; description: string; ostemplate: string; layout: string } | null;
  /**
   * Beancounters with memory in bytes. Running: all read from the cgroups (limits as the kernel
   * enforces them). Stopped: only the limits, from the config; held, maxheld, failcnt null.
   */
  counters: Counter[];
  /** the container's interfaces, read from their host ends (running only) */
  net: IfTraffic[];
  /** bytes used on the container's filesystem and its size (image layout), null when not known */
  disk: { used: number | null; limit: number | null };
}

export interface Exposition {
  version: string;
  /** host-wide series (build info, counts): off when only some containers are asked for */
  host: boolean;
  cts: CtMetrics[];
}

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number | null];

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: (e: Exposition) => Sample[];
}

/** Label values: backslash, double quote and newline escaped (the format's only escapes there). */
export const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** HELP text: backslash and newline escaped. */
export const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** Floats as Go's ParseFloat reads them: NaN and the infinities have their own spellings. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

const counterOf = (ct: CtMetrics, r: Counter['resource']) => ct.counters.find((c) => c.resource === r);

/** One series per container from one field of one beancounter. */
function perCt(r: Counter['resource'], key: 'held' | 'maxheld' | 'limit' | 'failcnt') {
  return (e: Exposition): Sample[] => e.cts.map((ct) => [{ ctid: ct.ctid }, counterOf(ct, r)?.[key] ?? null]);
}

function perIf(key: keyof Omit<IfTraffic, 'name'>) {
  return (e: Exposition): Sample[] =>
    e.cts.flatMap((ct) => ct.net.map((i): Sample => [{ ctid: ct.ctid, interface: i.name }, i[key]]));
}

/** A beancounter's four series; `what` is its name in HELP, `unit` the base unit's suffix. */
const beancounter = (r: Counter['resource'], base: string, what: string, unit: '_bytes' | ''): Family[] => {
  const inUnit = unit ? ', in bytes' : '';
  return [
    { name: `${base}_usage${unit}`, type: 'gauge', help: `${what} held now${inUnit}`, samples: perCt(r, 'held') },
    {
      name: `${base}_peak${unit}`,
      type: 'gauge',
      help: `Most ${what.toLowerCase()} held since start (maxheld)${inUnit}`,
      samples: perCt(r, 'maxheld'),
    },
    {
      name: `${base}_limit${unit}`,
      type: 'gauge',
      help: `Limit of ${what.toLowerCase()}${inUnit}; no series when unlimited`,
      samples: perCt(r, 'limit'),
    },
    {
      name: `${base}_failcnt_total`,
      type: 'counter',
      help: `Times the ${what.toLowerCase()} limit was hit (failcnt)`,
      samples: perCt(r, 'failcnt'),
    },
  ];
};

export const FAMILIES: readonly Family[] = [
  {
    name: 'berth_build_info',
    type: 'gauge',
    help: 'The berth that gathered these metrics (always 1)',
    samples: (e) => (e.host ? [[{ version: e.version }, 1]] : []),
  },
  {
    name: 'berth_containers',
    type: 'gauge',
    help: 'Containers on this host by state',
    samples: (e) => (e.host ? METRIC_STATES.map((s) => [{ state: s }, e.cts.filter((c) => c.state === s).length]) : []),
  },
  {
    name: 'berth_container_info',
    type: 'gauge',
    help: "A container's config (always 1); join on ctid for its hostname",
    samples: (e) => e.cts.map((ct) => [{ ctid: ct.ctid, ...ct.info }, ct.info ? 1 : null]),
  },
  {
    name: 'berth_container_state',
    type: 'gauge',
    help: 'A container state: 1 for the one it is in, 0 for the others',
    samples: (e) =>
      e.cts.flatMap((ct) => METRIC_STATES.map((s): Sample => [{ ctid: ct.ctid, state: s }, Number(ct.state === s)])),
  },
  {
    name: 'berth_container_start_time_seconds',
    type: 'gauge',
    help: 'When the container started, in seconds since the epoch',
    samples: (e) => e.cts.map((ct) => [{ ctid: ct.ctid }, ct.startTime]),
  },
  {
    name: 'berth_container_cpu_seconds_total',
    type: 'counter',
    help: 'CPU time used since start, in seconds',
    samples: perCt('cpu_seconds', 'held'),
  },
  ...beancounter('physpages', 'berth_container_memory', 'Memory', '_bytes'),
  ...beancounter('swappages', 'berth_container_swap', 'Swap', '_bytes'),
  ...beancounter('numproc', 'berth_container_processes', 'Processes (and threads)', ''),
  {
    name: 'berth_container_oom_kills_total',
    type: 'counter',
    help: 'Processes the kernel killed for want of memory since start',
    samples: perCt('oomkills', 'held'),
  },
  ...(['receive', 'transmit'] as const).flatMap((dir): Family[] =>
    (['bytes', 'packets'] as const).map((what) => ({
      name: `berth_container_network_${dir}_${what}_total`,
      type: 'counter' as const,
      help: `${what === 'bytes' ? 'Bytes' : 'Packets'} the container ${dir === 'receive' ? 'received' : 'sent'} on an interface, counted at its host end`,
      samples: perIf(`${dir === 'receive' ? 'rx' : 'tx'}${what === 'bytes' ? 'Bytes' : 'Packets'}`),
    })),
  ),
  {
    name: 'berth_container_disk_usage_bytes',
    type: 'gauge',
    help: "Bytes in use on the container's own filesystem (image layout, while mounted)",
    samples: (e) => e.cts.map((ct) => [{ ctid: ct.ctid }, ct.disk.used]),
  },
  {
    name: 'berth_container_disk_limit_bytes',
    type: 'gauge',
    help: "Size of the container's own filesystem (image layout: DISKSPACE's hard limit)",
    samples: (e) => e.cts.map((ct) => [{ ctid: ct.ctid }, ct.disk.limit]),
  },
];

/** The exposition: every family with at least one series (null values are no series), HELP and TYPE first. */
export function formatMetrics(e: Exposition): string {
  const lines: string[] = [];
  for (const f of FAMILIES) {
    const samples = f.samples(e).filter((s): s is [Labels, number] => s[1] !== null);
    if (!samples.length) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${f.name}${l.length ? `{${l.join(',')}}` : ''} ${formatValue(value)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The counters of a stopped container: its configured limits only (bytes; null: unlimited). */
export function configCounters(limits: { ram: number | null; swap: number | null; numproc: number | null }): Counter[] {
  const only = (resource: Counter['resource'], limit: number | null): Counter => ({
    resource,
    held: null,
    maxheld: null,
    limit,
    failcnt: null,
  });
  return [only('physpages', limits.ram), only('swappages', limits.swap), only('numproc', limits.numproc)];
}

/** /proc/net/dev: per interface the receive and transmit bytes and packets (of that end). */
export function parseNetDev(text: string): Map<string, Omit<IfTraffic, 'name'>> {
  const out = new Map<string, Omit<IfTraffic, 'name'>>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(line.slice(0, colon).trim(), {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
    });
  }
  return out;
}

/** A container's traffic from its host end's counters: what the host end sent, the container received. */
export function trafficFromHostEnd(name: string, host: Omit<IfTraffic, 'name'>): IfTraffic {
  return {
    name,
    rxBytes: host.txBytes,
    txBytes: host.rxBytes,
    rxPackets: host.txPackets,
    txPackets: host.rxPackets,
  };
}
