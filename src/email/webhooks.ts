/**
 * Bounce, complaint and delivery webhooks from the providers, at
 * `POST /webhooks/email/:providerId`. Each is verified the provider's way before anything is
 * believed: Svix signatures (Resend), ECDSA signed events (SendGrid), HTTP Basic auth
 * (Postmark), SNS message signatures (SES). Verified events become `email` events (bounced,
 * complained, delivered); hard bounces and complaints suppress the address.
 */
import { createHmac, createVerify, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Database } from '../db/database.js';
import { recordEvents, type EventSink } from '../core/events.js';
import type { Clock } from '../platform/clock.js';
import { settleUncertainAsSent } from './messages.js';
import type { Credentials, ProviderKind } from './provider-settings.js';
import { callProvider, jsonOf, type HttpClient } from './providers/http.js';
import { addSuppression, normalizeEmail } from './suppressions.js';

export type DeliveryEventName = 'bounced' | 'complained' | 'delivered';

export interface DeliveryEvent {
  name: DeliveryEventName;
  email: string;
  /** Hard bounces and complaints suppress the address. */
  suppress: 'hard_bounce' | 'complaint' | null;
  /** Our messages.id when the provider echoes it, else the provider's message id. */
  messageId: string | null;
  providerMessageId: string | null;
  /** The provider's id of this event, to drop a redelivered webhook. */
  eventId: string;
  detail: string | null;
}

export class WebhookRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookRejected';
  }
}

const TOLERANCE_MS = 5 * 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function safeEqualText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Svix (Resend): HMAC-SHA256 of `id.timestamp.body` with the base64 secret after `whsec_`. */
export function verifySvix(secret: string, headers: Record<string, string | undefined>, body: string, now: Date): void {
  const id = headers['svix-id'];
  const timestamp = headers['svix-timestamp'];
  const signatures = headers['svix-signature'];
  if (!id || !timestamp || !signatures) throw new WebhookRejected('missing Svix headers');
  if (!/^\d+$/.test(timestamp) || Math.abs(now.getTime() - Number(timestamp) * 1000) > TOLERANCE_MS) throw new WebhookRejected('Svix timestamp outside tolerance');
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  const ok = signatures.split(' ').some((part) => {
    const [version, signature] = part.split(',');
    return version === 'v1' && signature !== undefined && safeEqualText(signature, expected);
  });
  if (!ok) throw new WebhookRejected('Svix signature mismatch');
}

