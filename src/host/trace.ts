// BERTH_TRACE=1: phase timings on stderr, for performance work (docs/performance.md).
// Costs one env lookup when off.
import { writeSync } from 'node:fs';

let on = process.env['BERTH_TRACE'] === '1';

/** Prints "berth-trace: <ms since process start> <label>" when tracing is on. */
export function trace(label: string): void {
  if (on) writeSync(2, `berth-trace: ${performance.now().toFixed(1)} ${label}\n`);
}

/** Reads BERTH_TRACE again: a worker of berth-oci's server takes its caller's environment. */
export function traceFromEnv(): void {
  on = process.env['BERTH_TRACE'] === '1';
}
