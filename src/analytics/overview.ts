/**
 * The workspace's numbers: report ranges in the workspace's time zone, counts and rates from the
 * rollups (rollup.ts), the overview series, and the home dashboard (contacts, hot leads, recent
 * band crossings, active campaigns, sending health). Reads take (q, workspaceId, …, now).
 */
import type { Queryable } from '../db/database.js';
import type { DashboardView, OverviewView, RangeInput, SeriesPointView } from './analytics.schemas.js';
import { campaignStats } from './campaign-stats.js';
import { ALL_METRICS, countsOf, DAY_MS, emailCountsOf, metricsOf, pointLabels, rate, resolveRange } from './counts.js';
import { readCounts, type CountRow } from './rollup.js';

/** Per point of the range: the workspace's email outcomes, events, new contacts, enrolments and conversions. */
export async function overview(q: Queryable, workspaceId: string, input: RangeInput, now: Date): Promise<OverviewView> {
  const range = await resolveRange(q, workspaceId, input, now);
  const rows = await readCounts(q, workspaceId, { level: { kind: 'workspace' }, from: range.fromAt, to: range.toAt, days: { from: range.from, to: range.to }, timeZone: range.timeZone, by: [range.granularity], metrics: ALL_METRICS });
  const byPoint = new Map<string, CountRow[]>();
  for (const r of rows) byPoint.set(r.at, [...(byPoint.get(r.at) ?? []), r]);
  const series: SeriesPointView[] = pointLabels(range).map((at) => {
    const m = metricsOf(byPoint.get(at) ?? []);
    return { at, ...emailCountsOf(m, range.includeMachineOpens), events: m.get('events') ?? 0, contactsCreated: m.get('contacts_created') ?? 0, enrolled: m.get('enrolled') ?? 0, converted: m.get('converted') ?? 0 };
  });
  const all = metricsOf(rows);
  return {
    range: { from: range.from, to: range.to, timeZone: range.timeZone, granularity: range.granularity, includeMachineOpens: range.includeMachineOpens },
    totals: { ...countsOf(all, range.includeMachineOpens), events: all.get('events') ?? 0, contactsCreated: all.get('contacts_created') ?? 0 },
    series,
  };
}

const HOT_SCORE = 80;

/** The home dashboard: the overview plus contacts, hot leads, band crossings, active campaigns and sending health. */
export async function dashboard(q: Queryable, workspaceId: string, input: RangeInput, now: Date): Promise<DashboardView> {
  const view = await overview(q, workspaceId, input, now);
  const weekAgo = new Date(now.getTime() - 7 * DAY_MS);
  const [allTime, week, hot, crossings, health, campaigns] = await Promise.all([
    readCounts(q, workspaceId, { level: { kind: 'workspace' }, timeZone: 'UTC', by: [], metrics: ['contacts_created'] }),
    readCounts(q, workspaceId, { level: { kind: 'workspace' }, from: weekAgo, to: new Date(now.getTime() + 900_000), timeZone: 'UTC', by: [], metrics: ['sent', 'bounced', 'complained'] }),
    // name: hot-leads — contacts_workspace_score_idx, highest first.
    q.query<{ id: string; email: string; first_name: string | null; last_name: string | null; score: number; last_activity_at: Date | null; total: string }>(
      `SELECT c.id, c.email, c.first_name, c.last_name, c.score, c.last_activity_at,
              (SELECT count(*) FROM contacts WHERE workspace_id = $1 AND score >= $2) AS total
         FROM contacts c WHERE c.workspace_id = $1 AND c.score >= $2 ORDER BY c.score DESC, c.id LIMIT 10`,
      [workspaceId, HOT_SCORE],
    ),
    // name: recent-crossings — events_band_crossings_idx (migration 110).
    q.query<{ contact_id: string; email: string | null; properties: Record<string, unknown>; occurred_at: Date }>(
      `SELECT ev.contact_id, c.email, ev.properties, ev.occurred_at
         FROM events ev LEFT JOIN contacts c ON c.workspace_id = ev.workspace_id AND c.id = ev.contact_id
        WHERE ev.workspace_id = $1 AND ev.type = 'system' AND ev.name = 'score_threshold_crossed'
        ORDER BY ev.occurred_at DESC LIMIT 10`,
      [workspaceId],
    ),
    q.query<{ open_alerts: string; severe_alerts: string; queued: string }>(
      `SELECT (SELECT count(*) FROM guardian_alerts WHERE workspace_id = $1 AND status <> 'resolved') AS open_alerts,
              (SELECT count(*) FROM guardian_alerts WHERE workspace_id = $1 AND status <> 'resolved' AND severity IN ('high', 'critical')) AS severe_alerts,
              (SELECT count(*) FROM messages WHERE workspace_id = $1 AND status IN ('queued', 'sending')) AS queued`,
      [workspaceId],
    ),
    campaignStats(q, workspaceId, now, { onlyActive: true }),
  ]);
  const w = metricsOf(week);
  const sent7 = w.get('sent') ?? 0;
  const bounceRate7d = rate(w.get('bounced') ?? 0, sent7);
  const complaintRate7d = rate(w.get('complained') ?? 0, sent7);
  const h = health.rows[0]!;
  const openAlerts = Number(h.open_alerts);
  const act = Number(h.severe_alerts) > 0 || (bounceRate7d ?? 0) >= 0.05 || (complaintRate7d ?? 0) >= 0.001;
  const watch = openAlerts > 0 || (bounceRate7d ?? 0) >= 0.02 || (complaintRate7d ?? 0) >= 0.0005;
  const name = (r: { first_name: string | null; last_name: string | null }) => [r.first_name, r.last_name].filter(Boolean).join(' ') || null;
  return {
    overview: view,
    contacts: { total: metricsOf(allTime).get('contacts_created') ?? 0, createdInRange: view.totals.contactsCreated, hotLeads: Number(hot.rows[0]?.total ?? 0) },
    activeCampaigns: campaigns,
    hotLeads: hot.rows.map((r) => ({ id: r.id, email: r.email, name: name(r), score: r.score, lastActivityAt: r.last_activity_at ? new Date(r.last_activity_at).toISOString() : null })),
    recentCrossings: crossings.rows.map((r) => ({
      contactId: r.contact_id,
      email: r.email,
      from: String(r.properties.from ?? ''),
      to: String(r.properties.to ?? r.properties.band ?? ''),
      score: typeof r.properties.score === 'number' ? r.properties.score : null,
      at: new Date(r.occurred_at).toISOString(),
    })),
    health: { sentLast7Days: sent7, bounceRate7d, complaintRate7d, openAlerts, outboxQueued: Number(h.queued), status: act ? 'act' : watch ? 'watch' : 'good' },
  };
}
