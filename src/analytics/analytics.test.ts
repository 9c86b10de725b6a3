/**
 * The analytics numbers against counts computed here, independently, from the raw rows (events,
 * messages, enrollments, journey steps, contacts): a campaign with an A/B split run by the real
 * engine and sender in a workspace in America/Los_Angeles, human and machine opens, repeated
 * opens, clicks, replies, a bounce, goal conversions, a merge of two contacts, and a day boundary
 * of the workspace's zone that is not UTC's. Before and after the ledger is folded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '../core/events.js';
import { recordClick, recordOpen } from '../email/engagement.js';
import { ManualClock } from '../platform/clock.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf } from '../../test/campaign-support.js';
import type { CampaignStatsRowView, DashboardView, OverviewView, ReportView, VariantsView } from './analytics.schemas.js';

const TZ = 'America/Los_Angeles';
const HUMAN = { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15', ip: '203.0.113.9' };
const MACHINE = { userAgent: 'Mozilla/5.0 (Windows NT 5.1) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', ip: '66.249.1.1' };

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
let campaignId: string;
const contacts: string[] = [];

// 2027-01-05 07:30 UTC is 2027-01-04 23:30 in Los Angeles: the sends fall on the 4th there.
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2027, 0, 5, 7, 30, 0));
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
  await t.db.query(`UPDATE workspaces SET settings = jsonb_set(coalesce(settings, '{}'::jsonb), '{timeZone}', to_jsonb($2::text)) WHERE id = $1`, [caller.workspaceId, TZ]);
});
afterAll(async () => {
  await t?.close();
});

const get = async <T>(url: string): Promise<T> => {
  const response = await t.app.inject({ method: 'GET', url, headers: caller.bearer });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as T;
};

const definition = {
  entryNodeId: 'start',
  nodes: [
    { id: 'start', type: 'trigger', config: { kind: 'manual' } },
    { id: 'ab', type: 'split', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] } },
    { id: 'mailA', type: 'email', config: { subject: 'Offer A', html: '<p>A <a href="https://example.com/a">go</a></p>' } },
    { id: 'mailB', type: 'email', config: { subject: 'Offer B', html: '<p>B <a href="https://example.com/b">go</a></p>' } },
    { id: 'wait', type: 'wait', config: { kind: 'duration', seconds: 7 * 86_400 } },
    { id: 'end', type: 'exit', config: {} },
  ],
  edges: [
    { from: 'start', to: 'ab' },
    { from: 'ab', to: 'mailA', handle: 'a' },
    { from: 'ab', to: 'mailB', handle: 'b' },
    { from: 'mailA', to: 'wait' },
    { from: 'mailB', to: 'wait' },
    { from: 'wait', to: 'end' },
  ],
  settings: { goal: { eventName: 'purchased' } },
};

interface Sent {
  id: string;
  contact_id: string;
}

async function messages(): Promise<Sent[]> {
  return (await t.db.query<Sent>(`SELECT id, contact_id FROM messages WHERE workspace_id = $1 AND source_type = 'campaign' ORDER BY id`, [caller.workspaceId])).rows;
}

/** Emails per LA day with at least one event of this name (opens/clicks: humans only unless `machine`). */
async function rawPerDay(name: string, machine = false): Promise<Record<string, number>> {
  const { rows } = await t.db.query<{ day: string; n: number }>(
    `SELECT to_char(first_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM (
       SELECT properties->>'messageId' AS m, min(occurred_at) AS first_at FROM events
        WHERE workspace_id = $1 AND type = 'email' AND name = $2 AND ($4 OR coalesce(properties->>'machineOpen', 'false') <> 'true')
        GROUP BY 1) x GROUP BY 1`,
    [caller.workspaceId, name, TZ, machine],
  );
  return Object.fromEntries(rows.map((r) => [r.day, r.n]));
}