/** SendGrid signed event webhook: ECDSA (P-256, SHA-256) over `timestamp + body`, public key base64 DER. */
export function verifySendGrid(publicKey: string, headers: Record<string, string | undefined>, body: string, now: Date): void {
  const signature = headers['x-twilio-email-event-webhook-signature'];
  const timestamp = headers['x-twilio-email-event-webhook-timestamp'];
  if (!signature || !timestamp) throw new WebhookRejected('missing SendGrid signature headers');
  if (!/^\d+$/.test(timestamp) || Math.abs(now.getTime() - Number(timestamp) * 1000) > TOLERANCE_MS) throw new WebhookRejected('SendGrid timestamp outside tolerance');
  const pem = publicKey.includes('BEGIN') ? publicKey : `-----BEGIN PUBLIC KEY-----\n${publicKey}\n-----END PUBLIC KEY-----`;
  let ok = false;
  try {
    ok = createVerify('sha256').update(timestamp + body).verify(pem, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new WebhookRejected('SendGrid signature mismatch');
}

/** Postmark: HTTP Basic credentials set on the webhook URL. */
export function verifyBasicAuth(user: string, password: string, authorization: string | undefined): void {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  if (!authorization || !safeEqualText(authorization, expected)) throw new WebhookRejected('Postmark basic auth mismatch');
}

interface SnsMessage {
  Type: string;
  MessageId: string;
  Token?: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SubscribeURL?: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
}

/** The SNS string to sign: the listed keys, in this order, as `Key\nValue\n`. */
function snsStringToSign(m: SnsMessage): string {
  const keys = m.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys
    .filter((k) => m[k as keyof SnsMessage] !== undefined)
    .map((k) => `${k}\n${m[k as keyof SnsMessage]}\n`)
    .join('');
}

const SNS_CERT_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[^?#]+\.pem$/;

/** Verifies an SNS message's signature with its signing certificate (fetched from AWS only). */
export async function verifySns(m: SnsMessage, http: HttpClient, certificates: Map<string, string>): Promise<void> {
  if (!m || typeof m.Signature !== 'string' || typeof m.SigningCertURL !== 'string') throw new WebhookRejected('not an SNS message');
  if (!SNS_CERT_URL.test(m.SigningCertURL)) throw new WebhookRejected('SNS certificate URL is not an AWS SNS host');
  let pem = certificates.get(m.SigningCertURL);
  if (!pem) {
    const response = await callProvider(http, 'sns', { method: 'GET', url: m.SigningCertURL, headers: {}, timeoutMs: 5000 }, (r) => r.body).catch(() => {
      throw new WebhookRejected('SNS certificate could not be fetched');
    });
    pem = response.body;
    if (certificates.size > 50) certificates.clear();
    certificates.set(m.SigningCertURL, pem);
  }
  let ok = false;
  try {
    const key = new X509Certificate(pem).publicKey;
    ok = createVerify(m.SignatureVersion === '2' ? 'sha256' : 'sha1').update(snsStringToSign(m)).verify(key, Buffer.from(m.Signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new WebhookRejected('SNS signature mismatch');
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function parseResend(body: string, headers: Record<string, string | undefined>): DeliveryEvent[] {
  const event = jsonOf(body);
  const data = (event.data ?? {}) as Record<string, unknown>;
  const to = Array.isArray(data.to) ? (data.to as unknown[]).map(String) : [];
  const base = { messageId: null, providerMessageId: str(data.email_id), eventId: `resend:${headers['svix-id']}` };
  switch (event.type) {
    case 'email.bounced': {
      const bounce = (data.bounce ?? {}) as Record<string, unknown>;
      const hard = bounce.type !== 'Transient';
      return to.map((email) => ({ ...base, name: 'bounced', email, suppress: hard ? 'hard_bounce' : null, detail: str(bounce.message) }));
    }
    case 'email.complained':
      return to.map((email) => ({ ...base, name: 'complained', email, suppress: 'complaint', detail: null }));
    case 'email.delivered':
      return to.map((email) => ({ ...base, name: 'delivered', email, suppress: null, detail: null }));
    default:
      return [];
  }
}

function parsePostmark(body: string): DeliveryEvent[] {
  const e = jsonOf(body);
  const metadata = (e.Metadata ?? {}) as Record<string, unknown>;
  const base = { messageId: str(metadata.messageId), providerMessageId: str(e.MessageID), eventId: `postmark:${String(e.RecordType)}:${String(e.ID ?? e.MessageID)}` };
  switch (e.RecordType) {
    case 'Bounce':
      return [{ ...base, name: 'bounced', email: String(e.Email), suppress: e.Type === 'HardBounce' || e.Type === 'BadEmailAddress' ? 'hard_bounce' : null, detail: str(e.Description) }];
    case 'SpamComplaint':
      return [{ ...base, name: 'complained', email: String(e.Email), suppress: 'complaint', detail: null }];
    case 'Delivery':
      return [{ ...base, name: 'delivered', email: String(e.Recipient), suppress: null, detail: null }];
    default:
      return [];
  }
}

function parseSendGrid(body: string): DeliveryEvent[] {
  let events: unknown;
  try {
    events = JSON.parse(body);
  } catch {
    return [];
  }
  if (!Array.isArray(events)) return [];
  return events.flatMap((raw: Record<string, unknown>): DeliveryEvent[] => {
    const base = { messageId: str(raw.message_id), providerMessageId: str(raw.sg_message_id)?.split('.')[0] ?? null, eventId: `sendgrid:${String(raw.sg_event_id)}`, email: String(raw.email) };
    switch (raw.event) {
      case 'bounce':
        return [{ ...base, name: 'bounced', suppress: raw.type === 'blocked' ? null : 'hard_bounce', detail: str(raw.reason) }];
      case 'spamreport':
        return [{ ...base, name: 'complained', suppress: 'complaint', detail: null }];
      case 'delivered':
        return [{ ...base, name: 'delivered', suppress: null, detail: null }];
      default:
        return [];
    }
  });
}

function parseSes(m: SnsMessage): DeliveryEvent[] {
  const n = jsonOf(m.Message);
  const mail = (n.mail ?? {}) as Record<string, unknown>;
  const tags = (mail.tags ?? {}) as Record<string, unknown>;
  const ourId = Array.isArray(tags.message_id) ? str(tags.message_id[0]) : null;
  const base = { messageId: ourId, providerMessageId: str(mail.messageId), eventId: `ses:${m.MessageId}` };
  const kind = n.notificationType ?? n.eventType;
  if (kind === 'Bounce') {
    const bounce = (n.bounce ?? {}) as { bounceType?: string; bouncedRecipients?: Array<{ emailAddress: string; diagnosticCode?: string }> };
    return (bounce.bouncedRecipients ?? []).map((r) => ({ ...base, name: 'bounced', email: r.emailAddress, suppress: bounce.bounceType === 'Permanent' ? 'hard_bounce' : null, detail: r.diagnosticCode ?? null }));
  }
  if (kind === 'Complaint') {
    const complaint = (n.complaint ?? {}) as { complainedRecipients?: Array<{ emailAddress: string }> };
    return (complaint.complainedRecipients ?? []).map((r) => ({ ...base, name: 'complained', email: r.emailAddress, suppress: 'complaint', detail: null }));
  }
  if (kind === 'Delivery') {
    const delivery = (n.delivery ?? {}) as { recipients?: string[] };
    return (delivery.recipients ?? []).map((email) => ({ ...base, name: 'delivered', email, suppress: null, detail: null }));
  }
  return [];
}

export interface WebhookContext {
  db: Database;
  clock: Clock;
  eventSink: () => EventSink;
  http: HttpClient;
  certificates: Map<string, string>;
}

/**
 * Verifies and applies one webhook call; throws WebhookRejected when it cannot be verified.
 * Returns how many delivery events were recorded.
 */
export async function handleWebhook(
  ctx: WebhookContext,
  provider: { workspaceId: string; kind: ProviderKind; credentials: Credentials },
  headers: Record<string, string | undefined>,
  body: string,
): Promise<number> {
  const now = ctx.clock.now();
  let events: DeliveryEvent[];
  switch (provider.kind) {
    case 'resend': {
      if (!provider.credentials.webhookSecret) throw new WebhookRejected('no webhook secret configured for this provider');
      verifySvix(provider.credentials.webhookSecret, headers, body, now);
      events = parseResend(body, headers);
      break;
    }
    case 'postmark': {
      if (!provider.credentials.webhookUser || !provider.credentials.webhookPassword) throw new WebhookRejected('no webhook credentials configured for this provider');
      verifyBasicAuth(provider.credentials.webhookUser, provider.credentials.webhookPassword, headers.authorization);
      events = parsePostmark(body);
      break;
    }
    case 'sendgrid': {
      if (!provider.credentials.webhookPublicKey) throw new WebhookRejected('no webhook public key configured for this provider');
      verifySendGrid(provider.credentials.webhookPublicKey, headers, body, now);
      events = parseSendGrid(body);
      break;
    }
    case 'ses': {
      const message = jsonOf(body) as unknown as SnsMessage;
      await verifySns(message, ctx.http, ctx.certificates);
      if (message.Type === 'SubscriptionConfirmation') {
        // Confirming subscribes this endpoint to the topic; the URL was signed by SNS above.
        if (!message.SubscribeURL || !/^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//.test(message.SubscribeURL)) throw new WebhookRejected('SNS subscribe URL is not an AWS SNS host');
        await callProvider(ctx.http, 'sns', { method: 'GET', url: message.SubscribeURL, headers: {}, timeoutMs: 5000 }, (r) => r.body);
        return 0;
      }
      events = message.Type === 'Notification' ? parseSes(message) : [];
      break;
    }
    case 'smtp':
      throw new WebhookRejected('SMTP has no webhooks');
    default:
      throw new WebhookRejected('unknown provider kind');
  }
  if (events.length === 0) return 0;
  return ctx.db.transaction(async (tx) => {
    let recorded = 0;
    for (const event of events) {
      const email = normalizeEmail(event.email);
      // name: find-message-for-webhook — by our id when the provider echoes it (primary key), else by
      // the provider's id (messages_provider_message_idx).
      const ourId = event.messageId && UUID.test(event.messageId) ? event.messageId : null;
      const found = ourId
        ? await tx.query<{ id: string; contact_id: string | null }>('SELECT id, contact_id FROM messages WHERE workspace_id = $1 AND id = $2', [provider.workspaceId, ourId])
        : await tx.query<{ id: string; contact_id: string | null }>('SELECT id, contact_id FROM messages WHERE workspace_id = $1 AND provider_message_id = $2 LIMIT 1', [provider.workspaceId, event.providerMessageId ?? '']);
      const message = found.rows[0];
      let contactId = message?.contact_id ?? null;
      if (!contactId) {
        const contact = await tx.query<{ id: string }>('SELECT id FROM contacts WHERE workspace_id = $1 AND email = $2', [provider.workspaceId, email]);
        contactId = contact.rows[0]?.id ?? null;
      }
      const stored = await recordEvents(
        tx,
        ctx.eventSink(),
        provider.workspaceId,
        [{ contactId, type: 'email', name: event.name, messageId: `${event.eventId}:${email}`, properties: { messageId: message?.id ?? null, provider: provider.kind, email, ...(event.detail ? { detail: event.detail } : {}), ...(event.suppress ? { suppressed: event.suppress } : {}) } }],
        now,
      );
      recorded += stored.length;
      // Any event from the provider about a message proves it accepted it: an 'uncertain' one is sent.
      if (message) await settleUncertainAsSent(tx, ctx.eventSink(), provider.workspaceId, message.id, `webhook:${provider.kind}`, event.providerMessageId, now);
      if (event.suppress) await addSuppression(tx, provider.workspaceId, email, event.suppress, `webhook:${provider.kind}`);
    }
    return recorded;
  });
}
