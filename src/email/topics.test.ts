import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineOf } from '../../test/campaign-support.js';
import { createContact, createEmailTestApp, enqueueTestEmail, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';

let t: EmailTestApp;
let caller: Caller;
let member: Record<string, string>;
const clock = new ManualClock();

beforeAll(async () => {
  t = await createEmailTestApp({ clock });
  caller = await signUp(t.app);
  const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'member key', role: 'member' } });
  expect(key.statusCode, key.body).toBe(201);
  member = { authorization: `Bearer ${key.json().key as string}` };
  // Ahead of the database's now(), so messages enqueued during the tests are due.
  clock.set(new Date(Date.now() + 5 * 60_000));
});
afterAll(async () => {
  await t.close();
});

async function createTopic(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/topics', headers: caller.bearer, payload: { name, ...extra } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

async function sendOne(contactId: string, to: string, topic: { id: string | null } | undefined, key: string): Promise<string> {
  const id = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to, sourceType: 'campaign', idempotencyKey: key, ...(topic ? { topic } : {}) });
  await t.runtime.deps.email.sender.runOnce();
  return id;
}

/** The newest dev-inbox copy for an address: its List-Unsubscribe path. */
async function unsubscribePathFor(to: string): Promise<string> {
  const list = (await t.app.inject({ method: 'GET', url: '/api/inbox', headers: caller.bearer })).json().messages as Array<{ id: string; to: string }>;
  const summary = list.find((m) => m.to === to)!;
  const email = (await t.app.inject({ method: 'GET', url: `/api/inbox/${summary.id}`, headers: caller.bearer })).json();
  return new URL(/^<([^>]+)>$/.exec(email.headers['List-Unsubscribe'] as string)![1]!).pathname;
}

