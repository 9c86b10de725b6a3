/** Number and rate formats of the reports. */
export const count = (n: number): string => n.toLocaleString();

/** A fraction 0–1 as a percentage; a dash when there is nothing to divide by. */
export function pct(rate: number | null | undefined, digits = 1): string {
  if (rate === null || rate === undefined) return '—';
  return `${(rate * 100).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: rate > 0 && rate < 0.1 ? 1 : 0 })} %`;
}

/** Seconds as the largest sensible unit ("3.5 days", "4 h", "12 min"). */
export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds >= 86_400) return `${(seconds / 86_400).toLocaleString(undefined, { maximumFractionDigits: 1 })} days`;
  if (seconds >= 3_600) return `${(seconds / 3_600).toLocaleString(undefined, { maximumFractionDigits: 1 })} h`;
  return `${Math.round(seconds / 60).toLocaleString()} min`;
}

/** "2027-01-05" → "Jan 5" (the day is the workspace's, so it is formatted without a zone shift). */
export function shortDay(day: string): string {
  const [y, m, d] = day.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d!)).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