async function rawEventsPerDay(): Promise<Record<string, number>> {
  const { rows } = await t.db.query<{ day: string; n: number }>(`SELECT to_char(occurred_at AT TIME ZONE $2, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM events WHERE workspace_id = $1 GROUP BY 1`, [caller.workspaceId, TZ]);
  return Object.fromEntries(rows.map((r) => [r.day, r.n]));
}

const DAYS = ['2027-01-03', '2027-01-04', '2027-01-05', '2027-01-06'];
const inRange = (perDay: Record<string, number>) => Object.fromEntries(Object.entries(perDay).filter(([day]) => DAYS.includes(day)));
const sumOf = (perDay: Record<string, number>) => Object.values(perDay).reduce((a, b) => a + b, 0);
const pick = (o: OverviewView, key: 'sent' | 'opened' | 'clicked' | 'replied' | 'bounced' | 'events' | 'contactsCreated' | 'converted') => Object.fromEntries(o.series.filter((p) => p[key] > 0).map((p) => [p.at, p[key]]));

describe('analytics from a campaign the engine and sender ran', () => {
  it('sets up: 12 contacts, enrolled, split, sent; opens, clicks, replies, a bounce, goals, a merge', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email: `lead${i}@example.com`, firstName: `Lead ${i}` } });
      expect(r.statusCode, r.body).toBe(201);
      contacts.push(r.json().id as string);
    }
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Spring offer', definition } });
    expect(created.statusCode, created.body).toBe(201);
    campaignId = created.json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: contacts } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(t).runDue();
    await t.runtime.deps.email.sender.runOnce();
    const sent = await messages();
    expect(sent).toHaveLength(12);

    clock.advance(60 * 60_000); // 08:30 UTC = 00:30 on the 5th in LA
    const sink = t.runtime.deps.eventSink;
    const open = (m: Sent, who: typeof HUMAN) => recordOpen(t.db, sink, { t: 'o', w: caller.workspaceId, m: m.id, c: m.contact_id }, who, clock.now());
    for (const m of sent.slice(0, 6)) await open(m, HUMAN);
    await open(sent[0]!, HUMAN); // opened twice: one email
    for (const m of sent.slice(4, 9)) await open(m, MACHINE); // 4, 5 also human; 6, 7, 8 machine only
    await recordClick(t.db, sink, { t: 'c', w: caller.workspaceId, m: sent[1]!.id, c: sent[1]!.contact_id, u: 'https://example.com/a' }, HUMAN, clock.now());
    await recordClick(t.db, sink, { t: 'c', w: caller.workspaceId, m: sent[6]!.id, c: sent[6]!.contact_id, u: 'https://example.com/b' }, MACHINE, clock.now());
    await t.db.transaction((tx) =>
      recordEvents(tx, sink, caller.workspaceId, [
        { contactId: sent[2]!.contact_id, type: 'email', name: 'replied', properties: { messageId: sent[2]!.id, text: 'Interested!' } },
        { contactId: sent[9]!.contact_id, type: 'email', name: 'bounced', properties: { messageId: sent[9]!.id } },
      ], clock.now()),
    );
    for (const m of sent.slice(0, 3)) {
      const r = await t.app.inject({ method: 'POST', url: '/api/events', headers: caller.bearer, payload: { contactId: m.contact_id, name: 'purchased' } });
      expect(r.statusCode, r.body).toBe(201);
    }
    // Merge contact 4 (opened, human and machine) into contact 5: events move, one contact goes.
    const merged = await t.app.inject({ method: 'POST', url: `/api/contacts/${sent[5]!.contact_id}/merge`, headers: caller.bearer, payload: { duplicateId: sent[4]!.contact_id } });
    expect(merged.statusCode, merged.body).toBe(200);
    await t.runtime.eventProcessor.drain();
  });

  const checkAll = async () => {
    const o = await get<OverviewView>('/api/analytics/overview?from=2027-01-03&to=2027-01-06');
    expect(o.range.timeZone).toBe(TZ);
    expect(o.series.map((p) => p.at)).toEqual(['2027-01-03', '2027-01-04', '2027-01-05', '2027-01-06']);
    expect(pick(o, 'sent')).toEqual(await rawPerDay('sent'));
    expect(Object.keys(pick(o, 'sent'))).toEqual(['2027-01-04']);
    expect(pick(o, 'opened')).toEqual(await rawPerDay('opened'));
    expect(o.totals.opened).toBe(6);
    expect(pick(o, 'clicked')).toEqual(await rawPerDay('clicked'));
    expect(o.totals.clicked).toBe(1);
    expect(pick(o, 'replied')).toEqual(await rawPerDay('replied'));
    expect(pick(o, 'bounced')).toEqual(await rawPerDay('bounced'));
    expect(pick(o, 'events')).toEqual(inRange(await rawEventsPerDay()));
    const machineEvents = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND name = 'opened' AND properties->>'machineOpen' = 'true'`, [caller.workspaceId]);
    expect(o.totals.machineOpens).toBe(machineEvents.rows[0]!.n);
    const withMachine = await get<OverviewView>('/api/analytics/overview?from=2027-01-03&to=2027-01-06&includeMachineOpens=true');
    expect(withMachine.totals.opened).toBe(sumOf(await rawPerDay('opened', true)));
    expect(withMachine.totals.opened).toBe(9);
    expect(withMachine.totals.clicked).toBe(2);
    const contactsRaw = await t.db.query<{ day: string; n: number }>(`SELECT to_char(created_at AT TIME ZONE $2, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM contacts WHERE workspace_id = $1 GROUP BY 1`, [caller.workspaceId, TZ]);
    expect(pick(o, 'contactsCreated')).toEqual(inRange(Object.fromEntries(contactsRaw.rows.map((r) => [r.day, r.n]))));

    const hourly = await get<OverviewView>('/api/analytics/overview?from=2027-01-05&to=2027-01-05&granularity=hour');
    expect(hourly.series).toHaveLength(24);
    expect(hourly.series.find((p) => p.at === '2027-01-05T00:00')!.opened).toBe(6);

    const report = await get<ReportView>(`/api/analytics/campaigns/${campaignId}/report?from=2027-01-03&to=2027-01-06`);
    const steps = await t.db.query<{ node_id: string; n: number }>(`SELECT node_id, count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1 AND NOT detail ? 'goal' GROUP BY 1`, [campaignId]);
    const live = await t.db.query<{ node: string; n: number }>(`SELECT current_node_id AS node, count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status IN ('active', 'paused', 'failed') GROUP BY 1`, [campaignId]);
    const goals = await t.db.query<{ node_id: string; n: number }>(`SELECT node_id, count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1 AND detail ? 'goal' GROUP BY 1`, [campaignId]);
    const expected = (node: string) => (steps.rows.find((r) => r.node_id === node)?.n ?? 0) + (live.rows.find((r) => r.node === node)?.n ?? 0) + (goals.rows.find((r) => r.node_id === node)?.n ?? 0);
    for (const f of report.funnel) expect(f.entered, f.nodeId).toBe(expected(f.nodeId));
    expect(report.funnel[0]!.entered).toBe(12);
    const ab = report.funnel.find((f) => f.nodeId === 'ab')!;
    expect(ab.fromPrevious).toBe(1);
    const converted = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND exit_reason = 'goal'`, [campaignId]);
    expect(report.goals.converted).toBe(converted.rows[0]!.n);
    expect(report.goals.converted).toBe(3);
    expect(report.totals.enrolled).toBe(12);
    expect(report.goals.avgSecondsToConvert).toBe(3600);
    const perNode = await t.db.query<{ node: string; sent: number; opened: number }>(
      `SELECT split_part(m.idempotency_key, ':node:', 2) AS node, count(*)::int AS sent,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = m.workspace_id AND e.name = 'opened' AND e.properties->>'messageId' = m.id::text AND e.properties->>'machineOpen' = 'false'))::int AS opened
         FROM messages m WHERE m.workspace_id = $1 AND m.source_id = $2 GROUP BY 1`,
      [caller.workspaceId, campaignId],
    );
    for (const row of perNode.rows) {
      const email = report.emails.find((e) => e.nodeId === row.node)!;
      expect(email.sent, row.node).toBe(row.sent);
      expect(email.opened, row.node).toBe(row.opened);
      expect(email.series.reduce((n, p) => n + p.sent, 0)).toBe(row.sent);
    }
    expect(report.versions.map((v) => [v.version, v.sent, v.enrolled])).toEqual([[1, 12, 12]]);

    const variants = await get<VariantsView>(`/api/analytics/campaigns/${campaignId}/variants`);
    const assigned = await t.db.query<{ variant: string; n: number }>(`SELECT detail->>'variant' AS variant, count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1 AND node_id = 'ab' GROUP BY 1`, [campaignId]);
    const split = variants.splits.find((s) => s.nodeId === 'ab')!;
    for (const r of assigned.rows) {
      const v = split.variants.find((x) => x.variant === r.variant)!;
      expect(v.assigned).toBe(r.n);
      const node = r.variant === 'a' ? 'mailA' : 'mailB';
      expect(v.sent).toBe(perNode.rows.find((p) => p.node === node)?.sent ?? 0);
      expect(v.opened).toBe(perNode.rows.find((p) => p.node === node)?.opened ?? 0);
    }
    const goalsByVariant = await t.db.query<{ variant: string; n: number }>(
      `SELECT s.detail->>'variant' AS variant, count(*)::int AS n FROM enrollments e JOIN enrollment_steps s ON s.enrollment_id = e.id AND s.node_id = 'ab'
        WHERE e.campaign_id = $1 AND e.exit_reason = 'goal' GROUP BY 1`,
      [campaignId],
    );
    for (const r of goalsByVariant.rows) expect(split.variants.find((x) => x.variant === r.variant)!.converted).toBe(r.n);

    const list = await get<{ campaigns: CampaignStatsRowView[] }>('/api/analytics/campaigns');
    const row = list.campaigns.find((c) => c.id === campaignId)!;
    expect([row.sent, row.opened, row.clicked, row.converted, row.enrolled]).toEqual([12, 6, 1, 3, 12]);
    expect(row.openRate).toBeCloseTo(6 / 12);
    const activeRaw = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'active'`, [campaignId]);
    expect(row.activeEnrollments).toBe(activeRaw.rows[0]!.n);
    expect(row.sparkline).toHaveLength(14);
    expect(row.sparkline.find((p) => p.at === '2027-01-04')!.sent).toBe(12);

    const dash = await get<DashboardView>('/api/analytics/dashboard?from=2027-01-03&to=2027-01-06');
    const total = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1`, [caller.workspaceId]);
    expect(dash.contacts.total).toBe(total.rows[0]!.n);
    expect(dash.contacts.total).toBe(11); // 12 created, one merged away
    expect(dash.activeCampaigns.map((c) => c.id)).toEqual([campaignId]);
    expect(dash.health.sentLast7Days).toBe(12);
    expect(dash.health.bounceRate7d).toBeCloseTo(1 / 12);
    return o;
  };

  it('matches the raw rows while the counts are still in the ledger', async () => {
    const pending = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics_delta');
    expect(pending.rows[0]!.n).toBeGreaterThan(0);
    await checkAll();
  });

  it('counts each sent email once without keeping a first-time row per email (its event is unique by key)', async () => {
    const firsts = await t.db.query<{ metric: string; n: number }>(`SELECT metric, count(*)::int AS n FROM analytics_message_firsts WHERE workspace_id = $1 GROUP BY 1`, [caller.workspaceId]);
    const byMetric = Object.fromEntries(firsts.rows.map((r) => [r.metric, r.n]));
    expect(byMetric.sent).toBeUndefined();
    // Opens still go through the first-time rows: an email opened twice counted once (checkAll).
    expect(byMetric.opened).toBeGreaterThan(0);
    const sent = await messages();
    // The same sent event recorded again (a reclaim racing the outcome) is refused by its key.
    await recordEvents(t.db, t.runtime.deps.eventSink, caller.workspaceId, [{ contactId: sent[0]!.contact_id, type: 'email', name: 'sent', properties: { messageId: sent[0]!.id }, messageId: `email:sent:${sent[0]!.id}` }], clock.now());
    const o = await get<OverviewView>('/api/analytics/overview?from=2027-01-03&to=2027-01-06');
    expect(o.totals.sent).toBe(12);
  });

  it('matches them again after the ledger is folded, and a new open counts at once', async () => {
    await t.runtime.analyticsFolder.drain();
    const pending = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics_delta');
    expect(pending.rows[0]!.n).toBe(0);
    await checkAll();
    const sent = await messages();
    await recordOpen(t.db, t.runtime.deps.eventSink, { t: 'o', w: caller.workspaceId, m: sent[11]!.id, c: sent[11]!.contact_id }, HUMAN, clock.now());
    const o = await get<OverviewView>('/api/analytics/overview?from=2027-01-05&to=2027-01-05');
    expect(o.totals.opened).toBe(7);
  });

  it('rebuilds the days when the workspace moves to a zone with a half-hour offset', async () => {
    await t.runtime.analyticsFolder.drain();
    await t.db.query(`UPDATE workspaces SET settings = jsonb_set(settings, '{timeZone}', '"Asia/Kolkata"') WHERE id = $1`, [caller.workspaceId]);
    const o = await get<OverviewView>('/api/analytics/overview?from=2027-01-03&to=2027-01-06');
    expect(o.range.timeZone).toBe('Asia/Kolkata');
    const raw = await t.db.query<{ day: string; n: number }>(
      `SELECT to_char(occurred_at AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD') AS day, count(*)::int AS n FROM events WHERE workspace_id = $1 GROUP BY 1`,
      [caller.workspaceId],
    );
    expect(pick(o, 'events')).toEqual(inRange(Object.fromEntries(raw.rows.map((r) => [r.day, r.n]))));
    // 07:31 UTC is 13:01 in Kolkata: the sends are on the 5th there.
    expect(Object.keys(pick(o, 'sent'))).toEqual(['2027-01-05']);
    await t.db.query(`UPDATE workspaces SET settings = jsonb_set(settings, '{timeZone}', to_jsonb($2::text)) WHERE id = $1`, [caller.workspaceId, TZ]);
  });

  it('refuses ranges that are backwards, too long or not dates', async () => {
    for (const query of ['from=2027-01-06&to=2027-01-05', 'from=2025-01-01&to=2027-01-05', 'from=2026-02-30&to=2026-03-01', 'from=2027-01-01&to=2026-03-01&granularity=hour']) {
      const r = await t.app.inject({ method: 'GET', url: `/api/analytics/overview?${query}`, headers: caller.bearer });
      expect(r.statusCode, query).toBe(400);
      expect(r.json().error.code).toBe('ANALYTICS_RANGE_INVALID');
    }
    const missing = await t.app.inject({ method: 'GET', url: `/api/analytics/campaigns/00000000-0000-4000-8000-000000000000/report`, headers: caller.bearer });
    expect(missing.statusCode).toBe(404);
  });

  it('exports the report as CSV', async () => {
    const r = await t.app.inject({ method: 'GET', url: `/api/analytics/campaigns/${campaignId}/report.csv?from=2027-01-03&to=2027-01-06`, headers: caller.bearer });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    const lines = r.body.trim().split('\r\n').map((l) => l.split(','));
    expect(lines[0]![0]).toBe('section');
    expect(lines.every((l) => l.length === lines[0]!.length)).toBe(true);
    const mailA = lines.find((l) => l[0] === 'email' && l[1] === 'mailA')!;
    expect(Number(mailA[7])).toBeGreaterThan(0);
  });
});