async function unsubscribeEvents(contactId: string): Promise<Array<Record<string, unknown>>> {
  const result = await t.db.query<{ properties: Record<string, unknown> }>(`SELECT properties FROM events WHERE contact_id = $1 AND type = 'email' AND name = 'unsubscribed' ORDER BY received_at, id`, [contactId]);
  return result.rows.map((r) => r.properties);
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('subscription topics API', () => {
  it('creates, updates, lists and deletes topics with one default, auditing each change', async () => {
    const news = await createTopic('Product news', { description: 'What we ship', isDefault: true });
    const webinars = await createTopic('Webinars', { isDefault: true });
    const list = (await t.app.inject({ method: 'GET', url: '/api/topics', headers: caller.bearer })).json().topics as Array<{ id: string; isDefault: boolean; name: string }>;
    // Making Webinars the default took it from Product news.
    expect(list.map((x) => [x.name, x.isDefault])).toEqual([
      ['Webinars', true],
      ['Product news', false],
    ]);
    const renamed = await t.app.inject({ method: 'PUT', url: `/api/topics/${news}`, headers: caller.bearer, payload: { name: 'Releases', description: null } });
    expect(renamed.json()).toMatchObject({ id: news, name: 'Releases', description: null, isDefault: false, optedOut: 0 });
    const duplicate = await t.app.inject({ method: 'POST', url: '/api/topics', headers: caller.bearer, payload: { name: 'releases' } });
    expect([duplicate.statusCode, duplicate.json().error.code]).toEqual([409, 'TOPIC_NAME_TAKEN']);
    const blank = await t.app.inject({ method: 'POST', url: '/api/topics', headers: caller.bearer, payload: { name: '   ' } });
    expect([blank.statusCode, blank.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/topics/${news}`, headers: caller.bearer })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/topics/${news}`, headers: caller.bearer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/topics/${webinars}`, headers: caller.bearer })).statusCode).toBe(204);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_type = 'topic' ORDER BY id`, [caller.workspaceId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['topic.create', 'topic.create', 'topic.update', 'topic.delete', 'topic.delete']);
  });

  it('lets members read topics and edit contacts’ opt-outs, but only admins manage topics', async () => {
    const topic = await createTopic('Member-visible');
    expect((await t.app.inject({ method: 'GET', url: '/api/topics', headers: member })).statusCode).toBe(200);
    const refused = await t.app.inject({ method: 'POST', url: '/api/topics', headers: member, payload: { name: 'Nope' } });
    expect([refused.statusCode, refused.json().error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/topics/${topic}`, headers: member })).statusCode).toBe(403);
    const contactId = await createContact(t.db, caller.workspaceId, 'member-edit@example.com');
    const changed = await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: member, payload: { topics: [{ topicId: topic, subscribed: false }] } });
    expect(changed.statusCode).toBe(200);
    await t.app.inject({ method: 'DELETE', url: `/api/contacts/${contactId}`, headers: caller.bearer });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/topics/${topic}`, headers: caller.bearer })).statusCode).toBe(204);
  });
});

describe('contact topic opt-outs', () => {
  it('shows and changes a contact’s topics through the contacts API, with an event and an audit entry per change', async () => {
    const deals = await createTopic('Deals');
    const tips = await createTopic('Tips');
    const contactId = await createContact(t.db, caller.workspaceId, 'lin@example.com');
    const initial = await t.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer });
    expect(initial.json().topics.filter((x: { id: string }) => [deals, tips].includes(x.id)).map((x: { subscribed: boolean }) => x.subscribed)).toEqual([true, true]);

    const changed = await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: deals, subscribed: false }] } });
    expect(changed.statusCode).toBe(200);
    const dealsState = changed.json().topics.find((x: { id: string }) => x.id === deals);
    expect(dealsState).toMatchObject({ subscribed: false, source: expect.stringMatching(/^api_key:/) });
    expect(dealsState.optedOutAt).not.toBeNull();
    // Repeating it changes nothing and records nothing.
    await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: deals, subscribed: false }] } });
    expect(await unsubscribeEvents(contactId)).toEqual([expect.objectContaining({ scope: 'topic', topicId: deals, topicName: 'Deals', messageId: null })]);
    const topics = (await t.app.inject({ method: 'GET', url: '/api/topics', headers: caller.bearer })).json().topics as Array<{ id: string; optedOut: number }>;
    expect(topics.find((x) => x.id === deals)!.optedOut).toBe(1);

    const back = await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: deals, subscribed: true }] } });
    expect(back.json().topics.find((x: { id: string }) => x.id === deals).subscribed).toBe(true);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE resource_type = 'contact' AND resource_id = $1 ORDER BY id`, [contactId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['contact.topics_update', 'contact.topics_update']);

    const unknown = await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: '00000000-0000-4000-8000-000000000000', subscribed: false }] } });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const noContact = await t.app.inject({ method: 'GET', url: '/api/contacts/00000000-0000-4000-8000-000000000000/topics', headers: caller.bearer });
    expect(noContact.statusCode).toBe(404);
    const other = await signUp(t.app);
    const foreign = await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: other.bearer, payload: { topics: [{ topicId: deals, subscribed: false }] } });
    expect(foreign.statusCode).toBe(404);
  });

  it('refuses marketing email of a topic the contact left (topic_unsubscribed), and still sends its other topics and transactional email', async () => {
    const alerts = await createTopic('Alerts');
    const digest = await createTopic('Digest');
    const contactId = await createContact(t.db, caller.workspaceId, 'omar@example.com');
    await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: alerts, subscribed: false }] } });
    const refused = await sendOne(contactId, 'omar@example.com', { id: alerts }, 'topic:alerts');
    const allowed = await sendOne(contactId, 'omar@example.com', { id: digest }, 'topic:digest');
    const transactional = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to: 'omar@example.com', idempotencyKey: 'topic:test-send' });
    await t.runtime.deps.email.sender.runOnce();
    expect(await messageRow(t.db, refused)).toMatchObject({ status: 'suppressed', last_error: 'suppressed: topic_unsubscribed' });
    expect((await messageRow(t.db, allowed)).status).toBe('sent');
    expect((await messageRow(t.db, transactional)).status).toBe('sent');
    const listed = (await t.app.inject({ method: 'GET', url: `/api/messages/${refused}`, headers: caller.bearer })).json();
    expect(listed.message).toMatchObject({ topicId: alerts, status: 'suppressed' });
    expect(listed.attempts.map((a: { result: string }) => a.result)).toEqual(['suppressed']);
  });

  it('gives a message without a topic the workspace default, and a deleted topic falls back to it too', async () => {
    const other = await signUp(t.app);
    const contactId = await createContact(t.db, other.workspaceId, 'dee@example.com');
    const none = await enqueueTestEmail(t.db, other.workspaceId, { contactId, sourceType: 'campaign', topic: { id: null } });
    const created = await t.app.inject({ method: 'POST', url: '/api/topics', headers: other.bearer, payload: { name: 'General', isDefault: true } });
    const general = created.json().id as string;
    const defaulted = await enqueueTestEmail(t.db, other.workspaceId, { contactId, sourceType: 'campaign', topic: { id: null } });
    const gone = await enqueueTestEmail(t.db, other.workspaceId, { contactId, sourceType: 'campaign', topic: { id: '00000000-0000-4000-8000-000000000000' } });
    const transactional = await enqueueTestEmail(t.db, other.workspaceId, { contactId });
    const topicOf = async (id: string) => (await t.db.query<{ topic_id: string | null }>('SELECT topic_id FROM messages WHERE id = $1', [id])).rows[0]!.topic_id;
    expect([await topicOf(none), await topicOf(defaulted), await topicOf(gone), await topicOf(transactional)]).toEqual([null, general, general, null]);
  });
});

describe('preference page and one-click', () => {
  it('lists the topics with their state, marks the email’s own, and saves a choice of topics', async () => {
    const launches = await createTopic('Launches', { description: 'New products, twice a year' });
    const events = await createTopic('Events');
    const contactId = await createContact(t.db, caller.workspaceId, 'page@example.com');
    await sendOne(contactId, 'page@example.com', { id: launches }, 'page:1');
    const path = await unsubscribePathFor('page@example.com');
    const page = await t.app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`name="topic" value="${launches}" checked`);
    expect(page.body).toContain(`name="topic" value="${events}" checked`);
    expect(page.body).toContain('Launches <em>(this email)</em>');
    expect(page.body).toContain('New products, twice a year');
    expect(page.body).toContain('Unsubscribe from all marketing email');
    expect(page.body).not.toContain('<script');

    // Keep Launches only: every other topic of the workspace is left.
    const saved = await t.app.inject({ method: 'POST', url: path, headers: form, payload: `action=save&topic=${launches}` });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('Your preferences are saved.');
    expect(saved.body).toContain(`name="topic" value="${launches}" checked`);
    expect(saved.body).toContain(`name="topic" value="${events}">`);
    const state = (await t.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer })).json().topics as Array<{ id: string; subscribed: boolean; source: string | null }>;
    expect(state.find((x) => x.id === events)).toMatchObject({ subscribed: false, source: 'preference_page' });
    expect(state.find((x) => x.id === launches)).toMatchObject({ subscribed: true });
    // Nothing address-wide happened.
    const suppression = await t.app.inject({ method: 'GET', url: '/api/suppressions?email=page@example.com', headers: caller.bearer });
    expect(suppression.json().suppressions).toEqual([]);
  });

  it('one-click leaves only the email’s topic: no suppression, the contact stays subscribed, one event with the topic', async () => {
    const offers = await createTopic('Offers');
    const stories = await createTopic('Stories');
    const contactId = await createContact(t.db, caller.workspaceId, 'click@example.com');
    await sendOne(contactId, 'click@example.com', { id: offers }, 'oneclick:1');
    const path = await unsubscribePathFor('click@example.com');
    for (let i = 0; i < 2; i += 1) {
      const response = await t.app.inject({ method: 'POST', url: path, headers: form, payload: 'List-Unsubscribe=One-Click' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('You are unsubscribed from &quot;Offers&quot;.');
    }
    const contact = await t.db.query<{ subscription_state: string }>('SELECT subscription_state FROM contacts WHERE id = $1', [contactId]);
    expect(contact.rows[0]!.subscription_state).toBe('subscribed');
    expect((await t.app.inject({ method: 'GET', url: '/api/suppressions?email=click@example.com', headers: caller.bearer })).json().suppressions).toEqual([]);
    expect(await unsubscribeEvents(contactId)).toEqual([expect.objectContaining({ source: 'one_click', scope: 'topic', topicId: offers, topicName: 'Offers' })]);

    const again = await sendOne(contactId, 'click@example.com', { id: offers }, 'oneclick:2');
    const otherTopic = await sendOne(contactId, 'click@example.com', { id: stories }, 'oneclick:3');
    expect((await messageRow(t.db, again)).last_error).toBe('suppressed: topic_unsubscribed');
    expect((await messageRow(t.db, otherTopic)).status).toBe('sent');
  });

  it('one-click on an email without a topic, and "unsubscribe from all", leave all marketing email', async () => {
    const other = await signUp(t.app);
    const contactId = await createContact(t.db, other.workspaceId, 'all@example.com');
    await enqueueTestEmail(t.db, other.workspaceId, { contactId, to: 'all@example.com', sourceType: 'campaign', topic: { id: null } });
    await t.runtime.deps.email.sender.runOnce();
    const list = (await t.app.inject({ method: 'GET', url: '/api/inbox', headers: other.bearer })).json().messages as Array<{ id: string }>;
    const email = (await t.app.inject({ method: 'GET', url: `/api/inbox/${list[0]!.id}`, headers: other.bearer })).json();
    const path = new URL(/^<([^>]+)>$/.exec(email.headers['List-Unsubscribe'] as string)![1]!).pathname;
    const response = await t.app.inject({ method: 'POST', url: path, headers: form, payload: 'List-Unsubscribe=One-Click' });
    expect(response.body).toContain('You are unsubscribed from all marketing email.');
    const suppression = await t.app.inject({ method: 'GET', url: '/api/suppressions?email=all@example.com', headers: other.bearer });
    expect(suppression.json().suppressions[0]).toMatchObject({ reason: 'unsubscribed', source: 'one_click' });
    expect(await unsubscribeEvents(contactId)).toEqual([expect.objectContaining({ scope: 'all', topicId: null })]);

    // From a topic email, the page's "unsubscribe from all" button is address-wide too.
    const news = await createTopic('All-news');
    const contact2 = await createContact(t.db, caller.workspaceId, 'all2@example.com');
    await sendOne(contact2, 'all2@example.com', { id: news }, 'all:2');
    const path2 = await unsubscribePathFor('all2@example.com');
    const all = await t.app.inject({ method: 'POST', url: path2, headers: form, payload: 'action=unsubscribe' });
    expect(all.body).toContain('You will not receive marketing email');
    expect(all.body).not.toContain('name="topic"');
    expect(await unsubscribeEvents(contact2)).toEqual([expect.objectContaining({ scope: 'all', topicId: news, source: 'preference_page' })]);
  });
});

describe('campaign email topics', () => {
  const definition = (topicId: string | undefined, priority?: string) => ({
    entryNodeId: 'start',
    nodes: [
      { id: 'start', type: 'trigger', config: { kind: 'manual' } },
      { id: 'mail', type: 'email', config: { subject: 'Hello', html: '<p>Hello</p>', ...(topicId ? { topicId } : {}) } },
      { id: 'end', type: 'exit', config: {} },
    ],
    edges: [
      { from: 'start', to: 'mail' },
      { from: 'mail', to: 'end' },
    ],
    ...(priority ? { settings: { priority } } : {}),
  });

  it('queues a campaign email with its node’s topic, refuses unknown topics and topics in transactional campaigns, and keeps a used topic', async () => {
    const topic = await createTopic('Onboarding tips');
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Topical', definition: definition(topic) } });
    expect(created.statusCode, created.body).toBe(201);
    const campaignId = created.json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    const contactId = await createContact(t.db, caller.workspaceId, 'journey@example.com');
    await t.app.inject({ method: 'PUT', url: `/api/contacts/${contactId}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: topic, subscribed: false }] } });
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(t as unknown as TestApp).runDue();
    const queued = await t.db.query<{ id: string; topic_id: string }>(`SELECT id, topic_id FROM messages WHERE contact_id = $1 AND source_type = 'campaign'`, [contactId]);
    expect(queued.rows.map((r) => r.topic_id)).toEqual([topic]);
    await t.runtime.deps.email.sender.runOnce();
    expect((await messageRow(t.db, queued.rows[0]!.id)).last_error).toBe('suppressed: topic_unsubscribed');

    const inUse = await t.app.inject({ method: 'DELETE', url: `/api/topics/${topic}`, headers: caller.bearer });
    expect([inUse.statusCode, inUse.json().error.code, inUse.json().error.details.campaigns[0].id]).toEqual([409, 'TOPIC_IN_USE', campaignId]);

    const unknown = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Unknown topic', definition: definition('00000000-0000-4000-8000-000000000000') } });
    expect([unknown.statusCode, unknown.json().error.code, unknown.json().error.details[0]]).toEqual([400, 'CAMPAIGN_INVALID', expect.objectContaining({ nodeId: 'mail', field: 'config.topicId' })]);
    const transactional = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Receipts', definition: definition(topic, 'transactional') } });
    expect([transactional.statusCode, transactional.json().error.details[0]]).toEqual([400, expect.objectContaining({ nodeId: 'mail', field: 'config.topicId' })]);
  });

  it('lets campaign triggers and segments use the topic of unsubscribe events', async () => {
    const sales = await createTopic('Sales');
    const other = await createTopic('Other news');
    const trigger = {
      entryNodeId: 'start',
      nodes: [
        { id: 'start', type: 'trigger', config: { kind: 'email_event', event: 'unsubscribed', topicId: sales } },
        { id: 'end', type: 'exit', config: {} },
      ],
      edges: [{ from: 'start', to: 'end' }],
    };
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Left sales', definition: trigger } });
    expect(created.statusCode, created.body).toBe(201);
    const campaignId = created.json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    const segment = await t.app.inject({
      method: 'POST',
      url: '/api/segments',
      headers: caller.bearer,
      payload: { name: 'Left sales', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'email', action: 'unsubscribed', topicId: sales }] } },
    });
    expect(segment.statusCode, segment.body).toBe(201);
    const segmentId = segment.json().id as string;

    const leftSales = await createContact(t.db, caller.workspaceId, 'left-sales@example.com');
    const leftOther = await createContact(t.db, caller.workspaceId, 'left-other@example.com');
    await t.app.inject({ method: 'PUT', url: `/api/contacts/${leftSales}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: sales, subscribed: false }] } });
    await t.app.inject({ method: 'PUT', url: `/api/contacts/${leftOther}/topics`, headers: caller.bearer, payload: { topics: [{ topicId: other, subscribed: false }] } });

    const enrolled = await t.db.query<{ contact_id: string }>('SELECT contact_id FROM enrollments WHERE campaign_id = $1', [campaignId]);
    expect(enrolled.rows.map((r) => r.contact_id)).toEqual([leftSales]);
    // Segment membership follows events through the event processor.
    await t.runtime.eventProcessor.drain();
    const members = await t.app.inject({ method: 'GET', url: `/api/segments/${segmentId}/members`, headers: caller.bearer });
    expect(members.json().contacts.map((c: { id: string }) => c.id)).toEqual([leftSales]);
    // A topic-filtered trigger also refuses an unknown topic at save.
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers: caller.bearer,
      payload: { name: 'Unknown', definition: { ...trigger, nodes: [{ id: 'start', type: 'trigger', config: { kind: 'email_event', event: 'unsubscribed', topicId: '00000000-0000-4000-8000-000000000000' } }, trigger.nodes[1]] } },
    });
    expect([unknown.statusCode, unknown.json().error.details[0]]).toEqual([400, expect.objectContaining({ nodeId: 'start', field: 'config.topicId' })]);
  });
});
