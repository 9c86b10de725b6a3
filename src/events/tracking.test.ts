import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { WriteKeyCache } from './write-key-cache.js';
import { resolveWriteKey } from './write-keys.js';
import { countingQueryable, createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';

let t: TestApp;
let a: Caller;
let basic: Record<string, string>;
const clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0));

async function newWriteKey(caller: Caller): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: caller.session, payload: { name: 'web' } });
  expect(response.statusCode).toBe(201);
  return response.json().key as string;
}
function basicOf(key: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
}

beforeAll(async () => {
  t = await createTestApp({ clock });
  a = await signUp(t.app);
  basic = basicOf(await newWriteKey(a));
});
afterAll(async () => {
  await t.close();
});

async function events(workspaceId: string, where = 'TRUE', params: unknown[] = []) {
  const result = await t.db.query<{ type: string; name: string; contact_id: string | null; properties: Record<string, unknown>; occurred_at: Date; anonymous_id: string | null; context: Record<string, unknown> | null }>(
    `SELECT type, name, contact_id, properties, occurred_at, anonymous_id, context FROM events WHERE workspace_id = $1 AND ${where} ORDER BY received_at, name`,
    [workspaceId, ...params],
  );
  return result.rows;
}

describe('write keys', () => {
  it('authenticate /v1 only; unknown and revoked keys are 401 INVALID_WRITE_KEY', async () => {
    const caller = await signUp(t.app);
    const key = await newWriteKey(caller);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/track', headers: basicOf(key), payload: { userId: 'u1', event: 'Signed Up' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ success: true });
    const asApiKey = await t.app.inject({ method: 'GET', url: '/api/contacts', headers: { authorization: `Bearer ${key}` } });
    expect(asApiKey.statusCode).toBe(401);
    const none = await t.app.inject({ method: 'POST', url: '/v1/track', payload: { userId: 'u1', event: 'x' } });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('INVALID_WRITE_KEY');
    const list = await t.app.inject({ method: 'GET', url: '/api/write-keys', headers: caller.session });
    const id = list.json().writeKeys[0].id;
    expect(list.json().writeKeys[0]).not.toHaveProperty('key');
    const revoke = await t.app.inject({ method: 'DELETE', url: `/api/write-keys/${id}`, headers: caller.session });
    expect(revoke.statusCode).toBe(204);
    const after = await t.app.inject({ method: 'POST', url: '/v1/track', headers: basicOf(key), payload: { userId: 'u1', event: 'x' } });
    expect(after.json().error.code).toBe('INVALID_WRITE_KEY');
    const inBody = await t.app.inject({ method: 'POST', url: '/v1/track', payload: { writeKey: await newWriteKey(caller), userId: 'u1', event: 'y' } });
    expect(inBody.statusCode).toBe(200);
  });

  it('are resolved from the database once, then from memory; a key revoked by plain SQL stops within a second', async () => {
    const caller = await signUp(t.app);
    const key = await newWriteKey(caller);
    const { q: counting, count } = countingQueryable(t.db);
    const cache = new WriteKeyCache();
    const first = await resolveWriteKey(counting, clock, key, cache);
    expect(first).toMatchObject({ workspaceId: caller.workspaceId });
    expect(await resolveWriteKey(counting, clock, key, cache)).toEqual(first);
    expect(count()).toBe(1);

    const track = async () => (await t.app.inject({ method: 'POST', url: '/v1/track', headers: basicOf(key), payload: { userId: 'u1', event: 'x' } })).statusCode;
    expect(await track()).toBe(200);
    await t.db.query('UPDATE write_keys SET revoked_at = now() WHERE workspace_id = $1', [caller.workspaceId]);
    const started = Date.now();
    while ((await track()) !== 401) {
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('are managed by owners only (an admin API key gets 403)', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: a.bearer, payload: { name: 'x' } });
    expect(response.statusCode).toBe(403);
  });
});

