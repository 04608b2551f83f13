// Table and JSON printing for list-like output.

/** Left-aligned columns, numbers right-aligned, like vzlist. */
export function formatTable(headers: string[], rows: string[][], header = true): string {
  const all = header ? [headers, ...rows] : rows;
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => {
          const w = widths[i] ?? 0;
          return /^-?\d+$/.test(cell) || (i === 0 && header) ? cell.padStart(w) : cell.padEnd(w);
        })
        .join(' ')
        .trimEnd(),
    )
    .join('\n');
}
