import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, testConfig, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { RulesReplyClassifier } from '../scoring/classifier.js';
import { createLeadScoring, type LeadScoring } from '../scoring/scoring.js';
import { combineEventSinks, recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { MAX_ROW_ATTEMPTS, createEventProcessor, eventWorkSink } from './processor.js';

const DAY = 86_400_000;
let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function ingest(events: NewEvent[], workspaceId = caller.workspaceId): Promise<void> {
  await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, workspaceId, events, clock.now()));
}
async function queued(): Promise<number> {
  return (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_work')).rows[0]!.n;
}
async function scoreOf(contactId: string): Promise<number> {
  return (await t.db.query<{ score: number }>('SELECT score FROM contacts WHERE id = $1', [contactId])).rows[0]!.score;
}
async function systemEvents(contactId: string, name: string): Promise<Array<Record<string, unknown>>> {
  const result = await t.db.query<{ properties: Record<string, unknown> }>(`SELECT properties FROM events WHERE contact_id = $1 AND type = 'system' AND name = $2 ORDER BY received_at, id`, [contactId, name]);
  return result.rows.map((r) => r.properties);
}
async function publish(definition: Record<string, unknown>): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Processor', definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer })).statusCode).toBe(200);
  return id;
}
async function enrolled(campaignId: string): Promise<string[]> {
  const result = await t.db.query<{ contact_id: string }>('SELECT contact_id FROM enrollments WHERE campaign_id = $1 ORDER BY contact_id', [campaignId]);
  return result.rows.map((r) => r.contact_id);
}
const triggered = (trigger: Record<string, unknown>) => ({
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: trigger },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [{ from: 't', to: 'x' }],
});
const clicks = (contactId: string, n: number): NewEvent[] => Array.from({ length: n }, () => ({ contactId, type: 'email' as const, name: 'clicked' }));

