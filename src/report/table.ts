/**
 * A plain-text table for the terminal: model names left-aligned, metrics right-aligned
 * with 4 decimals so the digits line up, '-' for a metric a model did not report.
 */
export function formatMetricsTable(rows: readonly { name: string; metrics: Record<string, number> }[], columns: readonly string[]): string {
  const cell = (metrics: Record<string, number>, key: string): string => {
    const v = Object.prototype.hasOwnProperty.call(metrics, key) ? metrics[key] : undefined;
    return typeof v === 'number' ? v.toFixed(4) : '-';
  };
  const grid = [['model', ...columns], ...rows.map((r) => [r.name, ...columns.map((c) => cell(r.metrics, c))])];
  const widths = grid[0]!.map((_, j) => Math.max(...grid.map((row) => row[j]!.length)));
  const line = (row: string[]): string =>
    row.map((text, j) => (j === 0 ? text.padEnd(widths[j]!) : text.padStart(widths[j]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(grid[0]!), rule, ...grid.slice(1).map(line)].join('\n');
}
