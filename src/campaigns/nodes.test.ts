import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { recordEvents, NO_EVENT_SINK } from '../core/events.js';
import { ManualClock } from '../platform/clock.js';
import { splitVariant } from './engine-interpreter.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock();
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function publish(definition: Record<string, unknown>, as: Caller = caller): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: as.bearer, payload: { name: 'Nodes', definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: as.bearer })).statusCode).toBe(200);
  return id;
}

async function enrollAndRun(campaignId: string, contactIds: string[], as: Caller = caller): Promise<string[]> {
  const response = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: as.bearer, payload: { contactIds } });
  expect(response.statusCode, response.body).toBe(200);
  await engineOf(t).runDue();
  return response.json().results.map((r: { enrollmentId: string }) => r.enrollmentId);
}

async function pathOf(campaignId: string, enrollmentId: string): Promise<Array<{ nodeId: string; handle: string | null; outcome: string }>> {
  const journey = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`, headers: caller.bearer });
  return journey.json().steps;
}

const exitNode = (id: string) => ({ id, type: 'exit', config: { reason: id } });

describe('condition node', () => {
  const definition = {
    entryNodeId: 't',
    nodes: [
      { id: 't', type: 'trigger', config: { kind: 'manual' } },
      {
        id: 'c',
        type: 'condition',
        config: {
          branches: [
            { id: 'vip', match: { operator: 'and', rules: [{ kind: 'tag', tag: 'vip', present: true }, { kind: 'score', op: 'gte', value: 50 }] } },
            {
              id: 'engaged',
              match: {
                operator: 'or',
                rules: [
                  { kind: 'event', name: 'pricing_viewed', withinSeconds: 86_400, present: true },
                  { operator: 'and', rules: [{ kind: 'field', field: 'plan', op: 'eq', value: 'pro' }, { kind: 'field', field: 'first_name', op: 'exists' }] },
                ],
              },
            },
          ],
        },
      },
      exitNode('x_vip'),
      exitNode('x_engaged'),
      exitNode('x_default'),
    ],
    edges: [
      { from: 't', to: 'c' },
      { from: 'c', to: 'x_vip', handle: 'vip' },
      { from: 'c', to: 'x_engaged', handle: 'engaged' },
      { from: 'c', to: 'x_default', handle: 'default' },
    ],
  };

  it('takes the first matching branch over tags, score, events and fields (AND/OR groups), else default', async () => {
    const campaignId = await publish(definition);
    const vip = await insertContact(t.db, caller.workspaceId, { tags: ['vip'], score: 70, custom_fields: { plan: 'pro' } });
    const lowVip = await insertContact(t.db, caller.workspaceId, { tags: ['vip'], score: 10 });
    const pro = await insertContact(t.db, caller.workspaceId, { custom_fields: { plan: 'Pro' } });
    const viewer = await insertContact(t.db, caller.workspaceId);
    const oldViewer = await insertContact(t.db, caller.workspaceId);
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, [{ contactId: viewer, type: 'track', name: 'pricing_viewed' }], clock.now());
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, [{ contactId: oldViewer, type: 'track', name: 'pricing_viewed', occurredAt: new Date(clock.now().getTime() - 3 * 86_400_000) }], clock.now());
    const ids = await enrollAndRun(campaignId, [vip, lowVip, pro, viewer, oldViewer]);
    const ends = await Promise.all(ids.map(async (id) => (await pathOf(campaignId, id)).at(-1)!.nodeId));
    expect(ends).toEqual(['x_vip', 'x_default', 'x_engaged', 'x_engaged', 'x_default']);
  });

  it('branches on engagement with an email this enrollment received earlier', async () => {
    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'mail', type: 'email', config: { subject: 'Offer', html: '<p>Offer</p>' } },
        { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 86_400 } },
        { id: 'c', type: 'condition', config: { branches: [{ id: 'opened', match: { operator: 'and', rules: [{ kind: 'email', nodeId: 'mail', event: 'opened', present: true }] } }] } },
        exitNode('x_opened'),
        exitNode('x_default'),
      ],
      edges: [
        { from: 't', to: 'mail' },
        { from: 'mail', to: 'w' },
        { from: 'w', to: 'c' },
        { from: 'c', to: 'x_opened', handle: 'opened' },
        { from: 'c', to: 'x_default', handle: 'default' },
      ],
    });
    const opener = await insertContact(t.db, caller.workspaceId);
    const ignorer = await insertContact(t.db, caller.workspaceId);
    const [openerEnrollment, ignorerEnrollment] = await enrollAndRun(campaignId, [opener, ignorer]);
    const message = await t.db.query<{ id: string }>('SELECT id FROM messages WHERE contact_id = $1', [opener]);
    const otherMessage = await t.db.query<{ id: string }>('SELECT id FROM messages WHERE contact_id = $1', [ignorer]);
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, [{ contactId: opener, type: 'email', name: 'opened', properties: { messageId: message.rows[0]!.id } }], clock.now());
    // A click on a message that is not this enrollment's does not count.
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, [{ contactId: ignorer, type: 'email', name: 'clicked', properties: { messageId: otherMessage.rows[0]!.id } }], clock.now());
    clock.advance(86_400_000);
    await engineOf(t).runDue();
    expect((await pathOf(campaignId, openerEnrollment!)).at(-1)!.nodeId).toBe('x_opened');
    expect((await pathOf(campaignId, ignorerEnrollment!)).at(-1)!.nodeId).toBe('x_default');
    // Opened again: each message counts once per kind, from the moment the event is committed.
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, [{ contactId: opener, type: 'email', name: 'opened', properties: { messageId: message.rows[0]!.id } }], clock.now());
    const metrics = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer })).json().metrics;
    expect(metrics.emails.mail).toMatchObject({ queued: 2, opened: 1, clicked: 1 });
  });
});

describe('split node', () => {
  it('puts a contact always in the same variant, following the weights', async () => {
    const variants = [
      { id: 'a', weight: 70 },
      { id: 'b', weight: 30 },
    ];
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 2000; i++) counts[splitVariant(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 's', variants) as 'a' | 'b'] += 1;
    expect(counts.a).toBeGreaterThan(1250);
    expect(counts.a).toBeLessThan(1550);
    expect(splitVariant('c1', 's', variants)).toBe(splitVariant('c1', 's', variants));

    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [{ id: 't', type: 'trigger', config: { kind: 'manual' } }, { id: 's', type: 'split', config: { variants } }, exitNode('x_a'), exitNode('x_b')],
      edges: [
        { from: 't', to: 's' },
        { from: 's', to: 'x_a', handle: 'a' },
        { from: 's', to: 'x_b', handle: 'b' },
      ],
    });
    const contacts = await Promise.all(Array.from({ length: 20 }, () => insertContact(t.db, caller.workspaceId)));
    const ids = await enrollAndRun(campaignId, contacts);
    for (const [i, id] of ids.entries()) {
      const steps = await pathOf(campaignId, id);
      expect(steps[1]!.handle).toBe(splitVariant(contacts[i]!, 's', variants));
    }
    // The contacts' ids are random, so either exit may see none of them (0.7^20 for x_b): a node
    // no enrollment reached has no metrics entry.
    const metrics = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer })).json().metrics;
    const toA = contacts.filter((c) => splitVariant(c, 's', variants) === 'a').length;
    expect(metrics.nodes.x_a?.entered ?? 0).toBe(toA);
    expect(metrics.nodes.x_b?.entered ?? 0).toBe(20 - toA);
  });
});

describe('action nodes', () => {
  it('adds and removes tags (recording events), changes the score, updates fields and notifies a member', async () => {
    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'add', type: 'action', config: { kind: 'tag_add', tag: 'nurtured' } },
        { id: 'remove', type: 'action', config: { kind: 'tag_remove', tag: 'cold' } },
        { id: 'score', type: 'action', config: { kind: 'score_change', delta: 95 } },
        { id: 'status', type: 'action', config: { kind: 'field_update', field: 'status', value: 'lead' } },
        { id: 'plan', type: 'action', config: { kind: 'field_update', field: 'plan', value: 'trial' } },
        { id: 'tell', type: 'action', config: { kind: 'notify', userId: caller.userId, subject: 'New lead', text: 'Call them' } },
        { id: 'check', type: 'condition', config: { branches: [{ id: 'ok', match: { operator: 'and', rules: [{ kind: 'tag', tag: 'nurtured', present: true }, { kind: 'score', op: 'eq', value: 100 }] } }] } },
        exitNode('x_ok'),
        exitNode('x_default'),
      ],
      edges: [
        { from: 't', to: 'add' },
        { from: 'add', to: 'remove' },
        { from: 'remove', to: 'score' },
        { from: 'score', to: 'status' },
        { from: 'status', to: 'plan' },
        { from: 'plan', to: 'tell' },
        { from: 'tell', to: 'check' },
        { from: 'check', to: 'x_ok', handle: 'ok' },
        { from: 'check', to: 'x_default', handle: 'default' },
      ],
    });
    const contactId = await insertContact(t.db, caller.workspaceId, { tags: ['cold', 'newsletter'], score: 20, custom_fields: { source: 'ads' } });
    const [enrollmentId] = await enrollAndRun(campaignId, [contactId]);
    const contact = await t.db.query<{ tags: string[]; score: number; status: string; custom_fields: Record<string, unknown> }>('SELECT tags, score, status, custom_fields FROM contacts WHERE id = $1', [contactId]);
    expect(contact.rows[0]).toEqual({ tags: ['newsletter', 'nurtured'], score: 100, status: 'lead', custom_fields: { source: 'ads', plan: 'trial' } });
    const events = await t.db.query<{ name: string; properties: { tag?: string } }>(`SELECT name, properties FROM events WHERE contact_id = $1 AND type = 'system' ORDER BY name`, [contactId]);
    expect(events.rows.map((e) => `${e.name}:${e.properties.tag ?? ''}`)).toEqual(['field_updated:', 'field_updated:', 'tag_added:nurtured', 'tag_removed:cold']);
    const notice = await t.db.query<{ to_address: string; subject: string; text_body: string }>('SELECT to_address, subject, text_body FROM messages WHERE idempotency_key = $1', [`enrollment:${enrollmentId}:node:tell`]);
    expect(notice.rows[0]).toMatchObject({ to_address: caller.email, subject: 'New lead' });
    expect(notice.rows[0]!.text_body).toContain('Call them');
    expect((await pathOf(campaignId, enrollmentId!)).at(-1)!.nodeId).toBe('x_ok');
  });

  it('reads and writes built-in fields named in camelCase, and still in the snake_case a stored definition may hold', async () => {
    const definition = (names: { first: string; job: string }) => ({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'job', type: 'action', config: { kind: 'field_update', field: names.job, value: 'CTO' } },
        { id: 'check', type: 'condition', config: { branches: [{ id: 'ada', match: { operator: 'and', rules: [{ kind: 'field', field: names.first, op: 'eq', value: 'Ada' }, { kind: 'field', field: names.job, op: 'eq', value: 'CTO' }] } }] } },
        exitNode('x_ada'),
        exitNode('x_default'),
      ],
      edges: [
        { from: 't', to: 'job' },
        { from: 'job', to: 'check' },
        { from: 'check', to: 'x_ada', handle: 'ada' },
        { from: 'check', to: 'x_default', handle: 'default' },
      ],
    });
    for (const names of [{ first: 'firstName', job: 'jobTitle' }, { first: 'first_name', job: 'job_title' }]) {
      const campaignId = await publish(definition(names));
      const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Ada' });
      const [enrollmentId] = await enrollAndRun(campaignId, [contactId]);
      expect((await pathOf(campaignId, enrollmentId!)).at(-1)!.nodeId, names.first).toBe('x_ada');
      const stored = await t.db.query<{ job_title: string | null; custom_fields: Record<string, unknown> }>('SELECT job_title, custom_fields FROM contacts WHERE id = $1', [contactId]);
      expect(stored.rows[0], names.job).toEqual({ job_title: 'CTO', custom_fields: {} });
    }
  });

  it('fails the step (not the batch) when a field update is invalid, keeping the earlier steps', async () => {
    const campaignId = await publish({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'add', type: 'action', config: { kind: 'tag_add', tag: 'seen' } },
        { id: 'bad', type: 'action', config: { kind: 'field_update', field: 'status', value: 'royalty' } },
        exitNode('x'),
      ],
      edges: [
        { from: 't', to: 'add' },
        { from: 'add', to: 'bad' },
        { from: 'bad', to: 'x' },
      ],
    });
    const a = await insertContact(t.db, caller.workspaceId);
    const [enrollmentId] = await enrollAndRun(campaignId, [a]);
    const journey = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`, headers: caller.bearer })).json();
    expect(journey.enrollment).toMatchObject({ status: 'failed', currentNodeId: 'bad' });
    expect(journey.steps.map((s: { nodeId: string; outcome: string }) => `${s.nodeId}:${s.outcome}`)).toEqual(['t:completed', 'add:completed', 'bad:failed']);
    const tags = await t.db.query<{ tags: string[] }>('SELECT tags FROM contacts WHERE id = $1', [a]);
    expect(tags.rows[0]!.tags).toEqual(['seen']);
  });

  it('converts a declared custom field to its type, and fails the step when the value cannot take it', async () => {
    const owner = await signUp(t.app);
    expect((await t.app.inject({ method: 'POST', url: '/api/custom-fields', headers: owner.bearer, payload: { key: 'seats', type: 'number' } })).statusCode).toBe(201);
    const definition = (value: string) => ({
      entryNodeId: 't',
      nodes: [{ id: 't', type: 'trigger', config: { kind: 'manual' } }, { id: 'set', type: 'action', config: { kind: 'field_update', field: 'seats', value } }, exitNode('x')],
      edges: [
        { from: 't', to: 'set' },
        { from: 'set', to: 'x' },
      ],
    });
    const good = await publish(definition('12'), owner);
    const bad = await publish(definition('a dozen'), owner);
    const contactId = await insertContact(t.db, owner.workspaceId);
    await enrollAndRun(good, [contactId], owner);
    const stored = await t.db.query<{ custom_fields: Record<string, unknown> }>('SELECT custom_fields FROM contacts WHERE id = $1', [contactId]);
    expect(stored.rows[0]!.custom_fields).toEqual({ seats: 12 });
    const [done] = await t.db.query<{ id: string }>(`SELECT id FROM enrollments WHERE campaign_id = $1`, [good]).then((r) => r.rows);
    const steps = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${good}/enrollments/${done!.id}`, headers: owner.bearer })).json().steps;
    expect(steps.find((s: { nodeId: string }) => s.nodeId === 'set').detail).toMatchObject({ field: 'seats', value: 12 });
    const [failed] = await enrollAndRun(bad, [contactId], owner);
    const journey = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${bad}/enrollments/${failed}`, headers: owner.bearer })).json();
    expect(journey.enrollment).toMatchObject({ status: 'failed', currentNodeId: 'set' });
    expect(journey.steps.at(-1).detail).toMatchObject({ error: expect.stringContaining('seats must be a number') });
  });
});
