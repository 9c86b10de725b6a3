import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContact, createEmailTestApp, enqueueTestEmail, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { createDevInboxProvider } from './dev-inbox.js';
import { ProviderError, type EmailProvider, type ProviderMessage } from './provider.js';

/** The real dev inbox, except that addresses at bounce.test are rejected permanently. */
class BouncingProvider implements EmailProvider {
  readonly name = 'bouncing';
  inner: EmailProvider | null = null;
  async send(message: ProviderMessage, options: { idempotencyKey: string }) {
    if (message.to.includes('@bounce.test')) throw new ProviderError('permanent', 'mailbox does not exist');
    return this.inner!.send(message, options);
  }
}

interface Summary { id: string; to: string; subject: string; status: string; attempts: number; provider: string | null; lastError: string | null; contactId: string | null; sourceType: string }

let t: EmailTestApp;
let a: Caller;
let b: Caller;
const clock = new ManualClock(Date.now() + 1000);
const provider = new BouncingProvider();
let delivered: string;
let bounced: string;
let contactId: string;
const queued: string[] = [];

beforeAll(async () => {
  t = await createEmailTestApp({ clock, provider });
  provider.inner = createDevInboxProvider(t.db);
  a = await signUp(t.app);
  b = await signUp(t.app);
  // Ahead of the database's now(), so the messages enqueued below are due.
  clock.set(new Date(Date.now() + 5 * 60_000));
  contactId = await createContact(t.db, a.workspaceId, 'ada@example.com');
  delivered = await enqueueTestEmail(t.db, a.workspaceId, { contactId, to: 'Ada <ada@example.com>', subject: 'Welcome Ada' });
  bounced = await enqueueTestEmail(t.db, a.workspaceId, { to: 'nobody@bounce.test', subject: 'Lost' });
  await t.runtime.deps.email.sender.runOnce();
  // Enqueued after the sender ran, so they stay queued.
  for (let i = 0; i < 5; i++) queued.push(await enqueueTestEmail(t.db, a.workspaceId, { subject: `Later ${i}` }));
  await enqueueTestEmail(t.db, b.workspaceId, { subject: 'Other workspace' });
  // Creation times one second apart in enqueue order: two fast transactions can share a
  // timestamp (PGlite), and then the list's tie-break (id) would not follow enqueue order.
  const base = Date.now() - 60_000;
  for (const [i, id] of [delivered, bounced, ...queued].entries()) {
    await t.db.query('UPDATE messages SET created_at = $2 WHERE id = $1', [id, new Date(base + i * 1000)]);
  }
});
afterAll(async () => {
  await t.close();
});

async function list(caller: Caller, query = ''): Promise<{ messages: Summary[]; nextCursor: string | null }> {
  const response = await t.app.inject({ method: 'GET', url: `/api/messages${query}`, headers: caller.bearer });
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe('GET /api/messages', () => {
  it('lists the workspace messages newest first with their delivery status', async () => {
    const { messages, nextCursor } = await list(a);
    expect(nextCursor).toBeNull();
    expect(messages.map((m) => m.id)).toEqual([...queued].reverse().concat([bounced, delivered]));
    expect(messages.map((m) => m.subject)).not.toContain('Other workspace');
    const sent = messages.find((m) => m.id === delivered)!;
    expect(sent).toMatchObject({ to: 'Ada <ada@example.com>', subject: 'Welcome Ada', status: 'sent', attempts: 1, provider: 'bouncing', lastError: null, contactId, sourceType: 'test' });
    expect(Object.keys(sent).sort()).toEqual(['attempts', 'contactId', 'createdAt', 'id', 'lastError', 'provider', 'providerMessageId', 'sentAt', 'sourceId', 'sourceType', 'status', 'subject', 'to', 'topicId']);
    const failed = messages.find((m) => m.id === bounced)!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastError: 'mailbox does not exist' });
  });

  it('filters by status and by contact', async () => {
    expect((await list(a, '?status=sent')).messages.map((m) => m.id)).toEqual([delivered]);
    expect((await list(a, '?status=failed')).messages.map((m) => m.id)).toEqual([bounced]);
    expect((await list(a, '?status=queued')).messages.map((m) => m.id).sort()).toEqual([...queued].sort());
    expect((await list(a, `?contactId=${contactId}`)).messages.map((m) => m.id)).toEqual([delivered]);
    expect((await list(b, `?contactId=${contactId}`)).messages).toEqual([]);
  });

  it('pages through every message exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { messages: Summary[]; nextCursor: string | null } = await list(a, `?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.messages.map((m) => m.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual((await list(a)).messages.map((m) => m.id));
  });

  it('rejects a bad query with 400', async () => {
    for (const query of ['?status=bounced', '?limit=0', '?limit=1000', '?contactId=nope', '?colour=red']) {
      const response = await t.app.inject({ method: 'GET', url: `/api/messages${query}`, headers: a.bearer });
      expect(response.statusCode, query).toBe(400);
    }
    const cursor = await t.app.inject({ method: 'GET', url: '/api/messages?cursor=garbage', headers: a.bearer });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().error.code).toBe('INVALID_CURSOR');
  });

  it('requires authentication', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/messages' })).statusCode).toBe(401);
  });
});

describe('GET /api/messages/:id', () => {
  it('returns the message with its send attempts and engagement events', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/api/messages/${delivered}`, headers: a.session });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.message).toMatchObject({ id: delivered, from: 'Acme <news@acme.test>', status: 'sent', attempts: 1 });
    expect(body.attempts).toHaveLength(1);
    expect(body.attempts[0]).toMatchObject({ provider: 'bouncing', result: 'sent', error: null, providerMessageId: body.message.providerMessageId });
    expect(body.attempts[0].latencyMs).toBeGreaterThanOrEqual(0);
    expect(body.events.map((e: { name: string }) => e.name)).toEqual(['sent']);
    expect(body.events[0].properties.messageId).toBe(delivered);
  });

  it('shows a permanent failure as one failed attempt with its error', async () => {
    const body = (await t.app.inject({ method: 'GET', url: `/api/messages/${bounced}`, headers: a.bearer })).json();
    expect(body.message.status).toBe('failed');
    expect(body.attempts).toEqual([expect.objectContaining({ result: 'permanent_error', error: 'mailbox does not exist' })]);
  });

  it('shows a queued message with no attempts', async () => {
    const body = (await t.app.inject({ method: 'GET', url: `/api/messages/${queued[0]}`, headers: a.bearer })).json();
    expect(body).toMatchObject({ message: { status: 'queued', attempts: 0 }, attempts: [], events: [] });
  });

  it('answers 404 for another workspace message and 400 for a malformed id', async () => {
    const other = await t.app.inject({ method: 'GET', url: `/api/messages/${delivered}`, headers: b.bearer });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('NOT_FOUND');
    expect((await t.app.inject({ method: 'GET', url: '/api/messages/nope', headers: a.bearer })).statusCode).toBe(400);
  });
});