describe('Segment tracking API', () => {
  it('identify with an email upserts the contact and merges earlier anonymous events into it', async () => {
    const anon = 'anon-123';
    const page = await t.app.inject({ method: 'POST', url: '/v1/page', headers: basic, payload: { anonymousId: anon, name: 'Pricing', properties: { path: '/pricing' }, context: { ip: '203.0.113.1' } } });
    expect(page.statusCode).toBe(200);
    const before = await events(a.workspaceId, 'anonymous_id = $2', [anon]);
    expect(before).toHaveLength(1);
    expect(before[0]).toMatchObject({ type: 'page', name: 'page', contact_id: null, properties: { path: '/pricing', name: 'Pricing' }, context: { ip: '203.0.113.1' } });

    const identify = await t.app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: basic,
      payload: { userId: 'user-42', anonymousId: anon, traits: { email: ' Jane.Doe@Example.com', name: 'Jane Doe', title: 'VP Marketing', company: { name: 'Acme' }, plan: 'enterprise' } },
    });
    expect(identify.statusCode).toBe(200);
    const contacts = await t.app.inject({ method: 'GET', url: '/api/contacts?search=jane.doe', headers: a.bearer });
    const contact = contacts.json().contacts[0];
    expect(contact).toMatchObject({ email: 'jane.doe@example.com', firstName: 'Jane', lastName: 'Doe', jobTitle: 'VP Marketing', company: 'Acme', customFields: { plan: 'enterprise' } });
    const attributed = await events(a.workspaceId, 'contact_id = $2', [contact.id]);
    expect(attributed.map((e) => e.name).sort()).toEqual(['contact_created', 'identify', 'page']);

    // Later events by userId alone land on the contact; a second identify updates, never duplicates.
    await t.app.inject({ method: 'POST', url: '/v1/track', headers: basic, payload: { userId: 'user-42', event: 'Order Completed', properties: { total: 30 } } });
    await t.app.inject({ method: 'POST', url: '/v1/identify', headers: basic, payload: { userId: 'user-42', traits: { phone: '+1 555 0100' } } });
    const again = await t.app.inject({ method: 'GET', url: `/api/contacts/${contact.id}`, headers: a.bearer });
    expect(again.json()).toMatchObject({ phone: '+1 555 0100', firstName: 'Jane', customFields: { plan: 'enterprise' } });
    const tracked = await events(a.workspaceId, `contact_id = $2 AND type = 'track'`, [contact.id]);
    expect(tracked.map((e) => e.name)).toEqual(['Order Completed']);
    const count = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND email = $2', [a.workspaceId, 'jane.doe@example.com']);
    expect(count.rows[0]?.n).toBe(1);
  });

  it('alias links a previous id to the user, attributing its events', async () => {
    await t.app.inject({ method: 'POST', url: '/v1/identify', headers: basic, payload: { userId: 'alias-user', traits: { email: 'alias@example.com' } } });
    await t.app.inject({ method: 'POST', url: '/v1/screen', headers: basic, payload: { anonymousId: 'device-9', name: 'Home' } });
    const alias = await t.app.inject({ method: 'POST', url: '/v1/alias', headers: basic, payload: { userId: 'alias-user', previousId: 'device-9' } });
    expect(alias.statusCode).toBe(200);
    const contact = (await t.app.inject({ method: 'GET', url: '/api/contacts?search=alias@', headers: a.bearer })).json().contacts[0];
    const screens = await events(a.workspaceId, `contact_id = $2 AND type = 'screen'`, [contact.id]);
    expect(screens).toHaveLength(1);
    const noPrevious = await t.app.inject({ method: 'POST', url: '/v1/alias', headers: basic, payload: { userId: 'alias-user' } });
    expect(noPrevious.statusCode).toBe(400);
    expect(noPrevious.json().error.code).toBe('MESSAGE_INVALID');
  });

  it('a batch keeps the good messages, refuses bad ones per message with codes, and dedupes messageId', async () => {
    const caller = await signUp(t.app);
    const headers = basicOf(await newWriteKey(caller));
    const big = 'x'.repeat(33 * 1024);
    const batch = [
      { type: 'identify', messageId: 'm1', anonymousId: 'a1', traits: { email: 'batch@example.com', firstName: 'Bo' } },
      { type: 'track', messageId: 'm2', anonymousId: 'a1', event: 'Viewed', properties: { sku: 1 } },
      { type: 'track', messageId: 'm3', userId: 'u', properties: {} },
      { type: 'track', messageId: 'm4', anonymousId: 'a1', event: 'Huge', properties: { big } },
      { type: 'identify', messageId: 'm5', userId: 'u5', traits: { email: 'not-an-email' } },
      { type: 'launch', messageId: 'm6', userId: 'u6' },
      { type: 'group', messageId: 'm7', anonymousId: 'a1', groupId: 'g1', traits: { name: 'Acme' } },
      { type: 'track', messageId: 'm2', anonymousId: 'a1', event: 'Viewed' },
    ];
    const response = await t.app.inject({ method: 'POST', url: '/v1/batch', headers, payload: { batch, context: { library: { name: 'analytics-node' } } } });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.success).toBe(true);
    expect(body.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
      [2, 'MESSAGE_INVALID'],
      [3, 'MESSAGE_TOO_LARGE'],
      [4, 'INVALID_EMAIL'],
      [5, 'MESSAGE_INVALID'],
    ]);
    const stored = await events(caller.workspaceId);
    expect(stored.map((e) => e.name).sort()).toEqual(['Viewed', 'contact_created', 'group', 'identify']);
    // The track after the identify in the same batch is already attributed; batch context applies.
    expect(stored.every((e) => e.contact_id !== null)).toBe(true);
    expect(stored.find((e) => e.name === 'Viewed')?.context).toEqual({ library: { name: 'analytics-node' } });

    const replay = await t.app.inject({ method: 'POST', url: '/v1/batch', headers, payload: { batch: batch.slice(0, 2) } });
    expect(replay.statusCode).toBe(200);
    expect(await events(caller.workspaceId)).toHaveLength(stored.length);
  });

  it('refuses an empty batch, a non-object body, a bad timestamp and an oversized batch', async () => {
    const empty = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: basic, payload: { batch: [] } });
    expect(empty.statusCode).toBe(400);
    const allBad = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: basic, payload: { batch: [{ type: 'track' }] } });
    expect(allBad.statusCode).toBe(400);
    expect(allBad.json().error.details.errors[0].code).toBe('MESSAGE_INVALID');
    const badTime = await t.app.inject({ method: 'POST', url: '/v1/track', headers: basic, payload: { userId: 'u', event: 'e', timestamp: 'yesterday' } });
    expect(badTime.statusCode).toBe(400);
    const notJson = await t.app.inject({ method: 'POST', url: '/v1/track', headers: { ...basic, 'content-type': 'text/plain' }, payload: 'nope' });
    expect(notJson.statusCode).toBe(400);
    const huge = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: basic, payload: { batch: Array.from({ length: 20 }, () => ({ type: 'track', userId: 'u', event: 'e', properties: { pad: 'y'.repeat(30 * 1024) } })) } });
    expect(huge.statusCode).toBe(413);
  });

  it('refuses per message the text and times PostgreSQL cannot store, keeping the good messages', async () => {
    const caller = await signUp(t.app);
    const headers = basicOf(await newWriteKey(caller));
    // Raw JSON: escapes for NUL and an unpaired surrogate, as a client library would send them.
    const batch = `[
      {"type":"track","messageId":"n1","userId":"u","event":"Good"},
      {"type":"track","messageId":"n2","userId":"u","event":"Nul","properties":{"note":"a\\u0000b"}},
      {"type":"track","messageId":"n3","userId":"\\ud800","event":"Lone"},
      {"type":"track","messageId":"n4","userId":"u","event":"Key","context":{"k\\u0000":1}},
      {"type":"track","messageId":"n5","userId":"u","event":"Far","timestamp":"+275760-09-13T00:00:00.000Z"},
      {"type":"track","messageId":"n6","userId":"u","event":"Zero","timestamp":"0000-01-01T00:00:00Z"},
      {"type":"track","messageId":"n7","userId":"u","event":"Skewed","timestamp":"0001-01-01T00:00:00Z","sentAt":"9999-01-01T00:00:00Z"},
      {"type":"track","messageId":"n8","userId":"u","event":"Emoji \\ud83d\\ude00"}
    ]`;
    const response = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: { ...headers, 'content-type': 'application/json' }, payload: `{"batch":${batch}}` });
    expect(response.statusCode).toBe(200);
    const errors = response.json().errors as Array<{ index: number; code: string; message: string }>;
    expect(errors.map((e) => [e.index, e.code])).toEqual([1, 2, 3, 4, 5, 6].map((i) => [i, 'MESSAGE_INVALID']));
    expect(errors[0]!.message).toContain('/properties/note');
    expect(errors[1]!.message).toContain('/userId');
    expect(errors[2]!.message).toContain('/context/k');
    expect(errors[3]!.message).toContain('years 1 to 9999');
    expect((await events(caller.workspaceId)).map((e) => e.name).sort()).toEqual(['Emoji 😀', 'Good']);

    const single = await t.app.inject({ method: 'POST', url: '/v1/identify', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"userId":"u","traits":{"name":"\\u0000"}}' });
    expect(single.statusCode).toBe(400);
    expect(single.json().error.code).toBe('MESSAGE_INVALID');
    const batchContext = await t.app.inject({ method: 'POST', url: '/v1/batch', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"batch":[{"type":"track","userId":"u","event":"e"}],"context":{"ip":"\\u0000"}}' });
    expect(batchContext.statusCode).toBe(400);
    expect(batchContext.json().error.code).toBe('VALIDATION_FAILED');
    expect(await events(caller.workspaceId)).toHaveLength(2);
  });

  it('accepts text/plain beacons and corrects clock skew with sentAt', async () => {
    const now = clock.now().getTime();
    const payload = JSON.stringify({ anonymousId: 'skew', event: 'Clicked', timestamp: new Date(now - 60_000 + 3_600_000).toISOString(), sentAt: new Date(now + 3_600_000).toISOString() });
    const response = await t.app.inject({ method: 'POST', url: '/v1/track', headers: { ...basic, 'content-type': 'text/plain' }, payload });
    expect(response.statusCode).toBe(200);
    const [event] = await events(a.workspaceId, 'anonymous_id = $2', ['skew']);
    expect(new Date(event!.occurred_at).getTime()).toBe(now - 60_000);
  });
});

