import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContact, createEmailTestApp, enqueueTestEmail, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import type { EventSink } from '../core/events.js';
import { EngagementRecorder } from './engagement.js';
import { isMachineOpen, LinkSigner } from './links.js';

let t: EmailTestApp;
let caller: Caller;
let contactId: string;
let messageId: string;
let html: string;
let headers: Record<string, string>;
const clock = new ManualClock();

beforeAll(async () => {
  t = await createEmailTestApp({ clock });
  caller = await signUp(t.app);
  clock.set(new Date(Date.now() + 5 * 60_000));
  contactId = await createContact(t.db, caller.workspaceId, 'grace@example.com');
  messageId = await enqueueTestEmail(t.db, caller.workspaceId, {
    contactId,
    sourceType: 'campaign',
    to: 'Grace <grace@example.com>',
    idempotencyKey: 'tracking:1',
    html: '<html><body><a href="https://example.com/a?x=1&amp;y=2">A</a> <a href="mailto:hi@example.com">mail</a></body></html>',
  });
  await t.runtime.deps.email.sender.runOnce();
  const list = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: caller.bearer });
  const email = (await t.app.inject({ method: 'GET', url: `/api/inbox/${list.json().messages[0].id}`, headers: caller.bearer })).json();
  html = email.html;
  headers = email.headers;
});
afterAll(async () => {
  await t.close();
});

function pathOf(pattern: RegExp, source: string): string {
  const match = pattern.exec(source);
  if (!match) throw new Error(`no match for ${pattern} in ${source}`);
  return new URL(match[1]!).pathname;
}

async function emailEvents(name: string): Promise<Array<{ contact_id: string; properties: Record<string, unknown> }>> {
  const result = await t.db.query<{ contact_id: string; properties: Record<string, unknown> }>(`SELECT contact_id, properties FROM events WHERE workspace_id = $1 AND type = 'email' AND name = $2 ORDER BY received_at, id`, [caller.workspaceId, name]);
  return result.rows;
}

describe('click and open tracking', () => {
  it('redirects a signed click to the original URL and records a clicked event', async () => {
    expect(html).toContain('href="mailto:hi@example.com"');
    const click = pathOf(/href="(http:\/\/localhost:3008\/t\/c\/[^"]+)"/, html);
    const response = await t.app.inject({ method: 'GET', url: click, headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) AppleWebKit Safari/605.1.15 Version/17.0' } });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('https://example.com/a?x=1&y=2');
    const [event] = await emailEvents('clicked');
    expect(event).toEqual({ contact_id: contactId, properties: { messageId, url: 'https://example.com/a?x=1&y=2', userAgent: 'Mozilla/5.0 (Macintosh) AppleWebKit Safari/605.1.15 Version/17.0', machineOpen: false } });
  });

  it('refuses a tampered, forged or unknown click token with 404 and no redirect', async () => {
    const click = pathOf(/href="(http:\/\/localhost:3008\/t\/c\/[^"]+)"/, html);
    const token = click.split('/').pop()!;
    const [body, mac] = token.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const evil = Buffer.from(JSON.stringify({ ...payload, u: 'https://evil.example/phish' })).toString('base64url');
    const forgedWithOtherSecret = new LinkSigner('another-secret-that-is-at-least-32-chars').sign({ ...payload, u: 'https://evil.example/' });
    const openToken = pathOf(/<img src="(http:\/\/localhost:3008\/t\/o\/[^"]+)"/, html).split('/').pop()!;
    for (const bad of [`${evil}.${mac}`, forgedWithOtherSecret, 'garbage', `${body}.`, openToken]) {
      const response = await t.app.inject({ method: 'GET', url: `/t/c/${bad}` });
      expect(response.statusCode).toBe(404);
      expect(response.headers.location).toBeUndefined();
    }
  });

  it('serves the pixel and records opens, flagging proxy opens', async () => {
    const pixel = pathOf(/<img src="(http:\/\/localhost:3008\/t\/o\/[^"]+)"/, html);
    const human = await t.app.inject({ method: 'GET', url: pixel, headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148' } });
    expect(human.statusCode).toBe(200);
    expect(human.headers['content-type']).toBe('image/gif');
    expect(human.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    clock.advance(1000);
    await t.app.inject({ method: 'GET', url: pixel, headers: { 'user-agent': 'Mozilla/5.0' } });
    const opens = await emailEvents('opened');
    expect(opens.map((o) => o.properties.machineOpen)).toEqual([false, true]);
    expect(opens[0]).toMatchObject({ contact_id: contactId, properties: { messageId } });
    expect((await t.app.inject({ method: 'GET', url: '/t/o/nope.nope' })).statusCode).toBe(404);
  });

  it('tells machine opens from people by user agent and address', () => {
    expect(isMachineOpen('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36 GoogleImageProxy', '66.249.1.1')).toBe(true);
    expect(isMachineOpen('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)', '17.58.1.2')).toBe(true);
    expect(isMachineOpen('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)', '203.0.113.9')).toBe(false);
    expect(isMachineOpen('', '203.0.113.9')).toBe(true);
  });
});

