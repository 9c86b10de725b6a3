import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContact, createEmailTestApp, enqueueTestEmail, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { createDevInboxProvider } from './dev-inbox.js';
import { ProviderError, type EmailProvider, type ProviderMessage, type SendOptions } from './provider.js';
import { SendJournal, type JournalMessage } from './send-journal.js';
import { EmailSender } from './sender.js';

/** Lets each test decide how the provider behaves, around the real dev inbox. */
class ScriptedProvider implements EmailProvider {
  readonly name = 'scripted';
  calls: string[] = [];
  behaviour: (message: ProviderMessage, call: number) => 'deliver' | 'transient' | 'permanent' | 'deliver-then-drop' = () => 'deliver';
  inner: EmailProvider | null = null;
  /** Runs before the hand-off mark (a test's interference). */
  beforeHandOff: (() => Promise<void>) | null = null;
  async send(message: ProviderMessage, options: SendOptions) {
    this.calls.push(options.idempotencyKey);
    const wanted = this.behaviour(message, this.calls.length);
    if (wanted === 'transient') throw new ProviderError('transient', 'try later');
    if (wanted === 'permanent') throw new ProviderError('permanent', 'mailbox does not exist');
    await this.beforeHandOff?.();
    // Like a real provider: the message leaves only after the sender recorded the hand-off.
    await options.handOff?.({ provider: this.name, idempotent: false });
    const result = await this.inner!.send(message, options);
    // The provider accepted, but the answer never reached us (a dropped connection).
    if (wanted === 'deliver-then-drop') throw new ProviderError('transient', 'connection reset after DATA');
    return result;
  }
}

let t: EmailTestApp;
let caller: Caller;
const clock = new ManualClock(Date.now() + 1000);
const provider = new ScriptedProvider();

beforeAll(async () => {
  t = await createEmailTestApp({ clock, provider });
  provider.inner = createDevInboxProvider(t.db);
  caller = await signUp(t.app);
  // Ahead of the database's now(), so messages enqueued during the tests are due.
  clock.set(new Date(Date.now() + 5 * 60_000));
});
afterAll(async () => {
  await t.close();
});

function newSender(options: Partial<ConstructorParameters<typeof EmailSender>[0]> = {}): EmailSender {
  const deps = t.runtime.deps;
  return new EmailSender({ db: t.db, holder: t.runtime.holder, clock, logger: deps.logger, eventSink: () => deps.eventSink, provider, signer: deps.email.signer, publicUrl: deps.config.publicUrl, baseBackoffMs: 1000, ...options });
}

