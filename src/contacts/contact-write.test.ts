import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';

let t: TestApp;
let a: Caller;
beforeAll(async () => {
  t = await createTestApp();
  a = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function create(payload: Record<string, unknown>) {
  const response = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload });
  expect(response.statusCode).toBe(201);
  return response.json();
}

async function eventNames(contactId: string): Promise<string[]> {
  const result = await t.db.query<{ name: string; tag: string | null }>(`SELECT name, properties->>'tag' AS tag FROM events WHERE workspace_id = $1 AND contact_id = $2`, [a.workspaceId, contactId]);
  return result.rows.map((r) => (r.tag === null ? r.name : `${r.name}:${r.tag}`)).sort();
}

async function auditOf(contactId: string) {
  const result = await t.db.query<{ action: string; before: unknown; after: unknown }>(`SELECT action, before, after FROM audit_log WHERE workspace_id = $1 AND resource_id = $2 ORDER BY id`, [a.workspaceId, contactId]);
  return result.rows;
}

async function queuedEventIds(contactId: string): Promise<string[]> {
  const result = await t.db.query<{ id: string }>(
    `SELECT e.id FROM event_work w CROSS JOIN LATERAL unnest(w.event_ids) AS u(id) JOIN events e ON e.id = u.id WHERE w.workspace_id = $1 AND e.contact_id = $2`,
    [a.workspaceId, contactId],
  );
  return result.rows.map((r) => r.id).sort();
}

async function storedEventIds(contactId: string): Promise<string[]> {
  const result = await t.db.query<{ id: string }>(`SELECT id FROM events WHERE workspace_id = $1 AND contact_id = $2`, [a.workspaceId, contactId]);
  return result.rows.map((r) => r.id).sort();
}

describe('contact writes in one statement', () => {
  it('audits a created contact as it answers it, and queues its events for the processor', async () => {
    const contact = await create({ email: 'one-statement@example.com', firstName: 'One', tags: ['a', 'b'], customFields: { plan: 'pro' } });
    expect(await auditOf(contact.id)).toEqual([{ action: 'contact.create', before: null, after: contact }]);
    expect(await eventNames(contact.id)).toEqual(['contact_created', 'tag_added:a', 'tag_added:b']);
    expect(await queuedEventIds(contact.id)).toEqual(await storedEventIds(contact.id));
  });

  it('stores no event and no audit entry for a refused duplicate', async () => {
    const first = await create({ email: 'dup-write@example.com', tags: ['x'] });
    const again = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'DUP-write@example.com', tags: ['y'] } });
    expect(again.statusCode).toBe(409);
    const events = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND properties->>'email' = 'dup-write@example.com'`, [a.workspaceId]);
    expect(events.rows[0]!.n).toBe(1);
    const audits = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = $1 AND action = 'contact.create' AND after->>'email' = 'dup-write@example.com'`, [a.workspaceId]);
    expect(audits.rows[0]!.n).toBe(1);
    expect(await eventNames(first.id)).toEqual(['contact_created', 'tag_added:x']);
  });

  it('audits an update with the answer before and after, and changes only what the patch changes', async () => {
    const contact = await create({ email: 'partial@example.com', firstName: 'Part', company: 'Old Co', tags: ['keep'], customFields: { plan: 'free', seats: 2 } });
    const response = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${contact.id}`, headers: a.bearer, payload: { company: 'New Co', customFields: { plan: 'pro' } } });
    expect(response.statusCode).toBe(200);
    const updated = response.json();
    expect(updated).toMatchObject({ firstName: 'Part', company: 'New Co', tags: ['keep'], customFields: { plan: 'pro', seats: 2 } });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(contact.updatedAt));
    const audit = await auditOf(contact.id);
    expect(audit.map((r) => r.action)).toEqual(['contact.create', 'contact.update']);
    expect(audit[1]).toMatchObject({ before: contact, after: updated });
    const read = await t.app.inject({ method: 'GET', url: `/api/contacts/${contact.id}`, headers: a.bearer });
    expect(read.json()).toEqual(updated);
    const search = await t.app.inject({ method: 'GET', url: '/api/contacts?search=New%20Co', headers: a.bearer });
    expect(search.json().contacts.map((c: { id: string }) => c.id)).toEqual([contact.id]);
  });

  it('writes nothing for a patch that changes nothing: no event, no audit entry, updatedAt kept', async () => {
    const contact = await create({ email: 'noop@example.com', jobTitle: 'Buyer', tags: ['t1', 't2'], customFields: { plan: 'pro' } });
    const same = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${contact.id}`, headers: a.bearer, payload: { jobTitle: 'Buyer', tags: ['t2', 't1'], customFields: { plan: 'pro' } } });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toEqual(contact);
    const again = await t.app.inject({ method: 'POST', url: `/api/contacts/${contact.id}/tags`, headers: a.bearer, payload: { tags: ['t1', ' t2 '] } });
    expect(again.json()).toEqual(contact);
    expect(await eventNames(contact.id)).toEqual(['contact_created', 'tag_added:t1', 'tag_added:t2']);
    expect((await auditOf(contact.id)).map((r) => r.action)).toEqual(['contact.create']);
  });

  it('lands every one of concurrent tag additions and removals on one contact', async () => {
    const contact = await create({ email: 'concurrent-tags@example.com', tags: ['gone-1', 'gone-2', 'stays'] });
    const adds = ['c1', 'c2', 'c3', 'c4', 'c5'].map((tag) => t.app.inject({ method: 'POST', url: `/api/contacts/${contact.id}/tags`, headers: a.bearer, payload: { tags: [tag] } }));
    const removals = ['gone-1', 'gone-2'].map((tag) => t.app.inject({ method: 'DELETE', url: `/api/contacts/${contact.id}/tags/${tag}`, headers: a.bearer }));
    const responses = await Promise.all([...adds, ...removals]);
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 200));
    const read = (await t.app.inject({ method: 'GET', url: `/api/contacts/${contact.id}`, headers: a.bearer })).json();
    expect([...read.tags].sort()).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'stays']);
    expect(await eventNames(contact.id)).toEqual(['contact_created', 'tag_added:c1', 'tag_added:c2', 'tag_added:c3', 'tag_added:c4', 'tag_added:c5', 'tag_added:gone-1', 'tag_added:gone-2', 'tag_added:stays', 'tag_removed:gone-1', 'tag_removed:gone-2']);
    expect((await auditOf(contact.id)).map((r) => r.action)).toEqual(['contact.create', ...responses.map(() => 'contact.update')]);
    expect(await queuedEventIds(contact.id)).toEqual(await storedEventIds(contact.id));
  });

  it('answers 404 for an unknown contact and 409 CONTACT_ERASED for an erased one, writing nothing', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/api/contacts/00000000-0000-4000-8000-000000000000/tags', headers: a.bearer, payload: { tags: ['x'] } });
    expect(missing.statusCode).toBe(404);
    const contact = await create({ email: 'erased-write@example.com' });
    expect((await t.app.inject({ method: 'POST', url: `/api/contacts/${contact.id}/erase`, headers: a.bearer })).statusCode).toBe(200);
    const tagged = await t.app.inject({ method: 'POST', url: `/api/contacts/${contact.id}/tags`, headers: a.bearer, payload: { tags: ['x'] } });
    expect(tagged.statusCode).toBe(409);
    expect(tagged.json().error.code).toBe('CONTACT_ERASED');
    expect(await eventNames(contact.id)).not.toContain('tag_added:x');
  });
});
