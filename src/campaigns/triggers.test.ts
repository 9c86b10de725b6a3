import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { recordEvents, type NewEvent } from '../core/events.js';
import { ManualClock } from '../platform/clock.js';
import { nextAllowedTime } from './schedule.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0)); // a Monday
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function publish(definition: Record<string, unknown>): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Triggered', definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer })).statusCode).toBe(200);
  return id;
}

/** Stores events the way every producer does: through the runtime's sink, in one transaction. */
async function ingest(events: NewEvent[]): Promise<void> {
  await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, events, clock.now()));
}

async function enrollmentsOf(campaignId: string) {
  const result = await t.db.query<{ id: string; contact_id: string; status: string; current_node_id: string; exit_reason: string | null }>(
    'SELECT id, contact_id, status, current_node_id, exit_reason FROM enrollments WHERE campaign_id = $1 ORDER BY enrolled_at',
    [campaignId],
  );
  return result.rows;
}

const simple = (trigger: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: trigger },
    { id: 'mail', type: 'email', config: { subject: 'Hi', html: '<p>{{ event.plan | default: "none" }}</p>' } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'mail' },
    { from: 'mail', to: 'x' },
  ],
  ...extra,
});

describe('triggers start campaigns from stored events, in the same transaction', () => {
  it('new contact, tag added, score threshold, event with filters, email event and segment entry', async () => {
    const segmentId = '11111111-1111-4111-8111-111111111111';
    const campaigns = {
      created: await publish(simple({ kind: 'contact_created' })),
      tag: await publish(simple({ kind: 'tag_added', tag: 'vip' })),
      score: await publish(simple({ kind: 'score_threshold', threshold: 80 })),
      event: await publish(simple({ kind: 'event', name: 'signed_up', filters: [{ property: 'plan', op: 'eq', value: 'pro' }] })),
      email: await publish(simple({ kind: 'email_event', event: 'clicked' })),
      segment: await publish(simple({ kind: 'segment_entered', segmentId })),
    };
    const a = await insertContact(t.db, caller.workspaceId);
    const b = await insertContact(t.db, caller.workspaceId);
    await ingest([
      { contactId: a, type: 'system', name: 'contact_created' },
      { contactId: a, type: 'system', name: 'tag_added', properties: { tag: 'vip' } },
      { contactId: b, type: 'system', name: 'tag_added', properties: { tag: 'other' } },
      { contactId: a, type: 'system', name: 'score_threshold_crossed', properties: { from: 60, to: 85 } },
      { contactId: b, type: 'system', name: 'score_threshold_crossed', properties: { from: 85, to: 60 } },
      { contactId: a, type: 'track', name: 'signed_up', properties: { plan: 'pro' } },
      { contactId: b, type: 'track', name: 'signed_up', properties: { plan: 'free' } },
      { contactId: b, type: 'email', name: 'clicked', properties: {} },
      { contactId: b, type: 'system', name: 'segment_entered', properties: { segmentId } },
    ]);
    expect((await enrollmentsOf(campaigns.created)).map((e) => e.contact_id)).toEqual([a]);
    expect((await enrollmentsOf(campaigns.tag)).map((e) => e.contact_id)).toEqual([a]);
    expect((await enrollmentsOf(campaigns.score)).map((e) => e.contact_id)).toEqual([a]);
    expect((await enrollmentsOf(campaigns.event)).map((e) => e.contact_id)).toEqual([a]);
    expect((await enrollmentsOf(campaigns.email)).map((e) => e.contact_id)).toEqual([b]);
    expect((await enrollmentsOf(campaigns.segment)).map((e) => e.contact_id)).toEqual([b]);

    // The entry event's properties are `event` in templates.
    await engineOf(t).runDue();
    const mail = await t.db.query<{ html: string }>(`SELECT html FROM messages WHERE source_id = $1`, [campaigns.event]);
    expect(mail.rows[0]!.html).toContain('pro');

    // A rolled-back transaction enrolls nobody.
    const c = await insertContact(t.db, caller.workspaceId);
    await expect(
      t.db.transaction(async (tx) => {
        await recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, [{ contactId: c, type: 'system', name: 'contact_created' }], clock.now());
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    expect((await enrollmentsOf(campaigns.created)).map((e) => e.contact_id)).toEqual([a]);
    for (const id of Object.values(campaigns)) await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/archive`, headers: caller.bearer });
  });
});

describe('waits', () => {
  it('waits for an event correlated with the entry event, or leaves by the timeout branch', async () => {
    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'event', name: 'cart_abandoned' } },
        { id: 'w', type: 'wait', config: { kind: 'event', name: 'order_completed', timeoutSeconds: 86_400, correlationKey: 'cart_id' } },
        { id: 'bought', type: 'exit', config: { reason: 'bought' } },
        { id: 'nudge', type: 'email', config: { subject: 'Your cart {{ event.cart_id }}', html: '<p>Come back</p>' } },
        { id: 'x', type: 'exit', config: { reason: 'nudged' } },
      ],
      edges: [
        { from: 't', to: 'w' },
        { from: 'w', to: 'bought' },
        { from: 'w', to: 'nudge', handle: 'timeout' },
        { from: 'nudge', to: 'x' },
      ],
    });
    const buyer = await insertContact(t.db, caller.workspaceId);
    const leaver = await insertContact(t.db, caller.workspaceId);
    await ingest([
      { contactId: buyer, type: 'track', name: 'cart_abandoned', properties: { cart_id: 'c1' } },
      { contactId: leaver, type: 'track', name: 'cart_abandoned', properties: { cart_id: 'c2' } },
    ]);
    await engineOf(t).runDue();
    // Another cart's order does not release the leaver; the buyer's own order releases the buyer.
    await ingest([
      { contactId: leaver, type: 'track', name: 'order_completed', properties: { cart_id: 'other' } },
      { contactId: buyer, type: 'track', name: 'order_completed', properties: { cart_id: 'c1' } },
    ]);
    await engineOf(t).runDue();
    let rows = await enrollmentsOf(campaignId);
    expect(rows.find((r) => r.contact_id === buyer)).toMatchObject({ status: 'completed', exit_reason: 'bought' });
    expect(rows.find((r) => r.contact_id === leaver)).toMatchObject({ status: 'active', current_node_id: 'w' });
    clock.advance(86_400_000);
    await engineOf(t).runDue();
    rows = await enrollmentsOf(campaignId);
    expect(rows.find((r) => r.contact_id === leaver)).toMatchObject({ status: 'completed', exit_reason: 'nudged' });
    const nudge = await t.db.query<{ subject: string }>('SELECT subject FROM messages WHERE contact_id = $1', [leaver]);
    expect(nudge.rows.map((m) => m.subject)).toEqual(['Your cart c2']);
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/archive`, headers: caller.bearer });
  });

  it('waits until a weekday and hour in the contact’s time zone, outside quiet hours', async () => {
    // Monday 2026-01-05 09:00 UTC. Tokyo is UTC+9: Monday 18:00 there.
    const monday9utc = new Date(Date.UTC(2026, 0, 5, 9, 0, 0));
    expect(nextAllowedTime(monday9utc, 'Asia/Tokyo', { weekdays: [2], hour: 10 }).toISOString()).toBe('2026-01-06T01:00:00.000Z');
    expect(nextAllowedTime(monday9utc, 'America/New_York', { hour: 9, minute: 30 }).toISOString()).toBe('2026-01-05T14:30:00.000Z');
    // No hour: now if allowed, else the end of quiet hours (Tokyo 18:00 is inside 17 → 8).
    expect(nextAllowedTime(monday9utc, 'UTC', { quietHours: { start: 21, end: 8 } }).toISOString()).toBe(monday9utc.toISOString());
    expect(nextAllowedTime(monday9utc, 'Asia/Tokyo', { quietHours: { start: 17, end: 8 } }).toISOString()).toBe('2026-01-05T23:00:00.000Z');
    // Summer time: 9:00 in New York is 13:00 UTC in July.
    expect(nextAllowedTime(new Date(Date.UTC(2026, 6, 1, 0, 0)), 'America/New_York', { hour: 9 }).toISOString()).toBe('2026-07-01T13:00:00.000Z');

    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'w', type: 'wait', config: { kind: 'until_time', weekdays: [2], hour: 10, quietHours: { start: 21, end: 8 } } },
        { id: 'mail', type: 'email', config: { subject: 'Tuesday', html: '<p>Hi</p>' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'w' },
        { from: 'w', to: 'mail' },
        { from: 'mail', to: 'x' },
      ],
    });
    clock.set(monday9utc);
    const tokyo = await insertContact(t.db, caller.workspaceId, { timezone: 'Asia/Tokyo' });
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: [tokyo] } });
    await engineOf(t).runDue();
    const waiting = await t.db.query<{ next_run_at: Date }>('SELECT next_run_at FROM enrollments WHERE contact_id = $1', [tokyo]);
    expect(waiting.rows[0]!.next_run_at.toISOString()).toBe('2026-01-06T01:00:00.000Z');
    clock.set(new Date('2026-01-06T01:00:00.000Z'));
    await engineOf(t).runDue();
    expect((await t.db.query('SELECT 1 FROM messages WHERE contact_id = $1', [tokyo])).rows).toHaveLength(1);
  });
});