describe('email sender with the dev inbox', () => {
  it('delivers a queued message to the dev inbox, readable through the API, and records the attempt and a sent event', async () => {
    provider.behaviour = () => 'deliver';
    const contactId = await createContact(t.db, caller.workspaceId, 'ada@example.com');
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to: 'Ada <ada@example.com>', subject: 'Welcome Ada', idempotencyKey: 'welcome:ada' });
    expect(await t.runtime.deps.email.sender.runOnce()).toBeGreaterThanOrEqual(1);

    const row = await messageRow(t.db, id);
    expect(row.status).toBe('sent');
    expect(row.provider).toBe('scripted');
    expect(row.sent_at).not.toBeNull();

    const list = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: caller.bearer });
    expect(list.statusCode).toBe(200);
    const summary = list.json().messages.find((m: { subject: string }) => m.subject === 'Welcome Ada');
    expect(summary).toMatchObject({ from: 'Acme <news@acme.test>', to: 'Ada <ada@example.com>' });
    expect(Object.keys(summary).sort()).toEqual(['createdAt', 'from', 'id', 'subject', 'to']);
    expect(row.provider_message_id).toBe(summary.id);

    const one = await t.app.inject({ method: 'GET', url: `/api/inbox/${summary.id}`, headers: caller.bearer });
    expect(one.statusCode).toBe(200);
    const email = one.json();
    expect(email.html).toContain('Hello number');
    expect(email.text).toContain('Hello number');
    expect(email.headers['Message-ID']).toMatch(/^<[0-9a-f]{40}@acme\.test>$/);
    // Transactional (test) email carries no tracking and no unsubscribe header.
    expect(email.html).not.toContain('/t/o/');
    expect(email.headers['List-Unsubscribe']).toBeUndefined();

    const attempts = await t.db.query<{ result: string; provider: string; provider_message_id: string }>('SELECT result, provider, provider_message_id FROM send_attempts WHERE message_id = $1', [id]);
    expect(attempts.rows).toEqual([{ result: 'sent', provider: 'scripted', provider_message_id: summary.id }]);
    const events = await t.db.query<{ name: string; contact_id: string }>(`SELECT name, contact_id FROM events WHERE workspace_id = $1 AND type = 'email' AND properties->>'messageId' = $2`, [caller.workspaceId, id]);
    expect(events.rows).toEqual([{ name: 'sent', contact_id: contactId }]);
  });

  it('keeps inboxes apart: another workspace cannot read the email', async () => {
    const other = await signUp(t.app);
    const list = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: other.bearer });
    expect(list.json().messages).toEqual([]);
    const mine = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: caller.bearer });
    const id = mine.json().messages[0].id as string;
    const theirs = await t.app.inject({ method: 'GET', url: `/api/inbox/${id}`, headers: other.bearer });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().error.code).toBe('NOT_FOUND');
  });

  it('never delivers a message twice when two senders run at once and then run again', async () => {
    provider.behaviour = () => 'deliver';
    provider.calls = [];
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) ids.push(await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: `twice:${i}` }));
    const a = newSender({ batchSize: 7 });
    const b = newSender({ batchSize: 7 });
    for (let round = 0; round < 5; round += 1) await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
    expect(await a.runOnce()).toBe(0);
    expect(await b.runOnce()).toBe(0);
    const keys = provider.calls.filter((k) => k.includes(':twice:'));
    expect(keys).toHaveLength(40);
    expect(new Set(keys).size).toBe(40);
    const inbox = await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM dev_inbox WHERE workspace_id = $1 AND idempotency_key LIKE '%:twice:%'`, [caller.workspaceId]);
    expect(inbox.rows[0]!.n).toBe(40);
    for (const id of ids) expect((await messageRow(t.db, id)).status).toBe('sent');
  });

  it('settles a dead sender\'s messages at once by their hand-off mark: unmarked sent again, idempotent resent with its key, others uncertain; a live sender\'s are left alone', async () => {
    provider.behaviour = () => 'deliver';
    provider.calls = [];
    const [never, keyed, ambiguous, live, accepted] = [
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dead:never' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dead:keyed' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dead:ambiguous' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dead:live' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dead:accepted' }),
    ];
    // The keyed one reached the (idempotent) provider before its sender died.
    const prepared = newSender().prepare((await t.db.query<never>(`SELECT m.*, m.text_body FROM messages m WHERE id = $1`, [keyed])).rows[0]!);
    await provider.inner!.send(prepared, { idempotencyKey: `${caller.workspaceId}:dead:keyed` });
    // A holder id nobody holds the lock of: a process that died.
    const dead = (await t.db.query<{ id: number }>(`SELECT nextval('work_holder_ids')::integer AS id`)).rows[0]!.id;
    const alive = await t.runtime.holder.id();
    const claim = `status = 'sending', attempts = 1, locked_until = $2, claim_token = gen_random_uuid()`;
    const lease = new Date(clock.now().getTime() + 5 * 60_000);
    // Hand-off rows (send-journal.ts) of the message's current claim.
    const handoff = (id: string, accepted: boolean, provider: string, idempotent: boolean | null, providerMessageId: string | null) =>
      t.db.query(
        `INSERT INTO message_handoffs (workspace_id, message_id, claim_token, accepted, provider, idempotent, provider_message_id, at)
         SELECT workspace_id, id, claim_token, $2, $3, $4, $5, now() FROM messages WHERE id = $1`,
        [id, accepted, provider, idempotent, providerMessageId],
      );
    // A stale row of an earlier claim of the same message says nothing about this one.
    const stale = (id: string) =>
      t.db.query(`INSERT INTO message_handoffs (workspace_id, message_id, claim_token, accepted, provider, idempotent, at) SELECT workspace_id, id, gen_random_uuid(), false, 'smtp', false, now() FROM messages WHERE id = $1`, [id]);
    await t.db.query(`UPDATE messages SET ${claim}, holder_id = $3 WHERE id = $1`, [never, lease, dead]);
    await stale(never);
    await t.db.query(`UPDATE messages SET ${claim}, holder_id = $3 WHERE id = $1`, [keyed, lease, dead]);
    await handoff(keyed, false, 'scripted', true, null);
    // Marked by a process of a version before migration 113, in the columns of `messages`.
    await t.db.query(`UPDATE messages SET ${claim}, holder_id = $3, handed_to = 'smtp', handed_idempotent = false, handed_at = now() WHERE id = $1`, [ambiguous, lease, dead]);
    await t.db.query(`UPDATE messages SET ${claim}, holder_id = $3 WHERE id = $1`, [live, lease, alive]);
    await handoff(live, false, 'smtp', false, null);
    // The provider accepted this one; the process died before the full outcome was written.
    await t.db.query(`UPDATE messages SET ${claim}, holder_id = $3 WHERE id = $1`, [accepted, lease, dead]);
    await handoff(accepted, false, 'smtp', false, null);
    await handoff(accepted, true, 'smtp', null, '<accepted@acme.test>');

    // No lease to wait out: the next run reclaims and sends.
    await newSender().runOnce();
    expect(await messageRow(t.db, never)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await messageRow(t.db, keyed)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await messageRow(t.db, ambiguous)).toMatchObject({ status: 'uncertain', provider: 'smtp', last_error: expect.stringContaining('may have been accepted') });
    expect((await messageRow(t.db, live)).status).toBe('sending');
    expect(await messageRow(t.db, accepted)).toMatchObject({ status: 'sent', provider: 'smtp', provider_message_id: '<accepted@acme.test>', last_error: null });
    expect(provider.calls.some((k) => k.endsWith(':dead:accepted'))).toBe(false);
    const acceptedAttempts = await t.db.query<{ result: string; error: string }>('SELECT result, error FROM send_attempts WHERE message_id = $1', [accepted]);
    expect(acceptedAttempts.rows).toEqual([{ result: 'sent', error: 'accepted; recorded after the sending process died' }]);
    const sentEvents = await t.db.query(`SELECT 1 FROM events WHERE workspace_id = $1 AND name = 'sent' AND properties->>'messageId' = $2`, [caller.workspaceId, accepted]);
    expect(sentEvents.rowCount).toBe(1);
    expect(provider.calls.filter((k) => k.includes(':dead:')).sort()).toEqual([`${caller.workspaceId}:dead:keyed`, `${caller.workspaceId}:dead:never`]);
    const inbox = await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM dev_inbox WHERE workspace_id = $1 AND idempotency_key = $2`, [caller.workspaceId, `${caller.workspaceId}:dead:keyed`]);
    expect(inbox.rows[0]!.n).toBe(1);
    const attempts = await t.db.query<{ message_id: string; result: string; provider: string }>(`SELECT message_id, result, provider FROM send_attempts WHERE message_id = ANY($1) ORDER BY id`, [[never, keyed, ambiguous]]);
    expect(attempts.rows.filter((a) => a.message_id === ambiguous)).toEqual([{ message_id: ambiguous, result: 'ambiguous', provider: 'smtp' }]);
    expect(attempts.rows.filter((a) => a.message_id === keyed).map((a) => a.result)).toEqual(['ambiguous', 'sent']);
    // The settled messages' hand-off rows are gone; the live sender's stays.
    const rows = await t.db.query<{ message_id: string }>('SELECT message_id FROM message_handoffs WHERE message_id = ANY($1)', [[never, keyed, ambiguous, live, accepted]]);
    expect(rows.rows.map((r) => r.message_id)).toEqual([live]);
    expect(attempts.rows.filter((a) => a.message_id === never).map((a) => a.result)).toEqual(['sent']);
    await t.db.query(`UPDATE messages SET status = 'failed', holder_id = NULL, claim_token = NULL WHERE id = $1`, [live]);
    await t.db.query('DELETE FROM message_handoffs WHERE message_id = $1', [live]);
  });

  it('journal: a message is safe from a crash once its acceptance (sent) or outcome (handed off) is committed, at once when it was never handed off', async () => {
    const ids = [
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'safe:sent' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'safe:refused' }),
      await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'safe:unmarked' }),
    ];
    const [sent, refused, unmarked] = ids as [string, string, string];
    const claimToken = (await t.db.query<{ token: string }>('SELECT gen_random_uuid() AS token')).rows[0]!.token;
    await t.db.query(`UPDATE messages SET status = 'sending', attempts = 1, claim_token = $2, holder_id = $3, locked_until = $4 WHERE id = ANY($1)`, [
      ids,
      claimToken,
      await t.runtime.holder.id(),
      new Date(clock.now().getTime() + 5 * 60_000),
    ]);
    const rows = (await t.db.query<JournalMessage>('SELECT id, workspace_id, contact_id, source_type FROM messages WHERE id = ANY($1)', [ids])).rows;
    const message = (id: string) => rows.find((r) => r.id === id)!;
    const state = async (id: string) =>
      (
        await t.db.query<{ status: string; handed: boolean; accepted: boolean }>(
          `SELECT status, EXISTS (SELECT 1 FROM message_handoffs h WHERE h.message_id = m.id AND NOT h.accepted) AS handed,
                  EXISTS (SELECT 1 FROM message_handoffs h WHERE h.message_id = m.id AND h.accepted) AS accepted
             FROM messages m WHERE id = $1`,
          [id],
        )
      ).rows[0]!;
    const journal = new SendJournal({ db: t.db, clock, logger: t.runtime.deps.logger, eventSink: () => t.runtime.deps.eventSink });
    await journal.markHandOff(sent, claimToken, { provider: 'smtp', idempotent: false });
    await journal.markHandOff(refused, claimToken, { provider: 'smtp', idempotent: false });
    expect(await state(sent)).toMatchObject({ status: 'sending', handed: true });

    // While the journal cannot write (another transaction holds its table), neither is safe.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const lock = t.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE message_handoffs IN EXCLUSIVE MODE');
      locked();
      await released;
    });
    await holding;
    const accepted = journal.record(message(sent), claimToken, { kind: 'sent', provider: 'smtp', providerMessageId: '<safe@acme.test>', latencyMs: 3 });
    const failed = journal.record(message(refused), claimToken, { kind: 'failed', provider: 'smtp', error: '550 no such user', latencyMs: 3, result: 'permanent_error' });
    const pending = new Promise((resolve) => setTimeout(() => resolve('pending'), 300));
    expect(await Promise.race([accepted.safe.then(() => 'safe'), failed.safe.then(() => 'safe'), pending])).toBe('pending');
    release();
    await lock;
    // Accepted: safe once a reclaim would record it as sent (its acceptance, or its outcome, committed).
    await accepted.safe;
    const afterAcceptance = await state(sent);
    expect(afterAcceptance.accepted || afterAcceptance.status === 'sent').toBe(true);
    // Handed off and refused: safe only once its outcome is committed (else a crash makes it uncertain).
    await failed.safe;
    expect((await state(refused)).status).toBe('failed');
    // Never handed off: safe at once, before its outcome is written (a crash would send it again).
    const retry = journal.record(message(unmarked), claimToken, { kind: 'retry', provider: 'smtp', error: 'connection refused', latencyMs: 3, nextAttemptAt: new Date(clock.now().getTime() + 60_000), pinTo: null });
    expect(await Promise.race([retry.safe.then(() => 'safe'), retry.recorded.then(() => 'recorded')])).toBe('safe');

    expect(await Promise.all([accepted.recorded, failed.recorded, retry.recorded])).toEqual([true, true, true]);
    expect(await state(sent)).toEqual({ status: 'sent', handed: false, accepted: false });
    expect((await state(unmarked)).status).toBe('queued');
  });

  it('sends nothing when the hand-off mark finds the claim lost (reclaimed while the sender was slow)', async () => {
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'fenced:1' });
    provider.behaviour = () => 'deliver';
    provider.beforeHandOff = async () => {
      // Another process took this sender for dead and settled the message meanwhile.
      await t.db.query(`UPDATE messages SET status = 'queued', claim_token = NULL, holder_id = NULL, next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [id]);
    };
    try {
      await newSender().runOnce();
    } finally {
      provider.beforeHandOff = null;
    }
    const inbox = await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM dev_inbox WHERE workspace_id = $1 AND idempotency_key = $2`, [caller.workspaceId, `${caller.workspaceId}:fenced:1`]);
    expect(inbox.rows[0]!.n).toBe(0);
    expect((await messageRow(t.db, id)).status).toBe('queued');
    const attempts = await t.db.query<{ result: string; error: string }>('SELECT result, error FROM send_attempts WHERE message_id = $1', [id]);
    expect(attempts.rows).toEqual([{ result: 'transient_error', error: expect.stringContaining('no longer holds the message') }]);
  });

  it('retries a transient failure later with backoff, and a lost acceptance is stored once', async () => {
    provider.behaviour = (_m, call) => (call === 1 ? 'deliver-then-drop' : 'deliver');
    provider.calls = [];
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'dropped:1' });
    const sender = newSender({ random: () => 0.5 });
    await sender.runOnce();
    let row = await messageRow(t.db, id);
    expect(row.status).toBe('queued');
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('connection reset');
    // First retry after 1 s base backoff with jitter in [0.5, 1] → 750 ms at random 0.5.
    expect(row.next_attempt_at.getTime() - clock.now().getTime()).toBe(750);
    await sender.runOnce();
    expect((await messageRow(t.db, id)).status).toBe('queued');
    clock.advance(750);
    await sender.runOnce();
    row = await messageRow(t.db, id);
    expect(row.status).toBe('sent');
    const inbox = await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM dev_inbox WHERE workspace_id = $1 AND idempotency_key = $2`, [caller.workspaceId, `${caller.workspaceId}:dropped:1`]);
    expect(inbox.rows[0]!.n).toBe(1);
    const attempts = await t.db.query<{ result: string }>('SELECT result FROM send_attempts WHERE message_id = $1 ORDER BY id', [id]);
    expect(attempts.rows.map((r) => r.result)).toEqual(['transient_error', 'sent']);
  });

  it('leaves a message failed, never sent, on a permanent error and after the last transient attempt', async () => {
    provider.behaviour = () => 'permanent';
    const permanent = await enqueueTestEmail(t.db, caller.workspaceId);
    const sender = newSender({ maxAttempts: 2, random: () => 0 });
    await sender.runOnce();
    let row = await messageRow(t.db, permanent);
    expect(row.status).toBe('failed');
    expect(row.sent_at).toBeNull();
    expect(row.last_error).toContain('mailbox does not exist');

    provider.behaviour = () => 'transient';
    const transient = await enqueueTestEmail(t.db, caller.workspaceId);
    await sender.runOnce();
    expect((await messageRow(t.db, transient)).status).toBe('queued');
    clock.advance(10_000);
    await sender.runOnce();
    row = await messageRow(t.db, transient);
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(2);
    expect(row.last_error).toContain('gave up after 2 attempts');
    const sent = await t.db.query(`SELECT 1 FROM events WHERE name = 'sent' AND properties->>'messageId' = ANY($1)`, [[permanent, transient]]);
    expect(sent.rowCount).toBe(0);
  });

  it('skips a suppressed address with the reason and sends nothing', async () => {
    provider.behaviour = () => 'deliver';
    provider.calls = [];
    const added = await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: caller.bearer, payload: { email: 'Blocked@Example.com' } });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ email: 'blocked@example.com', reason: 'manual' });
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { to: 'Blocked <BLOCKED@example.com>' });
    await newSender().runOnce();
    const row = await messageRow(t.db, id);
    expect(row.status).toBe('suppressed');
    expect(row.last_error).toBe('suppressed: manual');
    expect(provider.calls).toHaveLength(0);
  });

  it('skips marketing email to a contact who unsubscribed, but still sends them transactional email', async () => {
    provider.behaviour = () => 'deliver';
    const contactId = await createContact(t.db, caller.workspaceId, 'quiet@example.com');
    await t.db.query(`UPDATE contacts SET subscription_state = 'unsubscribed' WHERE id = $1`, [contactId]);
    const marketing = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to: 'quiet@example.com', sourceType: 'campaign' });
    const receipt = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to: 'quiet@example.com', sourceType: 'test' });
    await newSender().runOnce();
    expect(await messageRow(t.db, marketing)).toMatchObject({ status: 'suppressed', last_error: 'suppressed: unsubscribed' });
    expect((await messageRow(t.db, receipt)).status).toBe('sent');
  });

  it('wakes on NOTIFY when a message is queued, without waiting for the poll', async () => {
    provider.behaviour = () => 'deliver';
    const sender = newSender({ pollMs: 600_000, clock: { now: () => new Date(Date.now() + 1000) } });
    sender.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const id = await t.db.transaction((tx) => enqueueTestEmail(tx as never, caller.workspaceId, { idempotencyKey: 'notify:1' }));
      let status = '';
      for (let i = 0; i < 100 && status !== 'sent'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await messageRow(t.db, id)).status;
      }
      expect(status).toBe('sent');
    } finally {
      await sender.stop();
    }
  });
});

describe('suppression routes', () => {
  it('lists, looks up and removes suppressions, and validates input', async () => {
    await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: caller.bearer, payload: { email: 'b@example.com', reason: 'complaint' } });
    const again = await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: caller.bearer, payload: { email: 'B@example.com', reason: 'manual' } });
    expect(again.statusCode).toBe(200);
    expect(again.json().reason).toBe('complaint');
    const list = await t.app.inject({ method: 'GET', url: '/api/suppressions?limit=500', headers: caller.bearer });
    expect(list.json().suppressions.map((s: { email: string }) => s.email)).toContain('b@example.com');
    const one = await t.app.inject({ method: 'GET', url: '/api/suppressions?email=B@example.com', headers: caller.bearer });
    expect(one.json().suppressions).toHaveLength(1);
    const bad = await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: caller.bearer, payload: { email: 'nope', reason: 'whatever' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const removed = await t.app.inject({ method: 'DELETE', url: '/api/suppressions/b%40example.com', headers: caller.bearer });
    expect(removed.statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'DELETE', url: '/api/suppressions/b%40example.com', headers: caller.bearer });
    expect(gone.statusCode).toBe(404);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_type = 'suppression' ORDER BY id`, [caller.workspaceId]);
    expect(audit.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['suppression.create', 'suppression.delete']));
  });
});

