import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { DAY, engineOf } from '../../test/campaign-support.js';
import { runDueBroadcasts } from './broadcasts.js';

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

async function contact(email: string, tags: string[] = []): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email, tags } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

async function segment(name: string, tag: string): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name, kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag }] } } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

const definition = (trigger: Record<string, unknown>, settings?: Record<string, unknown>) => ({
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: trigger },
    { id: 'mail', type: 'email', config: { subject: 'News', html: '<p>Hello</p>' } },
    { id: 'wait', type: 'wait', config: { kind: 'duration', seconds: 7 * 86_400 } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'mail' },
    { from: 'mail', to: 'wait' },
    { from: 'wait', to: 'x' },
  ],
  ...(settings ? { settings } : {}),
});

async function create(def: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Broadcast', definition: def } });
}

async function publish(def: Record<string, unknown>): Promise<string> {
  const created = await create(def);
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  const published = await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
  expect(published.statusCode, published.body).toBe(200);
  return id;
}

async function enrollmentsOf(campaignId: string) {
  const result = await t.db.query<{ contact_id: string; status: string; exit_reason: string | null; current_node_id: string }>(
    'SELECT contact_id, status, exit_reason, current_node_id FROM enrollments WHERE campaign_id = $1 ORDER BY contact_id',
    [campaignId],
  );
  return result.rows;
}

describe('scheduled broadcast to a segment', () => {
  it('enrolls every current member once, when `at` has passed by the clock', async () => {
    const members = [await contact('b1@example.com', ['vip']), await contact('b2@example.com', ['vip']), await contact('b3@example.com', ['vip'])];
    await contact('other@example.com', ['regular']);
    const segmentId = await segment('VIP', 'vip');
    const at = new Date(clock.now().getTime() + DAY).toISOString();
    const campaignId = await publish(definition({ kind: 'broadcast', segmentId, at }));

    await engineOf(t).runDue();
    expect(await enrollmentsOf(campaignId)).toEqual([]);

    clock.advance(DAY + 1000);
    await engineOf(t).runDue();
    const enrolled = await enrollmentsOf(campaignId);
    expect(enrolled.map((e) => e.contact_id).sort()).toEqual([...members].sort());
    // The engine ran them in the same pass: the email is queued and they wait.
    expect(enrolled.every((e) => e.status === 'active' && e.current_node_id === 'wait')).toBe(true);

    await engineOf(t).runDue();
    clock.advance(1000);
    await engineOf(t).runDue();
    expect(await enrollmentsOf(campaignId)).toHaveLength(3);
    const row = await t.db.query<{ status: string; enrolled: number }>('SELECT status, enrolled FROM campaign_broadcasts WHERE campaign_id = $1', [campaignId]);
    expect(row.rows).toEqual([{ status: 'done', enrolled: 3 }]);
  });

  it('sends on publish when there is no `at`, and a later version with the same audience respects re-entry', async () => {
    const a = await contact('now1@example.com', ['now']);
    const b = await contact('now2@example.com', ['now']);
    const segmentId = await segment('Now', 'now');
    const campaignId = await publish(definition({ kind: 'broadcast', segmentId }));
    expect((await enrollmentsOf(campaignId)).map((e) => e.contact_id).sort()).toEqual([a, b].sort());

    // v2 broadcasts again; with re-entry 'never' (the default) nobody enters twice.
    const republished = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer });
    expect(republished.statusCode).toBe(200);
    expect(await enrollmentsOf(campaignId)).toHaveLength(2);
    const rows = await t.db.query<{ version: number; status: string; enrolled: number }>('SELECT version, status, enrolled FROM campaign_broadcasts WHERE campaign_id = $1 ORDER BY version', [campaignId]);
    expect(rows.rows).toEqual([
      { version: 1, status: 'done', enrolled: 2 },
      { version: 2, status: 'done', enrolled: 0 },
    ]);
  });

  it('a crash mid-broadcast enrolls nobody, and the retry enrolls each member once', async () => {
    const members = [await contact('c1@example.com', ['crash']), await contact('c2@example.com', ['crash'])];
    const segmentId = await segment('Crash', 'crash');
    const campaignId = await publish(definition({ kind: 'broadcast', segmentId, at: new Date(clock.now().getTime() + 60_000).toISOString() }));
    clock.advance(61_000);
    const crash = new Error('crash after the broadcast insert');
    await expect(
      t.db.transaction(async (tx) => {
        expect(await runDueBroadcasts(tx, clock.now())).toBeGreaterThanOrEqual(1);
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect(await enrollmentsOf(campaignId)).toEqual([]);
    const pending = await t.db.query<{ status: string }>('SELECT status FROM campaign_broadcasts WHERE campaign_id = $1', [campaignId]);
    expect(pending.rows).toEqual([{ status: 'scheduled' }]);
    await engineOf(t).runDue();
    await engineOf(t).runDue();
    expect((await enrollmentsOf(campaignId)).map((e) => e.contact_id).sort()).toEqual([...members].sort());
  });

  it('waits while the campaign is paused and is replaced by a newer version', async () => {
    await contact('p1@example.com', ['paused']);
    const segmentId = await segment('Paused', 'paused');
    const at = new Date(clock.now().getTime() + DAY).toISOString();
    const campaignId = await publish(definition({ kind: 'broadcast', segmentId, at }));
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/pause`, headers: caller.bearer })).statusCode).toBe(200);
    clock.advance(DAY + 1000);
    await engineOf(t).runDue();
    expect(await enrollmentsOf(campaignId)).toEqual([]);
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/resume`, headers: caller.bearer })).statusCode).toBe(200);
    await engineOf(t).runDue();
    expect(await enrollmentsOf(campaignId)).toHaveLength(1);

    const later = new Date(clock.now().getTime() + DAY).toISOString();
    const second = await publish(definition({ kind: 'broadcast', segmentId, at: later }));
    const replaced = await t.app.inject({ method: 'POST', url: `/api/campaigns/${second}/publish`, headers: caller.bearer });
    expect(replaced.statusCode).toBe(200);
    const rows = await t.db.query<{ version: number; status: string }>('SELECT version, status FROM campaign_broadcasts WHERE campaign_id = $1 ORDER BY version', [second]);
    expect(rows.rows.map((r) => r.status)).toEqual(['superseded', 'scheduled']);
  });

  it('refuses a segment that is not in the workspace', async () => {
    const other = await signUp(t.app);
    const foreign = (await t.app.inject({ method: 'POST', url: '/api/segments', headers: other.bearer, payload: { name: 'Theirs', kind: 'static' } })).json().id as string;
    const response = await create(definition({ kind: 'broadcast', segmentId: foreign }));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('CAMPAIGN_INVALID');
    expect(response.json().error.details[0]).toMatchObject({ nodeId: 't', field: 'config.segmentId' });
    const goal = await create(definition({ kind: 'manual' }, { goal: { kind: 'segment', segmentId: '11111111-1111-4111-8111-111111111111' } }));
    expect(goal.statusCode).toBe(400);
    expect(goal.json().error.details[0]).toMatchObject({ nodeId: null, field: 'settings.goal.segmentId' });
    const badAt = await create(definition({ kind: 'broadcast', segmentId: foreign, at: 'tomorrow' }));
    expect(badAt.statusCode).toBe(400);
  });
});