describe('the event processor', () => {
  it('parks a queued batch that keeps failing, so the batches behind it are still applied', async () => {
    await t.runtime.eventProcessor.drain();
    const poisoned = await insertContact(t.db, caller.workspaceId);
    const healthy = await insertContact(t.db, caller.workspaceId);
    const scoring = createLeadScoring(new RulesReplyClassifier());
    const picky: LeadScoring = {
      ...scoring,
      async applyEvents(q, workspaceId, events, now) {
        if (events.some((e) => e.contactId === poisoned)) throw new Error('cannot score this one');
        return scoring.applyEvents(q, workspaceId, events, now);
      },
    };
    const processor = createEventProcessor({ db: t.db, clock, logger: createLogger('silent'), config: testConfig(), scoring: picky, eventSink: () => t.runtime.deps.eventSink });
    await ingest(clicks(poisoned, 1));
    await ingest(clicks(healthy, 2));

    const failures: string[] = [];
    for (let i = 0; i < MAX_ROW_ATTEMPTS + 3; i += 1) {
      await processor.runBatch().catch((error: unknown) => failures.push((error as Error).message));
    }
    // Both rows fail together once; then the first alone until it is parked; then the second applies.
    expect(failures).toEqual(Array.from({ length: MAX_ROW_ATTEMPTS + 1 }, () => 'cannot score this one'));
    const left = await t.db.query('SELECT attempts, last_error, parked_at IS NOT NULL AS parked FROM event_work');
    expect(left.rows).toEqual([{ attempts: MAX_ROW_ATTEMPTS, last_error: 'cannot score this one', parked: true }]);
    const counters = async (contactId: string) => (await t.db.query<{ clicks: number }>('SELECT clicks FROM contact_engagement WHERE contact_id = $1', [contactId])).rows[0]?.clicks ?? 0;
    expect([await counters(poisoned), await counters(healthy)]).toEqual([0, 2]);

    // Nothing was lost: cleared by an operator, the parked batch is applied once.
    await t.db.query('UPDATE event_work SET parked_at = NULL, attempts = 0');
    await t.runtime.eventProcessor.drain();
    expect(await queued()).toBe(0);
    expect([await counters(poisoned), await counters(healthy)]).toEqual([1, 2]);
  });

  it('applies scores and segment membership after the producer commits, and the engine sees what they derive', async () => {
    const segment = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name: 'Warm', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'score', op: 'gte', value: 60 }] } } });
    const segmentId = segment.json().id as string;
    const onThreshold = await publish(triggered({ kind: 'score_threshold', threshold: 60 }));
    const onSegment = await publish(triggered({ kind: 'segment_entered', segmentId }));
    const contactId = await insertContact(t.db, caller.workspaceId, { email: 'warm@example.com' });
    await t.db.query(`UPDATE contacts SET job_title = 'CEO', status = 'customer' WHERE id = $1`, [contactId]);

    // 4 clicks (16) + 5 opens (10) + 8 tracked events (8) + CEO (10) + customer (10) = 54; then a purchase (+20 intent).
    await ingest([...clicks(contactId, 4), ...Array.from({ length: 5 }, () => ({ contactId, type: 'email' as const, name: 'opened' })), ...Array.from({ length: 8 }, () => ({ contactId, type: 'track' as const, name: 'Page Viewed' }))]);
    // Stored and queued, not applied yet: the producer's transaction no longer scores.
    expect(await scoreOf(contactId)).toBe(0);
    expect(await queued()).toBe(1);
    await t.runtime.eventProcessor.drain();
    expect(await queued()).toBe(0);
    expect(await scoreOf(contactId)).toBe(54);
    expect(await enrolled(onThreshold)).toEqual([]);

    await ingest([{ contactId, type: 'track', name: 'Order Completed' }]);
    await t.runtime.eventProcessor.drain();
    expect(await scoreOf(contactId)).toBe(74);
    expect(await systemEvents(contactId, 'score_threshold_crossed')).toEqual([{ from: 'cold', to: 'warm', band: 'warm', score: 74, previousScore: 54, direction: 'up' }]);
    expect(await systemEvents(contactId, 'segment_entered')).toEqual([{ segmentId, segmentName: 'Warm' }]);
    // Both derived events went through the whole sink: the triggers enrolled the contact.
    expect(await enrolled(onThreshold)).toEqual([contactId]);
    expect(await enrolled(onSegment)).toEqual([contactId]);
    // Draining again changes nothing.
    await t.runtime.eventProcessor.drain();
    expect(await systemEvents(contactId, 'score_threshold_crossed')).toHaveLength(1);
  });

  it('loses nothing and doubles nothing when a batch fails: the claim rolls back with its effects', async () => {
    const contactId = await insertContact(t.db, caller.workspaceId);
    await ingest(clicks(contactId, 3));
    let fail = true;
    const failing: EventSink = {
      async onEvents() {
        if (fail) throw new Error('crash after scoring, before commit');
      },
    };
    // A processor whose sink fails after the counters were written: the whole transaction rolls back.
    const crashing = createEventProcessor({ db: t.db, clock, logger: createLogger('silent'), config: testConfig(), scoring: createLeadScoring(new RulesReplyClassifier()), eventSink: () => combineEventSinks(failing, eventWorkSink) });
    await t.db.query(`UPDATE contacts SET job_title = 'CEO', status = 'customer' WHERE id = $1`, [contactId]);
    await ingest(clicks(contactId, 1).map((e) => ({ ...e, type: 'system' as const, name: 'field_updated' })));
    await ingest([...clicks(contactId, 1), ...Array.from({ length: 30 }, () => ({ contactId, type: 'track' as const, name: 'Order Completed' }))]);
    await expect(crashing.drain()).rejects.toThrow('crash after scoring');
    expect(await scoreOf(contactId)).toBe(0);
    expect(await queued()).toBe(3);
    const counters = await t.db.query('SELECT clicks FROM contact_engagement WHERE contact_id = $1', [contactId]);
    expect(counters.rows).toEqual([]);
    fail = false;
    await crashing.drain();
    expect(await queued()).toBe(0);
    expect((await t.db.query('SELECT clicks, activity FROM contact_engagement WHERE contact_id = $1', [contactId])).rows).toEqual([{ clicks: 4, activity: 30 }]);
    // 16 clicks + 8 activity + 20 intent + 10 CEO + 10 customer.
    expect(await scoreOf(contactId)).toBe(64);
    expect(await systemEvents(contactId, 'score_threshold_crossed')).toHaveLength(1);
  });

  it('skips events whose contact was deleted after they were queued, and applies the rest of the batch', async () => {
    const kept = await insertContact(t.db, caller.workspaceId);
    const gone = await insertContact(t.db, caller.workspaceId);
    await ingest([...clicks(kept, 2), ...clicks(gone, 2)]);
    await t.app.inject({ method: 'DELETE', url: `/api/contacts/${gone}`, headers: caller.bearer });
    // An event recorded while its contact was being deleted (events have no foreign keys).
    await ingest(clicks(gone, 1));
    await t.runtime.eventProcessor.drain();
    expect(await queued()).toBe(0);
    expect((await t.db.query('SELECT count(*)::int AS n FROM event_work WHERE parked_at IS NOT NULL')).rows).toEqual([{ n: 0 }]);
    expect(await scoreOf(kept)).toBe(8);
    expect((await t.db.query('SELECT contact_id FROM contact_engagement WHERE contact_id = ANY($1::uuid[])', [[kept, gone]])).rows).toEqual([{ contact_id: kept }]);
  });

  it('is safe with several processors draining one queue at once', async () => {
    const contacts = await Promise.all(Array.from({ length: 6 }, () => insertContact(t.db, caller.workspaceId)));
    for (let round = 0; round < 8; round += 1) {
      await ingest(contacts.flatMap((c) => [...clicks(c, 1), { contactId: c, type: 'track' as const, name: `Checkout Started ${round}` }]));
    }
    const processors = Array.from({ length: 3 }, () => createEventProcessor({ db: t.db, clock, logger: createLogger('silent'), config: testConfig(), scoring: createLeadScoring(new RulesReplyClassifier()), eventSink: () => t.runtime.deps.eventSink }));
    await Promise.all(processors.map((p) => p.drain()));
    expect(await queued()).toBe(0);
    for (const c of contacts) {
      expect((await t.db.query('SELECT clicks, activity FROM contact_engagement WHERE contact_id = $1', [c])).rows).toEqual([{ clicks: 8, activity: 8 }]);
      expect(await scoreOf(c)).toBe(16 + 8 + 14);
    }
  });

  // PGlite has one connection: no other transaction can hold a row while the processor runs.
  it.skipIf(!process.env.DATABASE_URL)('defers a contact a producer holds instead of waiting for it, and recomputes it later', async () => {
    const held = await insertContact(t.db, caller.workspaceId);
    const free = await insertContact(t.db, caller.workspaceId);
    await ingest([...clicks(held, 2), ...clicks(free, 1)]);
    const producer = new pg.Client({ connectionString: t.testDb.url! });
    await producer.connect();
    try {
      await producer.query('BEGIN');
      await producer.query('SELECT id FROM contacts WHERE id = $1 FOR NO KEY UPDATE', [held]);
      await t.runtime.eventProcessor.drain();
      expect(await scoreOf(free)).toBe(4);
      expect(await scoreOf(held)).toBe(0);
      const left = await t.db.query<{ event_ids: string[]; contact_ids: string[] }>('SELECT event_ids, contact_ids FROM event_work');
      expect(left.rows).toEqual([{ event_ids: [], contact_ids: [held] }]);
    } finally {
      await producer.query('COMMIT');
      await producer.end();
    }
    await t.runtime.eventProcessor.drain();
    expect(await scoreOf(held)).toBe(8);
    expect((await t.db.query('SELECT clicks FROM contact_engagement WHERE contact_id = $1', [held])).rows).toEqual([{ clicks: 2 }]);
    expect(await queued()).toBe(0);
  });

  it('as a worker, wakes on the producers’ commits and stops cleanly', async () => {
    const slow = await createTestApp({ clock, testDb: t.testDb, config: { WORKER_POLL_MS: '60000' } });
    const processor = slow.runtime.eventProcessor;
    const contactId = await insertContact(t.db, caller.workspaceId);
    // Nothing queued is left behind by the earlier tests; the worker's first pass finds nothing.
    processor.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ingest(clicks(contactId, 2));
    // Woken by NOTIFY, not by the minute-long poll.
    let score = 0;
    for (let i = 0; i < 100 && score === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      score = await scoreOf(contactId);
    }
    expect(score).toBe(8);
    await processor.stop();
    await ingest(clicks(contactId, 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queued()).toBe(1);
    await slow.close();
    await t.runtime.eventProcessor.drain();
    expect(await scoreOf(contactId)).toBe(12);
  });
});

