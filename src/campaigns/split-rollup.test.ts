/**
 * The A/B results read from the rollups (migration 122) against the same numbers computed in the
 * test straight from the raw rows (journey rows, messages, events, enrollments), on real
 * PostgreSQL: two splits one after the other (an email belongs to the splits passed before it),
 * sends by the real sender, human and machine opens and clicks (some twice), goal conversions
 * through the event processor, a merged contact and an erased one; before and after the ledger
 * is folded; and the migration's backfill rebuilding the same numbers from history.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf } from '../../test/campaign-support.js';
import { insertContacts, publishCampaign, seededRandom } from '../../test/split-support.js';
import { foldAnalytics } from '../analytics/rollup.js';
import { recordEvents, type NewEvent } from '../core/events.js';
import type { Queryable } from '../db/database.js';
import { ManualClock } from '../platform/clock.js';
import { splitCounts, type VariantCounts } from './split-results.js';

let t: TestApp;
let caller: Caller;
let campaignId: string;
const clock = new ManualClock(new Date());
const DAY = 86_400_000;

const definition = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'manual' } },
    { id: 'subject', type: 'split', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] } },
    { id: 'mail_a', type: 'email', config: { subject: 'Plain', html: '<p>Hi</p>' } },
    { id: 'mail_b', type: 'email', config: { subject: 'Curious', html: '<p>Hi</p>' } },
    { id: 'pause', type: 'wait', config: { kind: 'duration', seconds: 86_400 } },
    { id: 'offer', type: 'split', config: { variants: [{ id: 'x', weight: 30 }, { id: 'y', weight: 70 }] } },
    { id: 'mail_x', type: 'email', config: { subject: 'Ten off', html: '<p>10</p>' } },
    { id: 'mail_y', type: 'email', config: { subject: 'Free shipping', html: '<p>Ship</p>' } },
    { id: 'linger', type: 'wait', config: { kind: 'duration', seconds: 86_400 } },
    { id: 'end', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'subject' },
    { from: 'subject', to: 'mail_a', handle: 'a' },
    { from: 'subject', to: 'mail_b', handle: 'b' },
    { from: 'mail_a', to: 'pause' },
    { from: 'mail_b', to: 'pause' },
    { from: 'pause', to: 'offer' },
    { from: 'offer', to: 'mail_x', handle: 'x' },
    { from: 'offer', to: 'mail_y', handle: 'y' },
    { from: 'mail_x', to: 'linger' },
    { from: 'mail_y', to: 'linger' },
    { from: 'linger', to: 'end' },
  ],
  settings: { goal: { eventName: 'purchased' } },
};

/** The email nodes reachable from a split in the definition (what the raw count takes as its sends). */
function emailNodesAfter(splitNodeId: string): string[] {
  const types = new Map(definition.nodes.map((n) => [n.id, n.type]));
  const seen = new Set([splitNodeId]);
  const queue = definition.edges.filter((e) => e.from === splitNodeId).map((e) => e.to);
  const out: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (types.get(id) === 'email') out.push(id);
    for (const e of definition.edges) if (e.from === id) queue.push(e.to);
  }
  return out;
}

