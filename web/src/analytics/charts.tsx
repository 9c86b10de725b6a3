/**
 * The report charts (Recharts), each with its numbers as a table behind a disclosure, so the data
 * is there for screen readers and for copying. Imported only by the lazily loaded report pages,
 * so Recharts stays out of the first JavaScript chunk.
 */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { shortDay } from './format';

export const COLORS = ['#3451d1', '#1e7a46', '#a05a00', '#c0392b', '#6b3fa0', '#0f7c8c'];

export interface SeriesDef<T> {
  key: keyof T & string;
  label: string;
}

function DataTable<T extends { at: string }>({ caption, rows, series, format }: { caption: string; rows: T[]; series: Array<SeriesDef<T>>; format: (v: number) => string }) {
  return (
    <details className="chart-data">
      <summary>Show the numbers as a table</summary>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {series.map((s) => (
                <th key={s.key} scope="col" className="num">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.at}>
                <th scope="row">{row.at}</th>
                {series.map((s) => (
                  <td key={s.key} className="num">
                    {format(Number(row[s.key] ?? 0))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/** A line per series over the days (or hours) of `rows`. */
export function TimeChart<T extends { at: string }>({ title, rows, series, format = (v) => v.toLocaleString(), children }: { title: string; rows: T[]; series: Array<SeriesDef<T>>; format?: (v: number) => string; children?: ReactNode }) {
  const totals = series.map((s) => `${s.label} ${format(rows.reduce((n, r) => n + Number(r[s.key] ?? 0), 0))}`).join(', ');
  return (
    <figure className="panel chart">
      <figcaption className="chart-title">{title}</figcaption>
      {children}
      <div className="chart-area" role="img" aria-label={`${title}, ${rows[0]?.at ?? ''} to ${rows[rows.length - 1]?.at ?? ''}: ${totals}`}>
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#e5e8ee" vertical={false} />
            <XAxis dataKey="at" tickFormatter={(v: string) => (v.length > 10 ? v.slice(11, 16) : shortDay(v))} tick={{ fill: '#5b6675', fontSize: 12 }} minTickGap={24} />
            <YAxis allowDecimals={false} tick={{ fill: '#5b6675', fontSize: 12 }} width={48} tickFormatter={(v: number) => format(v)} />
            <Tooltip formatter={(v) => format(Number(v))} />
            <Legend />
            {series.map((s, i) => (
              <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={COLORS[i % COLORS.length]} strokeWidth={2} dot={false} isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <DataTable caption={title} rows={rows} series={series} format={format} />
    </figure>
  );
}

/** Horizontal bars: one per row (the funnel's nodes, the variants). */
export function BarsChart({ title, rows, valueLabel }: { title: string; rows: Array<{ label: string; value: number; note?: string }>; valueLabel: string }) {
  return (
    <figure className="panel chart">
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-area" role="img" aria-label={`${title}: ${rows.map((r) => `${r.label} ${r.value.toLocaleString()}${r.note ? ` (${r.note})` : ''}`).join('; ')}`}>
        <ResponsiveContainer width="100%" height={Math.max(120, rows.length * 40 + 30)}>
          <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#e5e8ee" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={{ fill: '#5b6675', fontSize: 12 }} />
            <YAxis type="category" dataKey="label" width={160} tick={{ fill: '#1c2430', fontSize: 12 }} />
            <Tooltip />
            <Bar dataKey="value" name={valueLabel} fill={COLORS[0]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
