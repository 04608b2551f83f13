// A live status line on a terminal for long work (create from a big template, backup,
// restore, clone): bytes so far, of a total when known, and the rate. Commands set
// Ctx.progress only when stderr is a terminal and no --json was asked for; elsewhere all of
// this does nothing, so scripts and logs see only the lines that stay.
import { formatMB } from '../core/size.ts';

export type ProgressLine = (line: string | null) => void;

export interface Meter {
  /** N more bytes done */
  add(n: number): void;
  /** bytes done so far */
  set(n: number): void;
  /** clears the line */
  end(): void;
}

/** at most this often: a redraw per chunk of a stream would cost more than the work */
const REDRAW_MS = 200;

export function meter(show: ProgressLine | undefined, label: string, total: number | null): Meter {
  if (!show) return { add() {}, set() {}, end() {} };
  const t0 = Date.now();
  let done = 0;
  let drawn = 0;
  const draw = () => {
    const now = Date.now();
    if (now - drawn < REDRAW_MS) return;
    drawn = now;
    const secs = (now - t0) / 1000;
    const of = total ? ` of ${formatMB(total)} (${Math.min(100, Math.floor((done / total) * 100))}%)` : '';
    show(`${label}: ${formatMB(done)}${of}${secs > 0.5 ? `, ${formatMB(done / secs)}/s` : ''}`);
  };
  return {
    add(n) {
      done += n;
      draw();
    },
    set(n) {
      done = n;
      draw();
    },
    end() {
      show(null);
    },
  };
}