/** The per-variant numbers straight from the raw rows, independently of the rollups. */
async function rawCounts(q: Queryable, nodeId: string): Promise<{ variants: Record<string, Omit<VariantCounts, 'variant'>>; startedAt: string | null }> {
  const { rows } = await q.query<{ variant: string; assigned: number; sends: number; opened: number; clicked: number; converted: number; started_at: Date | null }>(
    `WITH assigned AS (
       SELECT DISTINCT ON (s.enrollment_id) s.enrollment_id, s.handle AS variant, s.at
         FROM enrollment_steps s
        WHERE s.campaign_id = $2 AND s.node_id = $3 AND s.workspace_id = $1 AND s.outcome = 'completed' AND s.handle IS NOT NULL
        ORDER BY s.enrollment_id, s.id
     ), sent AS (
       SELECT a.enrollment_id, m.id AS message_id, m.contact_id, m.status
         FROM messages m JOIN assigned a ON m.idempotency_key LIKE 'enrollment:' || a.enrollment_id || ':node:%'
        WHERE m.workspace_id = $1 AND m.source_type = 'campaign' AND m.source_id = $2::text AND split_part(m.idempotency_key, ':node:', 2) = ANY($4::text[])
     ), engaged AS (
       SELECT x.enrollment_id, bool_or(ev.name = 'opened') AS opened, bool_or(ev.name = 'clicked') AS clicked
         FROM sent x
         JOIN events ev ON ev.workspace_id = $1 AND ev.contact_id = x.contact_id AND ev.type = 'email' AND ev.name IN ('opened', 'clicked')
                       AND ev.properties->>'messageId' = x.message_id::text AND COALESCE(ev.properties->>'machineOpen', 'false') <> 'true'
        GROUP BY x.enrollment_id
     ), sends AS (
       SELECT enrollment_id, count(*) FILTER (WHERE status = 'sent') AS n FROM sent GROUP BY enrollment_id
     )
     SELECT a.variant, count(*)::int AS assigned, COALESCE(sum(sends.n), 0)::int AS sends,
            count(*) FILTER (WHERE engaged.opened)::int AS opened, count(*) FILTER (WHERE engaged.clicked)::int AS clicked,
            count(*) FILTER (WHERE e.exit_reason = 'goal')::int AS converted, min(a.at) AS started_at
       FROM assigned a
       JOIN enrollments e ON e.id = a.enrollment_id
       LEFT JOIN sends ON sends.enrollment_id = a.enrollment_id
       LEFT JOIN engaged ON engaged.enrollment_id = a.enrollment_id
      GROUP BY a.variant`,
    [caller.workspaceId, campaignId, nodeId, emailNodesAfter(nodeId)],
  );
  const variants: Record<string, Omit<VariantCounts, 'variant'>> = {};
  let startedAt: Date | null = null;
  for (const r of rows) {
    variants[r.variant] = { assigned: r.assigned, sends: r.sends, opened: r.opened, clicked: r.clicked, converted: r.converted };
    if (r.started_at && (!startedAt || r.started_at < startedAt)) startedAt = r.started_at;
  }
  return { variants, startedAt: startedAt ? new Date(startedAt).toISOString() : null };
}

async function rollupCounts(nodeId: string) {
  const counts = await splitCounts(t.db, caller.workspaceId, campaignId, nodeId);
  const variants: Record<string, Omit<VariantCounts, 'variant'>> = {};
  for (const [id, v] of counts.variants) variants[id] = { assigned: v.assigned, sends: v.sends, opened: v.opened, clicked: v.clicked, converted: v.converted };
  return { variants, startedAt: counts.startedAt?.toISOString() ?? null };
}

async function expectSame(): Promise<void> {
  for (const node of ['subject', 'offer']) expect(await rollupCounts(node), node).toEqual(await rawCounts(t.db, node));
}

interface Sent {
  id: string;
  contact_id: string;
  node: string;
}
async function sentMessages(nodes: string[]): Promise<Sent[]> {
  const { rows } = await t.db.query<Sent>(
    `SELECT id, contact_id, split_part(idempotency_key, ':node:', 2) AS node FROM messages WHERE source_id = $1 AND split_part(idempotency_key, ':node:', 2) = ANY($2::text[]) ORDER BY idempotency_key`,
    [campaignId, nodes],
  );
  return rows;
}

async function send(): Promise<void> {
  // The outbox stamps next_attempt_at with the database's time: catch the manual clock up to it.
  clock.set(new Date(Math.max(clock.now().getTime(), Date.now()) + 1000));
  while ((await t.runtime.deps.email.sender.runOnce()) > 0);
}

/** Opens and clicks as the tracking records them: human at the given rates, a scanner on every 7th. */
async function engage(messages: Sent[], seed: number, rates: Record<string, { open: number; click: number }>): Promise<void> {
  const random = seededRandom(seed);
  const events: NewEvent[] = [];
  for (const [i, m] of messages.entries()) {
    const rate = rates[m.node]!;
    const properties = { messageId: m.id, machineOpen: false };
    if (random() < rate.open) events.push({ contactId: m.contact_id, type: 'email' as const, name: 'opened', properties }, { contactId: m.contact_id, type: 'email' as const, name: 'opened', properties });
    if (random() < rate.click) events.push({ contactId: m.contact_id, type: 'email' as const, name: 'clicked', properties: { ...properties, url: 'https://example.com/' } });
    if (i % 7 === 0) {
      events.push({ contactId: m.contact_id, type: 'email' as const, name: 'opened', properties: { messageId: m.id, machineOpen: true } });
      events.push({ contactId: m.contact_id, type: 'email' as const, name: 'clicked', properties: { messageId: m.id, machineOpen: true, url: 'https://example.com/' } });
    }
  }
  // In a few statements, as the event processor's batches come.
  for (let i = 0; i < events.length; i += 97) await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, events.slice(i, i + 97), clock.now()));
  await t.runtime.eventProcessor.drain();
}

