/**
 * The pieces every analytics read shares: report ranges as local days of the workspace's time
 * zone (and the UTC instants that bound them), the labels of a series, and counts and rates
 * from rollup rows (which metric is which number: docs/analytics.md).
 */
import type { Queryable } from '../db/database.js';
import { workspaceTimeZone } from '../core/workspace.js';
import { AppError } from '../http/errors.js';
import type { CountsView, EmailCountsView, RangeInput } from './analytics.schemas.js';
import type { CountRow } from './rollup.js';

export const DAY_MS = 86_400_000;
export const EMAIL_METRICS = ['sent', 'delivered', 'opened', 'opened_any', 'clicked', 'clicked_any', 'replied', 'bounced', 'complained', 'unsubscribed', 'machine_opens'] as const;
export const JOURNEY_METRICS = ['enrolled', 'converted', 'convert_seconds'] as const;
export const ALL_METRICS = [...EMAIL_METRICS, ...JOURNEY_METRICS, 'events', 'contacts_created'];

export interface ResolvedRange {
  from: string;
  to: string;
  fromAt: Date;
  toAt: Date;
  timeZone: string;
  granularity: 'day' | 'hour';
  includeMachineOpens: boolean;
}

/** YYYY-MM-DD of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

const validDate = (date: string) => {
  const parsed = Date.parse(`${date}T00:00:00Z`);
  return Number.isFinite(parsed) && new Date(parsed).toISOString().slice(0, 10) === date;
};

/**
 * The range as local days [from, to] of the workspace's zone and the UTC instants bounding it
 * (from's midnight to the midnight after `to`, by PostgreSQL's zone rules). Default: the last
 * `defaultDays` days ending today.
 */
export async function resolveRange(q: Queryable, workspaceId: string, input: RangeInput, now: Date, defaultDays = 30): Promise<ResolvedRange> {
  const timeZone = await workspaceTimeZone(q, workspaceId);
  const to = input.to ?? localDate(now, timeZone);
  const from = input.from ?? addDays(to, -(defaultDays - 1));
  const granularity = input.granularity ?? 'day';
  if (!validDate(from) || !validDate(to)) throw new AppError('ANALYTICS_RANGE_INVALID', 'That date does not exist', { from, to });
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (days < 1) throw new AppError('ANALYTICS_RANGE_INVALID', '"from" must not be after "to"', { from, to });
  if (days > 366) throw new AppError('ANALYTICS_RANGE_INVALID', 'A report range is at most 366 days', { from, to });
  if (granularity === 'hour' && days > 31) throw new AppError('ANALYTICS_RANGE_INVALID', 'Hourly numbers cover at most 31 days', { from, to });
  const { rows } = await q.query<{ from_at: Date; to_at: Date }>(
    `SELECT ($1::date::timestamp AT TIME ZONE $3) AS from_at, (($2::date + 1)::timestamp AT TIME ZONE $3) AS to_at`,
    [from, to, timeZone],
  );
  return { from, to, fromAt: new Date(rows[0]!.from_at), toAt: new Date(rows[0]!.to_at), timeZone, granularity, includeMachineOpens: input.includeMachineOpens ?? false };
}

/** The labels of a range's points: its days, or its local hours (a DST change has 23 or 25). */
export function pointLabels(range: Pick<ResolvedRange, 'from' | 'to' | 'fromAt' | 'toAt' | 'timeZone' | 'granularity'>): string[] {
  const labels: string[] = [];
  if (range.granularity === 'day') {
    for (let d = range.from; d <= range.to; d = addDays(d, 1)) labels.push(d);
    return labels;
  }
  const format = new Intl.DateTimeFormat('en-CA', { timeZone: range.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
  for (let t = range.fromAt.getTime(); t < range.toAt.getTime(); t += 900_000) {
    const p = Object.fromEntries(format.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const label = `${p.year}-${p.month}-${p.day}T${p.hour}:00`;
    if (labels[labels.length - 1] !== label && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

export type MetricMap = Map<string, number>;
export const metricsOf = (rows: CountRow[]): MetricMap => {
  const m: MetricMap = new Map();
  for (const r of rows) m.set(r.metric, (m.get(r.metric) ?? 0) + r.n);
  return m;
};

export const rate = (n: number, d: number): number | null => (d > 0 ? n / d : null);

export function emailCountsOf(m: MetricMap, includeMachineOpens: boolean): EmailCountsView {
  const g = (k: string) => m.get(k) ?? 0;
  return {
    sent: g('sent'),
    delivered: g('delivered'),
    opened: includeMachineOpens ? g('opened_any') : g('opened'),
    clicked: includeMachineOpens ? g('clicked_any') : g('clicked'),
    replied: g('replied'),
    bounced: g('bounced'),
    complained: g('complained'),
    unsubscribed: g('unsubscribed'),
    machineOpens: g('machine_opens'),
  };
}

/** Email counts, their rates (per email sent) and the journey's enrolments and goal conversions. */
export function countsOf(m: MetricMap, includeMachineOpens: boolean): CountsView {
  const e = emailCountsOf(m, includeMachineOpens);
  const enrolled = m.get('enrolled') ?? 0;
  const converted = m.get('converted') ?? 0;
  return {
    ...e,
    openRate: rate(e.opened, e.sent),
    clickRate: rate(e.clicked, e.sent),
    bounceRate: rate(e.bounced, e.sent),
    complaintRate: rate(e.complained, e.sent),
    unsubscribeRate: rate(e.unsubscribed, e.sent),
    enrolled,
    converted,
    conversionRate: rate(converted, enrolled),
    avgSecondsToConvert: converted > 0 ? (m.get('convert_seconds') ?? 0) / converted : null,
  };
}

