/**
 * A small SVG line chart (one line per series) for the Guardian health page. Plain SVG with
 * presentation attributes: no chart library, nothing the CSP has to allow. The same numbers are
 * always shown in a table beside it for screen readers and exact values.
 */
const COLORS = ['#2f4bd6', '#c2410c', '#15803d', '#7c3aed', '#b91c1c', '#0e7490'];
const W = 640;
const H = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

export interface Series {
  name: string;
  points: Array<{ at: number; value: number | null }>;
}

export function LineChart({ title, series, from, to, format }: { title: string; series: Series[]; from: number; to: number; format: (value: number) => string }) {
  const values = series.flatMap((s) => s.points.map((p) => p.value).filter((v): v is number => v !== null));
  const max = Math.max(1e-9, ...values);
  const x = (at: number) => PAD.left + ((at - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (value: number) => PAD.top + (1 - value / max) * (H - PAD.top - PAD.bottom);
  const titleId = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  const ticks = [0, 0.5, 1].map((f) => f * max);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} width="100%">
        <title id={titleId}>{title}</title>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(tick)} y2={y(tick)} stroke="#e5e7eb" />
            <text x={PAD.left - 6} y={y(tick) + 4} textAnchor="end" fontSize="11" fill="#4b5563">
              {format(tick)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={H - 8} fontSize="11" fill="#4b5563">
          {new Date(from).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit' })}
        </text>
        <text x={W - PAD.right} y={H - 8} textAnchor="end" fontSize="11" fill="#4b5563">
          {new Date(to).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit' })}
        </text>
        {series.map((s, i) => {
          const points = s.points.filter((p) => p.value !== null).map((p) => `${x(p.at).toFixed(1)},${y(p.value!).toFixed(1)}`);
          const color = COLORS[i % COLORS.length]!;
          return points.length === 1 ? (
            <circle key={s.name} cx={points[0]!.split(',')[0]} cy={points[0]!.split(',')[1]} r="3" fill={color} />
          ) : (
            <polyline key={s.name} points={points.join(' ')} fill="none" stroke={color} strokeWidth="2" />
          );
        })}
      </svg>
      <figcaption className="chart-legend">
        <strong>{title}</strong>
        {series.map((s, i) => (
          <span key={s.name} className="chart-key">
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={COLORS[i % COLORS.length]} />
            </svg>{' '}
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