describe('segment goals', () => {
  it('entering the goal segment exits the enrollment as a conversion', async () => {
    const segmentId = await segment('Customers', 'customer');
    const converting = await contact('goal1@example.com');
    const staying = await contact('goal2@example.com');
    const campaignId = await publish(definition({ kind: 'manual' }, { goal: { kind: 'segment', segmentId } }));
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: [converting, staying] } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(t).runDue();

    const tagged = await t.app.inject({ method: 'POST', url: `/api/contacts/${converting}/tags`, headers: caller.bearer, payload: { tags: ['customer'] } });
    expect(tagged.statusCode, tagged.body).toBe(200);
    // Another segment's entry is not this goal.
    await segment('Other', 'other');
    await t.app.inject({ method: 'POST', url: `/api/contacts/${staying}/tags`, headers: caller.bearer, payload: { tags: ['other'] } });
    // Segment membership follows the tag through the event processor, which records the entry.
    await t.runtime.eventProcessor.drain();

    const rows = await enrollmentsOf(campaignId);
    expect(rows.find((r) => r.contact_id === converting)).toMatchObject({ status: 'exited', exit_reason: 'goal' });
    expect(rows.find((r) => r.contact_id === staying)).toMatchObject({ status: 'active', exit_reason: null });
    const detail = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer });
    expect(detail.json().metrics.conversions).toBe(1);
  });
});
