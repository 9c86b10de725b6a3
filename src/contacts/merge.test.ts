import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from '../email/outbox.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';

let t: TestApp;
let a: Caller;
let b: Caller;
beforeAll(async () => {
  t = await createTestApp();
  a = await signUp(t.app);
  b = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function create(caller: Caller, payload: Record<string, unknown>): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
}

describe('merging duplicate contacts', () => {
  it('fills gaps from the duplicate, unites tags, moves its history, and deletes it', async () => {
    const keep = await create(a, { email: 'ada@example.com', firstName: 'Ada', tags: ['newsletter'], customFields: { plan: 'pro' } });
    const duplicate = await create(a, { email: 'ada.lovelace@work.example', lastName: 'Lovelace', company: 'Engines', status: 'lead', tags: ['webinar'], customFields: { plan: 'free', region: 'eu' } });
    expect((await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { contactId: duplicate, name: 'Viewed Pricing' } })).statusCode).toBeLessThan(300);
    await enqueueEmail(t.db, { workspaceId: a.workspaceId, contactId: duplicate, idempotencyKey: `merge-test-${duplicate}`, sourceType: 'test', sourceId: null, from: 'team@example.com', to: 'ada.lovelace@work.example', subject: 'Hello', html: '<p>Hello</p>', text: 'Hello' });
    const eventsOfBoth = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE contact_id = ANY($1::uuid[])', [[keep, duplicate]]);

    const merged = await t.app.inject({ method: 'POST', url: `/api/contacts/${keep}/merge`, headers: a.bearer, payload: { duplicateId: duplicate } });
    expect(merged.statusCode).toBe(200);
    expect(merged.json()).toMatchObject({ id: keep, email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', company: 'Engines', status: 'lead', tags: ['newsletter', 'webinar'], customFields: { plan: 'pro', region: 'eu' } });

    expect((await t.app.inject({ method: 'GET', url: `/api/contacts/${duplicate}`, headers: a.bearer })).statusCode).toBe(404);
    const moved = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE contact_id = $1 AND name <> $2', [keep, 'contacts_merged']);
    expect(moved.rows[0]!.n).toBe(eventsOfBoth.rows[0]!.n);
    const messages = await t.db.query<{ contact_id: string }>('SELECT contact_id FROM messages WHERE idempotency_key = $1', [`merge-test-${duplicate}`]);
    expect(messages.rows[0]!.contact_id).toBe(keep);
    const timeline = (await t.app.inject({ method: 'GET', url: `/api/contacts/${keep}/timeline`, headers: a.bearer })).json();
    expect(JSON.stringify(timeline)).toContain('Viewed Pricing');
  });

  it('refuses merging a contact into itself, or another workspace’s contact', async () => {
    const keep = await create(a, { email: 'one@example.com' });
    const self = await t.app.inject({ method: 'POST', url: `/api/contacts/${keep}/merge`, headers: a.bearer, payload: { duplicateId: keep } });
    expect(self.statusCode).toBe(400);
    expect(self.json().error.code).toBe('VALIDATION_FAILED');
    const theirs = await create(b, { email: 'two@example.com' });
    const across = await t.app.inject({ method: 'POST', url: `/api/contacts/${keep}/merge`, headers: a.bearer, payload: { duplicateId: theirs } });
    expect(across.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/api/contacts/${theirs}`, headers: b.bearer })).statusCode).toBe(200);
  });
});