describe('unsubscribe', () => {
  it('shows a preference page without inline scripts, under the CSP', async () => {
    const url = /^<([^>]+)>/.exec(headers['List-Unsubscribe']!)![1]!;
    const page = await t.app.inject({ method: 'GET', url: new URL(url).pathname });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('grace@example.com');
    expect(page.body).toContain('value="unsubscribe"');
    expect(page.body).not.toContain('<script');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
  });

  it('advertises only the HTTPS one-click URI, no mailto: address that nothing reads', () => {
    expect(headers['List-Unsubscribe']).toMatch(/^<http:\/\/localhost:3008\/u\/[\w-]+\.[\w-]+>$/);
    expect(headers['List-Unsubscribe']).not.toContain('mailto:');
  });

  it('unsubscribes with RFC 8058 one-click: suppression, contact state, one event, and later sends are suppressed', async () => {
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const path = new URL(/^<([^>]+)>/.exec(headers['List-Unsubscribe']!)![1]!).pathname;
    for (let i = 0; i < 2; i += 1) {
      const response = await t.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
      expect(response.statusCode).toBe(200);
    }
    const contact = await t.db.query<{ subscription_state: string }>('SELECT subscription_state FROM contacts WHERE id = $1', [contactId]);
    expect(contact.rows[0]!.subscription_state).toBe('unsubscribed');
    const suppression = await t.app.inject({ method: 'GET', url: '/api/suppressions?email=grace@example.com', headers: caller.bearer });
    expect(suppression.json().suppressions[0]).toMatchObject({ email: 'grace@example.com', reason: 'unsubscribed', source: 'one_click' });
    expect(await emailEvents('unsubscribed')).toEqual([{ contact_id: contactId, properties: { messageId, source: 'one_click', scope: 'all', topicId: null } }]);

    const next = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, sourceType: 'campaign', to: 'grace@example.com' });
    await t.runtime.deps.email.sender.runOnce();
    const row = await messageRow(t.db, next);
    expect(row.status).toBe('suppressed');
    expect(row.last_error).toBe('suppressed: unsubscribed');
  });

  it('resubscribes from the preference page, and refuses a forged token', async () => {
    const path = new URL(/^<([^>]+)>/.exec(headers['List-Unsubscribe']!)![1]!).pathname;
    const response = await t.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'action=resubscribe' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('You are subscribed again.');
    const contact = await t.db.query<{ subscription_state: string }>('SELECT subscription_state FROM contacts WHERE id = $1', [contactId]);
    expect(contact.rows[0]!.subscription_state).toBe('subscribed');
    const suppression = await t.app.inject({ method: 'GET', url: '/api/suppressions?email=grace@example.com', headers: caller.bearer });
    expect(suppression.json().suppressions).toEqual([]);

    const forged = new LinkSigner('another-secret-that-is-at-least-32-chars').sign({ t: 'u', w: caller.workspaceId, e: 'grace@example.com', c: contactId, m: null });
    expect((await t.app.inject({ method: 'POST', url: `/u/${forged}`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/u/${forged}` })).statusCode).toBe(404);
  });
  it('records an open or a click of an existing message in its statement, and nothing once the message is gone', async () => {
    const goneId = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, sourceType: 'campaign', to: 'grace@example.com', idempotencyKey: 'tracking:gone', html: '<p>x</p>' });
    const signer = t.runtime.deps.email.signer;
    const open = `/t/o/${signer.sign({ t: 'o', w: caller.workspaceId, m: goneId, c: contactId })}`;
    const click = `/t/c/${signer.sign({ t: 'c', w: caller.workspaceId, m: goneId, c: contactId, u: 'https://example.com/gone' })}`;
    const ofGone = async () => (await t.db.query<{ name: string }>(`SELECT name FROM events WHERE workspace_id = $1 AND properties->>'messageId' = $2 ORDER BY name`, [caller.workspaceId, goneId])).rows.map((r) => r.name);
    expect((await t.app.inject({ method: 'GET', url: open })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: click })).statusCode).toBe(302);
    expect(await ofGone()).toEqual(['clicked', 'opened']);
    const queued = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM event_work w JOIN events e ON e.id = ANY (w.event_ids) WHERE w.workspace_id = $1 AND e.properties->>'messageId' = $2`,
      [caller.workspaceId, goneId],
    );
    expect(queued.rows[0]!.n).toBe(2);
    await t.db.query('DELETE FROM messages WHERE id = $1', [goneId]);
    expect((await t.app.inject({ method: 'GET', url: open })).statusCode).toBe(200);
    const redirect = await t.app.inject({ method: 'GET', url: click });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('https://example.com/gone');
    expect(await ofGone()).toEqual(['clicked', 'opened']);
  });

});

describe('open and click writes', () => {
  it('stores opens that arrive together in shared writes: every request answered, every open stored, fewer queue rows than opens', async () => {
    const burstId = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, sourceType: 'campaign', to: 'grace@example.com', idempotencyKey: 'tracking:burst', html: '<p>x</p>' });
    const open = `/t/o/${t.runtime.deps.email.signer.sign({ t: 'o', w: caller.workspaceId, m: burstId, c: contactId })}`;
    const responses = await Promise.all(Array.from({ length: 40 }, () => t.app.inject({ method: 'GET', url: open })));
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 40 }, () => 200));
    const stored = await t.db.query<{ n: number; contacts: string[] }>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT contact_id::text) AS contacts FROM events WHERE workspace_id = $1 AND name = 'opened' AND properties->>'messageId' = $2`,
      [caller.workspaceId, burstId],
    );
    expect(stored.rows[0]).toEqual({ n: 40, contacts: [contactId] });
    // One queue row per write (each write's events go to the event processor together).
    const work = await t.db.query<{ rows: number; events: number }>(
      `SELECT count(DISTINCT w.id)::int AS rows, count(*)::int AS events FROM event_work w JOIN events e ON e.id = ANY (w.event_ids) WHERE w.workspace_id = $1 AND e.properties->>'messageId' = $2`,
      [caller.workspaceId, burstId],
    );
    expect(work.rows[0]!.events).toBe(40);
    expect(work.rows[0]!.rows).toBeLessThan(40);
  });

  it('records an open of a message whose contact was deleted since the send, without a contact', async () => {
    const goneContact = await createContact(t.db, caller.workspaceId, 'deleted-later@example.com');
    const sentId = await enqueueTestEmail(t.db, caller.workspaceId, { contactId: goneContact, sourceType: 'campaign', to: 'deleted-later@example.com', idempotencyKey: 'tracking:deleted-contact', html: '<p>x</p>' });
    await t.db.query('DELETE FROM contacts WHERE id = $1', [goneContact]);
    const signer = t.runtime.deps.email.signer;
    expect((await t.app.inject({ method: 'GET', url: `/t/o/${signer.sign({ t: 'o', w: caller.workspaceId, m: sentId, c: goneContact })}` })).statusCode).toBe(200);
    const click = await t.app.inject({ method: 'GET', url: `/t/c/${signer.sign({ t: 'c', w: caller.workspaceId, m: sentId, c: goneContact, u: 'https://example.com/d' })}` });
    expect(click.statusCode).toBe(302);
    const events = await t.db.query<{ name: string; contact_id: string | null }>(`SELECT name, contact_id FROM events WHERE workspace_id = $1 AND properties->>'messageId' = $2 ORDER BY name`, [caller.workspaceId, sentId]);
    expect(events.rows).toEqual([
      { name: 'clicked', contact_id: null },
      { name: 'opened', contact_id: null },
    ]);
  });

  it('fails only the event whose write fails when events share a write', async () => {
    const a = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, sourceType: 'campaign', to: 'grace@example.com', idempotencyKey: 'tracking:share:a', html: '<p>x</p>' });
    const b = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, sourceType: 'campaign', to: 'grace@example.com', idempotencyKey: 'tracking:share:b', html: '<p>x</p>' });
    const failing: EventSink = {
      async onEvents(_q, events) {
        if (events.some((e) => e.properties.messageId === b)) throw new Error('the sink refused this event');
      },
    };
    const recorder = new EngagementRecorder(t.db, () => failing);
    const visitor = { userAgent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0', ip: '203.0.113.9' };
    const now = clock.now();
    const results = await Promise.allSettled([
      recorder.open({ t: 'o', w: caller.workspaceId, m: a, c: contactId }, visitor, now),
      recorder.open({ t: 'o', w: caller.workspaceId, m: b, c: contactId }, visitor, now),
      recorder.open({ t: 'o', w: caller.workspaceId, m: a, c: contactId }, visitor, now),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const stored = await t.db.query<{ message: string; n: number }>(
      `SELECT properties->>'messageId' AS message, count(*)::int AS n FROM events WHERE workspace_id = $1 AND name = 'opened' AND properties->>'messageId' = ANY($2::text[]) GROUP BY 1`,
      [caller.workspaceId, [a, b]],
    );
    expect(stored.rows).toEqual([{ message: a, n: 2 }]);
  });
});