describe('deep health', () => {
  it('reports email queue lag, degraded when the oldest due message waits more than 5 minutes', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/health/deep', headers: caller.bearer });
    expect(ok.json().checks.email_delivery).toMatchObject({ status: 'ok' });
    await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'lagging' });
    clock.advance(10 * 60_000);
    const late = await t.app.inject({ method: 'GET', url: '/health/deep', headers: caller.bearer });
    expect(late.json().checks.email_delivery).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/^queue lag \d+ s$/) });
    expect(late.json().status).toBe('degraded');
    await t.runtime.deps.email.sender.runOnce();
    const caughtUp = await t.app.inject({ method: 'GET', url: '/health/deep', headers: caller.bearer });
    expect(caughtUp.json().checks.email_delivery.status).toBe('ok');
  });

  it('counts a provider circuit another live process reports open (split roles: the breakers live in the worker)', async () => {
    const provider = await t.db.query<{ id: string }>(`INSERT INTO email_providers (workspace_id, name, kind, credentials_encrypted) VALUES ($1, 'Worker-side', 'postmark', 'x') RETURNING id`, [caller.workspaceId]);
    const report = (seenAt: Date) =>
      t.db.query(
        `INSERT INTO guardian_circuit_states (provider_id, process_id, workspace_id, state, changed_at, seen_at) VALUES ($1, 'worker-elsewhere', $2, 'open', $3, $3)
         ON CONFLICT (provider_id, process_id) DO UPDATE SET seen_at = EXCLUDED.seen_at`,
        [provider.rows[0]!.id, caller.workspaceId, seenAt],
      );
    await report(clock.now());
    const open = await t.app.inject({ method: 'GET', url: '/health/deep', headers: caller.bearer });
    expect(open.json().checks.email_delivery).toMatchObject({ status: 'degraded', detail: expect.stringContaining('1 provider circuit(s) open') });
    // A process that stopped reporting (dead, or its report older than 30 s) no longer counts.
    clock.advance(60_000);
    const stale = await t.app.inject({ method: 'GET', url: '/health/deep', headers: caller.bearer });
    expect(stale.json().checks.email_delivery.detail ?? '').not.toContain('circuit');
    await t.db.query(`DELETE FROM email_providers WHERE id = $1`, [provider.rows[0]!.id]);
  });
});