describe('events attributed after they were stored', () => {
  it('reach the engine: a trigger starts if the event occurred after the campaign went live, waits wake if after enrollment', async () => {
    const key = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: caller.session, payload: { name: 'web' } })).json().key as string;
    const basic = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
    const send = async (batch: unknown[]) => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: basic, payload: { batch } });
      expect(response.statusCode, response.body).toBe(200);
    };
    const before = await publish(triggered({ kind: 'event', name: 'Demo Booked' }));
    clock.advance(60_000);
    // Anonymous events: one before the second campaign was published, one after.
    await send([{ type: 'track', anonymousId: 'anon-1', event: 'Demo Booked', messageId: 'late-1' }]);
    clock.advance(60_000);
    const after = await publish(triggered({ kind: 'event', name: 'Demo Booked' }));
    clock.advance(60_000);
    await send([{ type: 'track', anonymousId: 'anon-2', event: 'Pricing Viewed', messageId: 'late-2' }]);
    expect(await enrolled(before)).toEqual([]);

    clock.advance(60_000);
    await send([{ type: 'identify', anonymousId: 'anon-1', userId: 'user-late', traits: { email: 'late@example.com' } }]);
    const contactId = (await t.db.query<{ id: string }>(`SELECT id FROM contacts WHERE workspace_id = $1 AND email = 'late@example.com'`, [caller.workspaceId])).rows[0]!.id;
    // The campaign live when the demo was booked starts; the one published later does not.
    expect(await enrolled(before)).toEqual([contactId]);
    expect(await enrolled(after)).toEqual([]);
    // Scoring still counts the attributed event (through the processor).
    await t.runtime.eventProcessor.drain();
    expect((await t.db.query('SELECT activity FROM contact_engagement WHERE contact_id = $1', [contactId])).rows).toEqual([{ activity: 1 }]);

    // A waiting step: the contact waits for "Pricing Viewed"; anon-2's earlier view predates the
    // enrollment and does not count, a later anonymous view attributed by alias does.
    const waiting = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'w', type: 'wait', config: { kind: 'event', name: 'Pricing Viewed', timeoutSeconds: 86_400 } },
        { id: 'x', type: 'exit', config: {} },
        { id: 'late', type: 'exit', config: { reason: 'timeout' } },
      ],
      edges: [
        { from: 't', to: 'w' },
        { from: 'w', to: 'x' },
        { from: 'w', to: 'late', handle: 'timeout' },
      ],
    });
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${waiting}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } })).statusCode).toBe(200);
    await engineOf(t).runDue();
    const waitState = async () => (await t.db.query<{ waiting_for: Record<string, unknown> | null; current_node_id: string }>('SELECT waiting_for, current_node_id FROM enrollments WHERE campaign_id = $1', [waiting])).rows[0]!;
    expect((await waitState()).current_node_id).toBe('w');
    clock.advance(60_000);
    await send([{ type: 'alias', userId: 'user-late', previousId: 'anon-2' }]);
    expect((await waitState()).waiting_for).toMatchObject({ kind: 'event', name: 'Pricing Viewed' });
    expect((await waitState()).waiting_for?.matched).toBeUndefined();
    clock.advance(60_000);
    await send([{ type: 'track', anonymousId: 'anon-3', event: 'Pricing Viewed', messageId: 'late-3' }]);
    await send([{ type: 'alias', userId: 'user-late', previousId: 'anon-3' }]);
    expect((await waitState()).waiting_for).toMatchObject({ kind: 'event', name: 'Pricing Viewed', matched: true });
  });
});