describe('goals', () => {
  it('exits a contact that reaches the goal and counts a conversion', async () => {
    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 86_400 } },
        { id: 'mail', type: 'email', config: { subject: 'Buy', html: '<p>Buy</p>' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'w' },
        { from: 'w', to: 'mail' },
        { from: 'mail', to: 'x' },
      ],
      settings: { goal: { eventName: 'purchased' } },
    });
    const buyer = await insertContact(t.db, caller.workspaceId);
    const other = await insertContact(t.db, caller.workspaceId);
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: [buyer, other] } });
    await engineOf(t).runDue();
    await ingest([{ contactId: buyer, type: 'track', name: 'purchased' }]);
    clock.advance(86_400_000);
    await engineOf(t).runDue();
    const rows = await enrollmentsOf(campaignId);
    expect(rows.find((r) => r.contact_id === buyer)).toMatchObject({ status: 'exited', exit_reason: 'goal' });
    expect((await t.db.query('SELECT 1 FROM messages WHERE contact_id = $1', [buyer])).rows).toHaveLength(0);
    expect((await t.db.query('SELECT 1 FROM messages WHERE contact_id = $1', [other])).rows).toHaveLength(1);
    const metrics = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer })).json().metrics;
    expect(metrics.conversions).toBe(1);
    expect(metrics.enrollments).toMatchObject({ exited: 1, completed: 1 });
  });
});

