// GET /1.0/events: server-sent events of lifecycle changes, operations, OOM kills and limit
// hits. Changes made by the daemon's own operations and by the CLI beside it are seen alike:
// while someone listens, the containers' status and fail counters are read every second and
// compared (the same reads as `berth list`, no locks).
import type { ServerResponse } from 'node:http';
import type { BerthEvent } from '../api/types.ts';

type Sink = (e: BerthEvent) => void;

export interface ContainerFacts {
  ctid: string;
  status: string;
  counters: Record<string, number>;
}

export class EventBus {
  private sinks = new Set<Sink>();
  private timer: NodeJS.Timeout | null = null;
  private last: Map<string, ContainerFacts> | null = null;

  private readonly poll: () => Promise<ContainerFacts[]>;
  private readonly interval: number;

  /** poll reads every container's facts; interval in ms */
  constructor(poll: () => Promise<ContainerFacts[]>, interval = 1000) {
    this.poll = poll;
    this.interval = interval;
  }

  emit(e: Omit<BerthEvent, 'timestamp'>): void {
    const full = { timestamp: new Date().toISOString(), ...e } as BerthEvent;
    for (const s of this.sinks) s(full);
  }

  /** An SSE stream on res until the client goes; types filters (empty: all). */
  subscribe(res: ServerResponse, types: string[]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': berthd events\n\n');
    const sink: Sink = (e) => {
      if (types.length && !types.includes(e.type)) return;
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    };
    this.sinks.add(sink);
    // a comment now and then: proxies and clients see a live stream
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(keepAlive);
      this.sinks.delete(sink);
      if (this.sinks.size === 0) this.stopPolling();
    });
    this.startPolling();
  }

  private startPolling(): void {
    if (this.timer) return;
    const tick = async () => {
      try {
        this.compare(await this.poll());
      } catch {} // a read that fails now is tried again at the next tick
      if (this.timer) this.timer = setTimeout(tick, this.interval);
    };
    this.timer = setTimeout(tick, 0);
  }

  private stopPolling(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.last = null;
  }

  /** Events for what changed since the last poll (the first poll only sets the baseline). */
  compare(now: ContainerFacts[]): void {
    const next = new Map(now.map((f) => [f.ctid, f]));
    const before = this.last;
    this.last = next;
    if (!before) return;
    for (const [ctid, f] of next) {
      const old = before.get(ctid);
      if (!old) {
        this.emit({ type: 'lifecycle', action: 'container-created', ctid });
        if (f.status !== 'stopped')
          this.emit({ type: 'lifecycle', action: lifecycleAction('stopped', f.status), ctid });
        continue;
      }
      if (old.status !== f.status)
        this.emit({ type: 'lifecycle', action: lifecycleAction(old.status, f.status), ctid });
      for (const [counter, value] of Object.entries(f.counters)) {
        const delta = value - (old.counters[counter] ?? 0);
        // a counter that went down belongs to a new run of the container
        if (delta > 0 && old.status === f.status) {
          this.emit({
            type: 'resource',
            action: counter === 'oomkills' ? 'oom-kill' : 'limit-hit',
            ctid,
            counter,
            delta,
          });
        }
      }
    }
    for (const ctid of before.keys()) {
      if (!next.has(ctid)) this.emit({ type: 'lifecycle', action: 'container-deleted', ctid });
    }
  }
}

export function lifecycleAction(from: string, to: string): string {
  if (to === 'running') return from === 'suspended' ? 'container-resumed' : 'container-started';
  if (to === 'suspended') return 'container-suspended';
  if (to === 'stopped') return 'container-stopped';
  return `container-${to}`;
}
