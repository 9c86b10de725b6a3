import { execFileSync } from 'node:child_process';
import { createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContact, createEmailTestApp, enqueueTestEmail, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import type { HttpClient } from './providers/http.js';

/** SNS certificates and subscription confirmations answered locally instead of by AWS. */
const certDir = mkdtempSync(path.join(tmpdir(), 'sns-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem'), '-days', '2', '-subj', '/CN=sns.amazonaws.com'], { stdio: 'ignore' });
const snsKey = readFileSync(path.join(certDir, 'key.pem'), 'utf8');
const snsCert = readFileSync(path.join(certDir, 'cert.pem'), 'utf8');
const fetched: string[] = [];
const awsHttp: HttpClient = async (request) => {
  fetched.push(request.url);
  if (request.url.endsWith('.pem')) return { status: 200, headers: {}, body: snsCert };
  return { status: 200, headers: {}, body: '<ConfirmSubscriptionResponse/>' };
};

let t: EmailTestApp;
let caller: Caller;
const clock = new ManualClock();

beforeAll(async () => {
  t = await createEmailTestApp({ clock, http: awsHttp });
  caller = await signUp(t.app);
  clock.set(new Date());
});
afterAll(async () => {
  await t.close();
});

async function addProvider(kind: string, credentials: Record<string, string>): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: `${kind} ${randomBytes(2).toString('hex')}`, kind, enabled: false, credentials } });
  expect(response.statusCode).toBe(201);
  return response.json().id as string;
}

async function sentMessage(to: string, providerMessageId: string): Promise<{ messageId: string; contactId: string }> {
  const contactId = await createContact(t.db, caller.workspaceId, to);
  const messageId = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to });
  await t.db.query(`UPDATE messages SET status = 'sent', provider_message_id = $2 WHERE id = $1`, [messageId, providerMessageId]);
  return { messageId, contactId };
}

async function eventsFor(contactId: string): Promise<Array<{ name: string; properties: Record<string, unknown> }>> {
  const result = await t.db.query<{ name: string; properties: Record<string, unknown> }>(`SELECT name, properties FROM events WHERE workspace_id = $1 AND contact_id = $2 AND type = 'email' ORDER BY name`, [caller.workspaceId, contactId]);
  return result.rows;
}

async function suppressionOf(email: string): Promise<string | null> {
  const result = await t.db.query<{ reason: string }>('SELECT reason FROM suppressions WHERE workspace_id = $1 AND email = $2', [caller.workspaceId, email]);
  return result.rows[0]?.reason ?? null;
}

describe('Resend webhooks (Svix)', () => {
  const secretBytes = randomBytes(24);
  const secret = `whsec_${secretBytes.toString('base64')}`;
  const sign = (id: string, timestamp: number, body: string) => `v1,${createHmac('sha256', secretBytes).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

  it('records a verified hard bounce once and suppresses the address; refuses tampered and stale calls', async () => {
    const providerId = await addProvider('resend', { apiKey: 're_x', webhookSecret: secret });
    const { messageId, contactId } = await sentMessage('bounce@example.com', 're_abc');
    const body = JSON.stringify({ type: 'email.bounced', created_at: '2026-01-05T09:00:00Z', data: { email_id: 're_abc', to: ['bounce@example.com'], bounce: { type: 'Permanent', message: 'mailbox unknown' } } });
    const timestamp = Math.floor(clock.now().getTime() / 1000);
    const headers = { 'content-type': 'application/json', 'svix-id': 'msg_1', 'svix-timestamp': String(timestamp), 'svix-signature': sign('msg_1', timestamp, body) };
    for (let i = 0; i < 2; i += 1) {
      const response = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers, payload: body });
      expect(response.statusCode).toBe(200);
    }
    expect(await eventsFor(contactId)).toEqual([{ name: 'bounced', properties: { messageId, provider: 'resend', email: 'bounce@example.com', detail: 'mailbox unknown', suppressed: 'hard_bounce' } }]);
    expect(await suppressionOf('bounce@example.com')).toBe('hard_bounce');

    const tampered = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers, payload: body.replace('bounce@example.com', 'other@example.com') });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().error.code).toBe('WEBHOOK_UNVERIFIED');
    const old = timestamp - 3600;
    const stale = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { ...headers, 'svix-timestamp': String(old), 'svix-signature': sign('msg_1', old, body) }, payload: body });
    expect(stale.statusCode).toBe(401);
    const unknown = await t.app.inject({ method: 'POST', url: `/webhooks/email/${randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}`, headers, payload: body });
    expect(unknown.statusCode).toBe(401);
  });
});

describe('Postmark webhooks (basic auth)', () => {
  it('suppresses on a spam complaint with the right credentials only', async () => {
    const providerId = await addProvider('postmark', { serverToken: 'pm', webhookUser: 'hook', webhookPassword: 'p4ss-word' });
    const { contactId } = await sentMessage('complainer@example.com', 'pm-42');
    const body = JSON.stringify({ RecordType: 'SpamComplaint', ID: 42, MessageID: 'pm-42', Email: 'complainer@example.com' });
    const wrong = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('hook:nope').toString('base64')}` }, payload: body });
    expect(wrong.statusCode).toBe(401);
    expect(await suppressionOf('complainer@example.com')).toBeNull();
    const right = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('hook:p4ss-word').toString('base64')}` }, payload: body });
    expect(right.statusCode).toBe(200);
    expect(await suppressionOf('complainer@example.com')).toBe('complaint');
    expect((await eventsFor(contactId)).map((e) => e.name)).toEqual(['complained']);
  });
});

describe('a webhook about an uncertain message', () => {
  it('settles it as sent: the provider had it', async () => {
    const providerId = await addProvider('postmark', { serverToken: 'pm', webhookUser: 'hook', webhookPassword: 'p4ss-word' });
    const contactId = await createContact(t.db, caller.workspaceId, 'maybe@example.com');
    const messageId = await enqueueTestEmail(t.db, caller.workspaceId, { contactId, to: 'maybe@example.com' });
    await t.db.query(`UPDATE messages SET status = 'uncertain', provider = 'postmark', last_error = 'no answer' WHERE id = $1`, [messageId]);
    const body = JSON.stringify({ RecordType: 'Delivery', ID: 7, MessageID: 'pm-maybe', Recipient: 'maybe@example.com', Email: 'maybe@example.com', Metadata: { messageId } });
    const response = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('hook:p4ss-word').toString('base64')}` }, payload: body });
    expect(response.statusCode).toBe(200);
    const row = await t.db.query<{ status: string; provider_message_id: string; sent_at: Date | null }>('SELECT status, provider_message_id, sent_at FROM messages WHERE id = $1', [messageId]);
    expect(row.rows[0]).toMatchObject({ status: 'sent', provider_message_id: 'pm-maybe' });
    const attempts = await t.db.query<{ result: string; error: string }>('SELECT result, error FROM send_attempts WHERE message_id = $1', [messageId]);
    expect(attempts.rows).toEqual([{ result: 'marked_sent', error: 'marked sent by webhook:postmark' }]);
    expect((await eventsFor(contactId)).map((e) => e.name).sort()).toEqual(['delivered', 'sent']);
  });
});

