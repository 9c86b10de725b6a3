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

describe('GDPR erasure', () => {
  it('removes personal data everywhere but keeps the rows that counts depend on', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', company: 'Navy', phone: '+1 555', tags: ['vip'], customFields: { plan: 'pro' } } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const event = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { contactId: id, name: 'Viewed Pricing', properties: { email: 'grace@example.com', plan: 'pro' } } });
    expect(event.statusCode).toBeLessThan(300);
    await enqueueEmail(t.db, { workspaceId: a.workspaceId, contactId: id, idempotencyKey: `erasure-test-${id}`, sourceType: 'test', sourceId: null, from: 'team@example.com', to: 'grace@example.com', subject: 'Hi Grace', html: '<p>Hi Grace</p>', text: 'Hi Grace' });
    const eventsBefore = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE contact_id = $1', [id]);

    const stranger = await t.app.inject({ method: 'POST', url: `/api/contacts/${id}/erase`, headers: b.bearer });
    expect(stranger.statusCode).toBe(404);

    const erased = await t.app.inject({ method: 'POST', url: `/api/contacts/${id}/erase`, headers: a.bearer });
    expect(erased.statusCode).toBe(200);
    const again = await t.app.inject({ method: 'POST', url: `/api/contacts/${id}/erase`, headers: a.bearer });
    expect(again.json().erasedAt).toBe(erased.json().erasedAt);

    const contact = (await t.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: a.bearer })).json();
    expect(contact).toMatchObject({ email: `erased-${id}@erased.invalid`, firstName: null, lastName: null, company: null, phone: null, tags: [], customFields: {}, subscriptionState: 'unsubscribed' });

    const eventsAfter = await t.db.query<{ n: number; with_properties: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE properties <> '{}'::jsonb)::int AS with_properties FROM events WHERE contact_id = $1`, [id]);
    expect(eventsAfter.rows[0]).toEqual({ n: eventsBefore.rows[0]!.n, with_properties: 0 });

    const message = await t.db.query<{ to_address: string; subject: string; html: string; status: string }>('SELECT to_address, subject, html, status FROM messages WHERE contact_id = $1', [id]);
    expect(message.rows[0]).toEqual({ to_address: `erased-${id}@erased.invalid`, subject: '[erased]', html: '', status: 'suppressed' });

    const everything = JSON.stringify((await t.db.query('SELECT before, after FROM audit_log WHERE workspace_id = $1', [a.workspaceId])).rows);
    expect(everything).not.toContain('grace@example.com');
    expect(everything).not.toContain('Hopper');

    const edit = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${id}`, headers: a.bearer, payload: { firstName: 'Back' } });
    expect(edit.statusCode).toBe(409);
    expect(edit.json().error.code).toBe('CONTACT_ERASED');

    // The address is free again: the same person may sign up anew as a new contact.
    const anew = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'grace@example.com' } });
    expect(anew.statusCode).toBe(201);
  });
});