describe('inbound webhook trigger', () => {
  it('enrolls a contact by email when called with the campaign secret, and refuses a wrong one', async () => {
    const campaignId = await publish(simple({ kind: 'inbound_webhook' }));
    const secretResponse = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/inbound-secret`, headers: caller.bearer });
    expect(secretResponse.statusCode).toBe(201);
    const { secret, url } = secretResponse.json();
    expect(url).toContain(`/hooks/campaigns/${campaignId}`);
    await insertContact(t.db, caller.workspaceId, { email: 'hooked@example.com' });

    const wrong = await t.app.inject({ method: 'POST', url: `/hooks/campaigns/${campaignId}`, headers: { authorization: 'Bearer nope' }, payload: { email: 'hooked@example.com' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('UNAUTHENTICATED');
    const unknown = await t.app.inject({ method: 'POST', url: `/hooks/campaigns/${campaignId}`, headers: { authorization: `Bearer ${secret}` }, payload: { email: 'nobody@example.com' } });
    expect(unknown.json().error.code).toBe('ENROLLMENT_CONTACTS_NOT_FOUND');
    const ok = await t.app.inject({ method: 'POST', url: `/hooks/campaigns/${campaignId}`, headers: { authorization: `Bearer ${secret}` }, payload: { email: 'Hooked@example.com', properties: { plan: 'gold' } } });
    expect(ok.statusCode, ok.body).toBe(202);
    expect(ok.json().status).toBe('enrolled');
    await engineOf(t).runDue();
    const mail = await t.db.query<{ html: string }>('SELECT html FROM messages WHERE source_id = $1', [campaignId]);
    expect(mail.rows[0]!.html).toContain('gold');
    const again = await t.app.inject({ method: 'POST', url: `/hooks/campaigns/${campaignId}`, headers: { authorization: `Bearer ${secret}` }, payload: { email: 'hooked@example.com' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ENROLLMENT_REFUSED');
  });
});
