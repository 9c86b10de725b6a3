import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '../core/events.js';
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

async function contact(caller: Caller, payload: Record<string, unknown>): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload });
  expect(response.statusCode).toBe(201);
  return response.json().id;
}
/** Membership follows events through the event processor, shortly after each commit; tests drain it. */
async function members(caller: Caller, segmentId: string): Promise<string[]> {
  await t.runtime.eventProcessor.drain();
  const response = await t.app.inject({ method: 'GET', url: `/api/segments/${segmentId}/members?limit=500`, headers: caller.bearer });
  expect(response.statusCode).toBe(200);
  return (response.json().contacts as Array<{ email: string }>).map((c) => c.email).sort();
}
async function segmentEvents(workspaceId: string, segmentId: string) {
  const result = await t.db.query<{ name: string; email: string }>(
    `SELECT e.name, c.email FROM events e JOIN contacts c ON c.id = e.contact_id
      WHERE e.workspace_id = $1 AND e.properties ->> 'segmentId' = $2 ORDER BY e.received_at, e.id`,
    [workspaceId, segmentId],
  );
  return result.rows.map((r) => `${r.name}:${r.email}`);
}

describe('dynamic segments', () => {
  it('evaluates at creation and stays current as contacts change, recording entries and exits', async () => {
    const caller = await signUp(t.app);
    await contact(caller, { email: 'pro-eu@example.com', tags: ['eu'], customFields: { plan: 'pro' } });
    const later = await contact(caller, { email: 'free-eu@example.com', tags: ['eu'], customFields: { plan: 'free' } });
    await contact(caller, { email: 'pro-us@example.com', tags: ['us'], customFields: { plan: 'pro' } });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/segments',
      headers: caller.bearer,
      payload: { name: 'EU pro', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'eu' }, { kind: 'custom_field', key: 'plan', op: 'eq', value: 'PRO' }] } },
    });
    expect(created.statusCode).toBe(201);
    const segment = created.json();
    expect(segment.memberCount).toBe(1);
    expect(await members(caller, segment.id)).toEqual(['pro-eu@example.com']);

    // A field change brings a contact in; a tag removal takes one out.
    await t.app.inject({ method: 'PATCH', url: `/api/contacts/${later}`, headers: caller.bearer, payload: { customFields: { plan: 'pro' } } });
    expect(await members(caller, segment.id)).toEqual(['free-eu@example.com', 'pro-eu@example.com']);
    await t.app.inject({ method: 'DELETE', url: `/api/contacts/${later}/tags/eu`, headers: caller.bearer });
    expect(await members(caller, segment.id)).toEqual(['pro-eu@example.com']);
    // A new contact that matches enters at once.
    await contact(caller, { email: 'new-eu@example.com', tags: ['eu'], customFields: { plan: 'pro' } });
    expect(await members(caller, segment.id)).toEqual(['new-eu@example.com', 'pro-eu@example.com']);

    expect(await segmentEvents(caller.workspaceId, segment.id)).toEqual([
      'segment_entered:pro-eu@example.com',
      'segment_entered:free-eu@example.com',
      'segment_exited:free-eu@example.com',
      'segment_entered:new-eu@example.com',
    ]);
    const list = await t.app.inject({ method: 'GET', url: '/api/segments', headers: caller.bearer });
    expect(list.json().segments[0]).toMatchObject({ id: segment.id, memberCount: 2 });
  });

  it('schedules time-window checks only for contacts that still exist', async () => {
    const caller = await signUp(t.app);
    const kept = await contact(caller, { email: 'kept@example.com' });
    const gone = await contact(caller, { email: 'gone@example.com' });
    const opened = (contactId: string) => ({ contactId, type: 'email' as const, name: 'opened' });
    await t.app.inject({ method: 'DELETE', url: `/api/contacts/${gone}`, headers: caller.bearer });
    // An event recorded while its contact was being deleted (events have no foreign keys).
    await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, [opened(kept), opened(gone)], new Date()));
    const definition = { match: 'all', conditions: [{ kind: 'email', action: 'opened', minCount: 1, withinDays: 30 }] };
    const created = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name: 'Opened lately', kind: 'dynamic', definition } });
    expect(created.statusCode, created.body).toBe(201);
    const checks = await t.db.query<{ contact_id: string }>('SELECT contact_id FROM segment_window_checks WHERE segment_id = $1', [created.json().id]);
    expect(checks.rows).toEqual([{ contact_id: kept }]);
    expect(await members(caller, created.json().id)).toEqual(['kept@example.com']);
  });

  it('follows score, email engagement and event counts in a time window', async () => {
    const caller = await signUp(t.app);
    const engaged = await contact(caller, { email: 'engaged@example.com', jobTitle: 'CEO' });
    await contact(caller, { email: 'quiet@example.com' });
    const definition = { match: 'all', conditions: [{ kind: 'email', action: 'opened', minCount: 2, withinDays: 30 }, { kind: 'score', op: 'gte', value: 14 }] };
    await t.runtime.eventProcessor.drain();
    const segment = (await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name: 'Engaged', kind: 'dynamic', definition } })).json();
    expect(segment.memberCount).toBe(0);
    const opened = { contactId: engaged, type: 'email' as const, name: 'opened' };
    await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, [opened], new Date()));
    expect(await members(caller, segment.id)).toEqual([]);
    // An old open does not count towards "within 30 days", a recent one does.
    await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, [{ ...opened, occurredAt: new Date(Date.now() - 90 * 86_400_000) }], new Date()));
    expect(await members(caller, segment.id)).toEqual([]);
    await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, [opened], new Date()));
    expect(await members(caller, segment.id)).toEqual(['engaged@example.com']);

    const anyOf = { match: 'any', conditions: [{ kind: 'event', name: 'Webinar Joined', type: 'track' }, { kind: 'field', field: 'email', op: 'contains', value: 'quiet' }] };
    const changed = await t.app.inject({ method: 'PATCH', url: `/api/segments/${segment.id}`, headers: caller.bearer, payload: { definition: anyOf } });
    expect(changed.statusCode).toBe(200);
    expect(await members(caller, segment.id)).toEqual(['quiet@example.com']);
    await t.app.inject({ method: 'POST', url: '/api/events', headers: caller.bearer, payload: { contactId: engaged, name: 'Webinar Joined' } });
    expect(await members(caller, segment.id)).toEqual(['engaged@example.com', 'quiet@example.com']);
  });

  it('validates definitions strictly', async () => {
    const bad = [
      { name: 'x', kind: 'dynamic' },
      { name: 'x', kind: 'dynamic', definition: { match: 'all', conditions: [] } },
      { name: 'x', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'field', field: 'password', op: 'eq', value: 'x' }] } },
      { name: 'x', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'score', op: 'gte', value: '50' }] } },
      { name: 'x', kind: 'static', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'a' }] } },
    ];
    for (const payload of bad) {
      const response = await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('static lists', () => {
  it('adds and removes members by hand with events, refusing that on a dynamic segment', async () => {
    const one = await contact(a, { email: 'list-1@example.com' });
    const two = await contact(a, { email: 'list-2@example.com' });
    const other = await signUp(t.app);
    const foreign = await contact(other, { email: 'foreign@example.com' });
    const list = (await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload: { name: 'VIP list', kind: 'static' } })).json();
    const added = await t.app.inject({ method: 'POST', url: `/api/segments/${list.id}/members`, headers: a.bearer, payload: { contactIds: [one, two, foreign] } });
    expect(added.statusCode).toBe(200);
    expect(added.json()).toMatchObject({ changed: 2, ignored: [foreign], segment: { memberCount: 2 } });
    const removed = await t.app.inject({ method: 'POST', url: `/api/segments/${list.id}/members/remove`, headers: a.bearer, payload: { contactIds: [two] } });
    expect(removed.json().changed).toBe(1);
    expect(await members(a, list.id)).toEqual(['list-1@example.com']);
    expect((await segmentEvents(a.workspaceId, list.id)).sort()).toEqual(['segment_entered:list-1@example.com', 'segment_entered:list-2@example.com', 'segment_exited:list-2@example.com']);

    const dynamic = (await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload: { name: 'D', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'zzz' }] } } })).json();
    const refused = await t.app.inject({ method: 'POST', url: `/api/segments/${dynamic.id}/members`, headers: a.bearer, payload: { contactIds: [one] } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('SEGMENT_NOT_STATIC');
  });

  it('hides segments of other workspaces and forbids viewers to write', async () => {
    const list = (await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload: { name: 'Mine', kind: 'static' } })).json();
    const other = await signUp(t.app);
    for (const request of [
      { method: 'GET' as const, url: `/api/segments/${list.id}` },
      { method: 'GET' as const, url: `/api/segments/${list.id}/members` },
      { method: 'PATCH' as const, url: `/api/segments/${list.id}`, payload: { name: 'Theirs' } },
      { method: 'DELETE' as const, url: `/api/segments/${list.id}` },
    ]) {
      expect((await t.app.inject({ ...request, headers: other.bearer })).statusCode).toBe(404);
    }
    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: a.session, payload: { name: 'viewer', role: 'viewer' } });
    const viewer = { authorization: `Bearer ${key.json().key}` };
    expect((await t.app.inject({ method: 'GET', url: '/api/segments', headers: viewer })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/segments', headers: viewer, payload: { name: 'x', kind: 'static' } })).statusCode).toBe(403);
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/segments/${list.id}`, headers: a.bearer });
    expect(deleted.statusCode).toBe(204);
  });
});
