/**
 * Last activity: the latest tracked event, page/screen view or email open/click/reply of a
 * contact, kept by the event processor on the contact and filterable through the list API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { insertContact } from '../../test/campaign-support.js';
import { recordEvents, type NewEvent } from '../core/events.js';
import { ManualClock } from '../platform/clock.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 2, 10, 12, 0, 0));
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function record(events: NewEvent[]): Promise<void> {
  await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, events, clock.now()));
  await t.runtime.eventProcessor.drain();
}
async function list(query: string): Promise<string[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/contacts?limit=50&${query}`, headers: caller.bearer });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json().contacts as Array<{ email: string }>).map((c) => c.email).sort();
}
async function lastActivityOf(id: string): Promise<string | null> {
  const response = await t.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: caller.bearer });
  return response.json().lastActivityAt as string | null;
}

describe('last activity', () => {
  it('follows the contact’s own actions, ignores system events and sends, and filters the list', async () => {
    const recent = await insertContact(t.db, caller.workspaceId, { email: 'recent@example.com' });
    const old = await insertContact(t.db, caller.workspaceId, { email: 'old@example.com' });
    const never = await insertContact(t.db, caller.workspaceId, { email: 'never@example.com' });
    const at = (daysAgo: number) => new Date(clock.now().getTime() - daysAgo * 86_400_000);

    await record([
      { contactId: recent, type: 'track', name: 'Viewed Pricing', occurredAt: at(40) },
      { contactId: recent, type: 'email', name: 'clicked', occurredAt: at(2) },
      // An event that arrives late but happened earlier does not move last activity back.
      { contactId: recent, type: 'page', name: 'Home', occurredAt: at(10) },
      { contactId: old, type: 'page', name: 'Home', occurredAt: at(45) },
      // Not the contact acting: a send, a tag, a sync.
      { contactId: old, type: 'email', name: 'sent', occurredAt: at(1) },
      { contactId: never, type: 'system', name: 'tag_added', properties: { tag: 'x' }, occurredAt: at(1) },
      { contactId: never, type: 'identify', name: 'identify', occurredAt: at(1) },
    ]);

    expect(await lastActivityOf(recent)).toBe(at(2).toISOString());
    expect(await lastActivityOf(old)).toBe(at(45).toISOString());
    expect(await lastActivityOf(never)).toBeNull();

    // A later batch with an older event keeps the latest.
    await record([{ contactId: recent, type: 'email', name: 'opened', occurredAt: at(30) }]);
    expect(await lastActivityOf(recent)).toBe(at(2).toISOString());

    const since = (days: number) => encodeURIComponent(at(days).toISOString());
    expect(await list(`activeSince=${since(7)}`)).toEqual(['recent@example.com']);
    expect(await list(`activeSince=${since(60)}`)).toEqual(['old@example.com', 'recent@example.com']);
    // Inactive includes contacts never active.
    expect(await list(`inactiveSince=${since(30)}`)).toEqual(['never@example.com', 'old@example.com']);
    expect(await list(`inactiveSince=${since(30)}&activeSince=${since(60)}`)).toEqual(['old@example.com']);
  });

  it('keeps the later of both contacts’ activity when duplicates merge', async () => {
    const keep = await insertContact(t.db, caller.workspaceId, { email: 'keep@example.com' });
    const duplicate = await insertContact(t.db, caller.workspaceId, { email: 'dupe@example.com' });
    const later = new Date(clock.now().getTime() - 3_600_000);
    await record([
      { contactId: keep, type: 'page', name: 'Home', occurredAt: new Date(clock.now().getTime() - 86_400_000) },
      { contactId: duplicate, type: 'track', name: 'Signed Up', occurredAt: later },
    ]);
    const merged = await t.app.inject({ method: 'POST', url: `/api/contacts/${keep}/merge`, headers: caller.bearer, payload: { duplicateId: duplicate } });
    expect(merged.statusCode, merged.body).toBe(200);
    await t.runtime.eventProcessor.drain();
    expect(await lastActivityOf(keep)).toBe(later.toISOString());
  });

  it('refuses a date that is not a date-time with a 400 and a code', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/contacts?activeSince=last-week', headers: caller.bearer });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('VALIDATION_FAILED');
  });
});