/** Goal events (the campaign's goal exits the enrollments still in the journey). */
async function buy(contactIds: string[]): Promise<void> {
  await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, contactIds.map((contactId) => ({ contactId, type: 'track' as const, name: 'purchased', properties: {} })), clock.now()));
  await t.runtime.eventProcessor.drain();
}

beforeAll(async () => {
  t = await createTestApp({ clock });
  caller = await signUp(t.app, 'Rita Rollup');
});
afterAll(async () => {
  await t?.close();
});

describe('A/B results from the rollups', () => {
  it('equal the raw count through two splits, sends, opens, clicks, goals, a merge and an erasure, folded or not', async () => {
    campaignId = await publishCampaign(t.app, caller, 'Two tests', definition);
    const contacts = await insertContacts(t.db, caller.workspaceId, 240, 'split-rollup');
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: contacts } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(t).runDue();
    await expectSame();
    await send();
    const first = await sentMessages(['mail_a', 'mail_b']);
    expect(first).toHaveLength(240);
    await engage(first, 11, { mail_a: { open: 0.3, click: 0.05 }, mail_b: { open: 0.4, click: 0.1 } });
    await expectSame();
    const subject = await rollupCounts('subject');
    expect(subject.variants.a!.sends + subject.variants.b!.sends).toBe(240);
    expect(subject.variants.a!.opened).toBeGreaterThan(0);
    expect(subject.variants.b!.clicked).toBeGreaterThan(0);
    expect(await rollupCounts('offer')).toEqual({ variants: {}, startedAt: null });
    await buy(contacts.filter((_c, i) => i % 9 === 0));
    await expectSame();

    // A day on: the second split and its emails; late opens of the first emails count for the
    // first split only (they came before the second split).
    clock.advance(DAY + 60_000);
    await engineOf(t).runDue();
    await send();
    const second = await sentMessages(['mail_x', 'mail_y']);
    expect(second.length).toBeGreaterThan(200);
    await engage(second, 12, { mail_x: { open: 0.5, click: 0.2 }, mail_y: { open: 0.35, click: 0.08 } });
    await engage(first.slice(0, 60), 13, { mail_a: { open: 0.5, click: 0.3 }, mail_b: { open: 0.5, click: 0.3 } });
    await buy(contacts.filter((_c, i) => i % 5 === 1));
    const converted = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND exit_reason = 'goal'`, [campaignId]);
    expect(converted.rows[0]!.n).toBeGreaterThan(0);
    await expectSame();
    const offer = await rollupCounts('offer');
    expect(Object.values(offer.variants).reduce((n, v) => n + v.converted, 0)).toBeGreaterThan(0);

    // Folded into analytics_totals: the same.
    while ((await foldAnalytics(t.db)) > 0);
    await expectSame();

    // A merge (the duplicate's enrollment goes with it) and an erasure.
    const merged = await t.app.inject({ method: 'POST', url: `/api/contacts/${contacts[1]}/merge`, headers: caller.bearer, payload: { duplicateId: contacts[2] } });
    expect(merged.statusCode, merged.body).toBe(200);
    const erased = await t.app.inject({ method: 'DELETE', url: `/api/contacts/${contacts[3]}`, headers: caller.bearer });
    expect(erased.statusCode, erased.body).toBeLessThan(300);
    await t.runtime.eventProcessor.drain();
    await expectSame();
    while ((await foldAnalytics(t.db)) > 0);
    await expectSame();
  });

  it("the migration's backfill rebuilds the same numbers from the raw history", async () => {
    const before = { subject: await rollupCounts('subject'), offer: await rollupCounts('offer') };
    // Forget everything migration 122 counted (TRUNCATE fires no delete trigger), then run its backfill.
    await t.db.exec(`TRUNCATE analytics_split_members`);
    await t.db.exec(`DELETE FROM analytics_totals WHERE metric LIKE 'ab\\_%'`);
    await t.db.exec(`DELETE FROM analytics_delta WHERE metric LIKE 'ab\\_%'`);
    await t.db.exec(`DELETE FROM analytics_message_firsts WHERE metric = 'ab_sent'`);
    expect(await rollupCounts('subject')).toEqual({ variants: {}, startedAt: null });
    const sql = readFileSync(path.resolve(import.meta.dirname, '../../migrations/122_split_variant_rollups.sql'), 'utf8');
    const backfill = sql.slice(sql.indexOf('-- What existed before this migration'));
    // One simple query: its statements run in one implicit transaction, as a migration's do.
    await t.db.exec(backfill);
    expect(await rollupCounts('subject')).toEqual(before.subject);
    expect(await rollupCounts('offer')).toEqual(before.offer);
    await expectSame();
  });
});
