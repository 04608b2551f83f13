// A small line chart on a canvas: the last N samples of one or two series, the newest at the
// right, scaled to the larger of the data and a floor (a limit, 100 %), redrawn on each sample.

export interface Series {
  label: string;
  /** a CSS colour */
  color: string;
  values: (number | null)[];
}

export interface ChartOptions {
  /** the samples kept (one every poll) */
  points: number;
  /** what a value reads as: "12 %", "80 MiB" */
  format: (v: number) => string;
  /** the top of the scale is at least this */
  floor: number;
}

export class Chart {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly legend: HTMLElement;
  private readonly series: Series[];
  private readonly opts: ChartOptions;
  private readonly title: string;
  private note: string | null = null;
  /** a horizontal line (a limit), or null */
  limit: number | null = null;

  constructor(title: string, series: Omit<Series, 'values'>[], opts: ChartOptions) {
    this.opts = opts;
    this.title = title;
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.legend = document.createElement('span');
    this.legend.className = 'legend';
    caption.append(' ', this.legend);
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', title);
    this.element.append(caption, this.canvas);
  }

  /** One sample per series (null: no value this time). */
  push(values: (number | null)[]): void {
    this.note = null;
    this.series.forEach((s, i) => {
      s.values.push(values[i] ?? null);
      if (s.values.length > this.opts.points) s.values.shift();
    });
    this.draw();
  }

  /** Nothing to plot: says why instead (the API has no such counter yet). */
  unavailable(why: string): void {
    this.note = why;
    this.draw();
  }

  draw(): void {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(100, this.canvas.clientWidth);
    const h = Math.max(60, this.canvas.clientHeight);
    if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
      this.canvas.width = Math.round(w * ratio);
      this.canvas.height = Math.round(h * ratio);
    }
    const g = this.canvas.getContext('2d');
    if (!g) return;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(this.canvas);
    g.font = `12px ${css.fontFamily}`;
    g.fillStyle = css.color;
    if (this.note !== null) {
      this.legend.textContent = '';
      g.textAlign = 'center';
      g.fillText(this.note, w / 2, h / 2, w - 16);
      this.canvas.setAttribute('aria-label', `${this.title}: ${this.note}`);
      return;
    }
    const all = this.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
    // scaled to the data (a 512 MiB limit would flatten 20 MiB of use): the limit is drawn once in reach
    const top = Math.max(this.opts.floor, Math.max(0, ...all) * 1.15);
    const y = (v: number) => h - 4 - (v / top) * (h - 20);
    const dx = w / Math.max(1, this.opts.points - 1);
    // the scale's top, and a grid line at half
    g.strokeStyle = css.borderColor || '#ccc';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(0, y(top / 2));
    g.lineTo(w, y(top / 2));
    g.stroke();
    g.textAlign = 'left';
    g.fillText(this.opts.format(top), 4, 12);
    if (this.limit !== null && this.limit <= top) {
      g.setLineDash([4, 4]);
      g.beginPath();
      g.moveTo(0, y(this.limit));
      g.lineTo(w, y(this.limit));
      g.stroke();
      g.setLineDash([]);
    }
    const now: string[] = [];
    for (const s of this.series) {
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.beginPath();
      let pen = false;
      const offset = this.opts.points - s.values.length;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        const px = (offset + i) * dx;
        if (pen) g.lineTo(px, y(v));
        else g.moveTo(px, y(v));
        pen = true;
      });
      g.stroke();
      const last = s.values.at(-1);
      now.push(`${s.label} ${last === null || last === undefined ? '-' : this.opts.format(last)}`);
    }
    if (this.limit !== null) now.push(`limit ${this.opts.format(this.limit)}`);
    this.legend.textContent = now.join(' · ');
    this.canvas.setAttribute('aria-label', `${this.title}: ${now.join(', ')}`);
  }
}