describe('time-window segments', () => {
  it('re-evaluate when the window slides, by the injected clock', async () => {
    const other = await signUp(t.app);
    const contactId = await insertContact(t.db, other.workspaceId, { email: 'opener@example.com' });
    const definition = { match: 'all', conditions: [{ kind: 'email', action: 'opened', minCount: 2, withinDays: 7 }] };
    const created = await t.app.inject({ method: 'POST', url: '/api/segments', headers: other.bearer, payload: { name: 'Recent openers', kind: 'dynamic', definition } });
    const segmentId = created.json().id as string;
    const members = async () => (await t.db.query<{ contact_id: string }>('SELECT contact_id FROM segment_members WHERE segment_id = $1', [segmentId])).rows.map((r) => r.contact_id);
    const opened = (at: Date): NewEvent => ({ contactId, type: 'email', name: 'opened', occurredAt: at });

    const start = clock.now().getTime();
    await ingest([opened(new Date(start - 5 * DAY)), opened(new Date(start - 2 * DAY))], other.workspaceId);
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([contactId]);

    // Two days later the older open is 7 days old: still inside (the window includes its start).
    clock.set(new Date(start + 2 * DAY));
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([contactId]);
    // A minute later it has left the window: no new event, yet the contact exits.
    clock.advance(60_000);
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([]);
    expect(await systemEvents(contactId, 'segment_exited')).toEqual([{ segmentId, segmentName: 'Recent openers' }]);

    // A new open brings it back; the next edge is the newer of the two remaining opens.
    await ingest([opened(clock.now())], other.workspaceId);
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([contactId]);
    const due = await t.db.query<{ due_at: Date }>('SELECT due_at FROM segment_window_checks WHERE segment_id = $1', [segmentId]);
    expect(new Date(due.rows[0]!.due_at).getTime()).toBe(start - 2 * DAY + 7 * DAY + 1);
    clock.set(new Date(start + 5 * DAY + 1));
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([]);
    expect(await systemEvents(contactId, 'segment_exited')).toHaveLength(2);
    expect(await systemEvents(contactId, 'segment_entered')).toHaveLength(2);
    clock.set(new Date(start));
  });

  it('enter as the window slides when the condition is an upper bound', async () => {
    const other = await signUp(t.app);
    const contactId = await insertContact(t.db, other.workspaceId);
    const definition = { match: 'all', conditions: [{ kind: 'event', name: 'Support Ticket', type: 'track', minCount: 0, maxCount: 1, withinDays: 3 }] };
    const created = await t.app.inject({ method: 'POST', url: '/api/segments', headers: other.bearer, payload: { name: 'Calm', kind: 'dynamic', definition } });
    const segmentId = created.json().id as string;
    const members = async () => (await t.db.query<{ contact_id: string }>('SELECT contact_id FROM segment_members WHERE segment_id = $1', [segmentId])).rows.map((r) => r.contact_id);
    expect(await members()).toEqual([contactId]);
    const start = clock.now().getTime();
    await ingest([{ contactId, type: 'track', name: 'Support Ticket', occurredAt: new Date(start - DAY) }, { contactId, type: 'track', name: 'Support Ticket' }], other.workspaceId);
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([]);
    clock.set(new Date(start + 2 * DAY + 1));
    await t.runtime.eventProcessor.drain();
    expect(await members()).toEqual([contactId]);
    clock.set(new Date(start));
  });
  it('opens no transaction when nothing is queued or due, and forces generic plans only inside a claim', async () => {
    await t.runtime.eventProcessor.drain();
    let transactions = 0;
    const counted = { ...t.db, transaction: <T>(fn: Parameters<typeof t.db.transaction<T>>[0]) => ((transactions += 1), t.db.transaction(fn)) };
    const scoring = createLeadScoring(new RulesReplyClassifier());
    const modes: string[] = [];
    const observing: LeadScoring = {
      ...scoring,
      async applyEvents(q, workspaceId, events, now) {
        modes.push((await q.query<{ mode: string }>(`SELECT current_setting('plan_cache_mode') AS mode`)).rows[0]!.mode);
        return scoring.applyEvents(q, workspaceId, events, now);
      },
    };
    const processor = createEventProcessor({ db: counted, clock, logger: createLogger('silent'), config: testConfig(), scoring: observing, eventSink: () => t.runtime.deps.eventSink });
    expect(await processor.runBatch()).toBe(0);
    expect(transactions).toBe(0);

    const contactId = await insertContact(t.db, caller.workspaceId);
    await ingest(clicks(contactId, 1));
    expect(await processor.runBatch()).toBe(1);
    expect(transactions).toBe(1);
    expect(modes).toEqual(['force_generic_plan']);
    // SET LOCAL: no pooled connection keeps it after the claim's transaction.
    const outside = await Promise.all(Array.from({ length: 4 }, () => t.db.query<{ mode: string }>(`SELECT current_setting('plan_cache_mode') AS mode`)));
    expect(outside.map((r) => r.rows[0]!.mode)).toEqual(['auto', 'auto', 'auto', 'auto']);
    expect(await processor.runBatch()).toBe(0);
    expect(transactions).toBe(1);
  });
});
