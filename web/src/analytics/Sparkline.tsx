/**
 * A small line of a few numbers (the campaign list's 14 days of sends) as plain SVG — no chart
 * library, so the list stays in the first JavaScript chunk. The numbers are in its label.
 */
export function Sparkline({ points, label }: { points: Array<{ at: string; value: number }>; label: string }) {
  const width = 96;
  const height = 24;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = points.length > 1 ? width / (points.length - 1) : width;
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 2 - (p.value / max) * (height - 4)).toFixed(1)}`).join(' ');
  const total = points.reduce((n, p) => n + p.value, 0);
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${total.toLocaleString()} in ${points.length} days (${points.map((p) => p.value).join(', ')})`}>
      <path d={path} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}