describe('SendGrid webhooks (ECDSA signed events)', () => {
  it('verifies the signature over timestamp + body and maps bounces and deliveries', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const providerId = await addProvider('sendgrid', { apiKey: 'SG.x', webhookPublicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') });
    const { messageId, contactId } = await sentMessage('sg-bounce@example.com', 'sg-1');
    const body = JSON.stringify([
      { email: 'sg-bounce@example.com', event: 'delivered', sg_event_id: 'e1', sg_message_id: 'sg-1.filter', message_id: messageId },
      { email: 'sg-bounce@example.com', event: 'bounce', type: 'bounce', reason: '550 no such user', sg_event_id: 'e2', sg_message_id: 'sg-1.filter', message_id: messageId },
    ]);
    const timestamp = String(Math.floor(clock.now().getTime() / 1000));
    const signature = createSign('sha256').update(timestamp + body).sign(privateKey).toString('base64');
    const headers = { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
    const bad = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers, payload: body.replace('550', '551') });
    expect(bad.statusCode).toBe(401);
    const good = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers, payload: body });
    expect(good.statusCode).toBe(200);
    expect(good.json()).toEqual({ received: 2 });
    expect((await eventsFor(contactId)).map((e) => e.name)).toEqual(['bounced', 'delivered']);
    expect(await suppressionOf('sg-bounce@example.com')).toBe('hard_bounce');
  });
});

describe('SES webhooks (SNS signatures)', () => {
  const certUrl = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem';
  function snsSign(message: Record<string, string>): Record<string, string> {
    const keys = message.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const text = keys.filter((k) => message[k] !== undefined).map((k) => `${k}\n${message[k]}\n`).join('');
    return { ...message, SignatureVersion: '2', SigningCertURL: certUrl, Signature: createSign('sha256').update(text).sign(snsKey).toString('base64') };
  }

  it('confirms the subscription, then suppresses on a verified permanent bounce; refuses forged ones', async () => {
    const providerId = await addProvider('ses', { accessKeyId: 'AKID', secretAccessKey: 's', region: 'eu-west-1' });
    const confirm = snsSign({ Type: 'SubscriptionConfirmation', MessageId: 'c1', Token: 'tok', TopicArn: 'arn:aws:sns:eu-west-1:1:ses', Message: 'confirm', SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok', Timestamp: '2026-01-05T09:00:00.000Z' });
    const confirmed = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(confirm) });
    expect(confirmed.statusCode).toBe(200);
    expect(fetched).toContain('https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok');

    const { messageId, contactId } = await sentMessage('ses-bounce@example.com', 'ses-77');
    const notification = snsSign({
      Type: 'Notification',
      MessageId: 'n1',
      TopicArn: 'arn:aws:sns:eu-west-1:1:ses',
      Timestamp: '2026-01-05T09:00:00.000Z',
      Message: JSON.stringify({ notificationType: 'Bounce', bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'ses-bounce@example.com', diagnosticCode: '5.1.1' }] }, mail: { messageId: 'ses-77' } }),
    });
    const forged = { ...notification, Message: notification.Message!.replace('Permanent', 'Transient') };
    expect((await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(forged) })).statusCode).toBe(401);
    const evilCert = { ...notification, SigningCertURL: 'https://evil.example/cert.pem' };
    expect((await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(evilCert) })).statusCode).toBe(401);
    const good = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(notification) });
    expect(good.statusCode).toBe(200);
    expect(await eventsFor(contactId)).toEqual([{ name: 'bounced', properties: { messageId, provider: 'ses', email: 'ses-bounce@example.com', detail: '5.1.1', suppressed: 'hard_bounce' } }]);
    expect(await suppressionOf('ses-bounce@example.com')).toBe('hard_bounce');
  });
});