describe('POST /api/events', () => {
  it('records a track event by contactId or email, dedupes messageId, 404s unknown contacts', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'api-events@example.com' } })).json();
    const byId = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { contactId: created.id, name: 'Demo Booked', properties: { when: 'tuesday' }, messageId: 'e-1' } });
    expect(byId.statusCode).toBe(201);
    expect(byId.json().event).toMatchObject({ contactId: created.id, name: 'Demo Booked' });
    const dup = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { contactId: created.id, name: 'Demo Booked', messageId: 'e-1' } });
    expect(dup.statusCode).toBe(200);
    expect(dup.json()).toEqual({ duplicate: true, event: null });
    const byEmail = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.session, payload: { email: 'API-Events@example.com', name: 'Webinar', timestamp: '2026-01-01T10:00:00Z' } });
    expect(byEmail.statusCode).toBe(201);
    expect(byEmail.json().event.occurredAt).toBe('2026-01-01T10:00:00.000Z');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { email: 'nobody@example.com', name: 'x' } });
    expect(unknown.statusCode).toBe(404);
    const neither = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { name: 'x' } });
    expect(neither.statusCode).toBe(400);
    const other = await signUp(t.app);
    const cross = await t.app.inject({ method: 'POST', url: '/api/events', headers: other.bearer, payload: { contactId: created.id, name: 'x' } });
    expect(cross.statusCode).toBe(404);
    const tracked = await events(a.workspaceId, `contact_id = $2 AND type = 'track'`, [created.id]);
    expect(tracked.map((e) => e.name).sort()).toEqual(['Demo Booked', 'Webinar']);
  });
});
