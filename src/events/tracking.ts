/**
 * Segment-compatible ingestion (identify, track, page, screen, group, alias, batch). A batch is
 * validated message by message (bad ones are refused with a code, good ones kept) and written in
 * bulk inside one transaction: one identity lookup, one contact upsert, one identity link insert,
 * one event insert and one attribution update — whatever the number of messages.
 *
 * Identity: an identify carrying an email trait upserts the contact by email (the CRM's key) and
 * links its userId and anonymousId to it; alias links previousId to the userId's contact. Events
 * sent before their sender was known keep their anonymousId/userId and are attributed to the
 * contact when the link appears.
 */
import type { Database, Queryable } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import { recordAudit } from '../identity/audit.js';
import { FILL_PROFILE_ON_CONFLICT, fillProfile, isValidTimezone, parseEmail } from '../contacts/contacts.js';
import { applyFieldTypes, loadFieldTypes } from '../contacts/custom-fields.js';
import { AppError, notFound } from '../http/errors.js';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '../http/text.js';
import { isStorableTime } from '../http/validation.js';
import { recordEvents, type EventSink, type EventType, type NewEvent, type RecordedEvent } from './events.js';

/** Segment's limits. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Per-message refusal codes (documented in docs/events.md). */
export type MessageErrorCode = 'MESSAGE_TOO_LARGE' | 'MESSAGE_INVALID' | 'INVALID_EMAIL';

export interface MessageError {
  index: number;
  messageId: string | null;
  code: MessageErrorCode;
  message: string;
}

interface ParsedMessage {
  index: number;
  type: MessageType;
  messageId: string | null;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  name: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown> | null;
  email: string | null;
  occurredAt: Date;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | null | undefined {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length <= 200) return value;
  return undefined;
}

function parseTime(value: unknown): Date | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || !isStorableTime(ms) ? undefined : new Date(ms);
}

class Refused extends Error {
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Validates one message. `sentAt` (message or batch) corrects the sender's clock skew the way
 * Segment does: timestamp + (receivedAt − sentAt).
 */
export function parseMessage(raw: unknown, index: number, implied: MessageType | null, batchSentAt: unknown, now: Date): ParsedMessage {
  if (!isObject(raw)) throw new Refused('MESSAGE_INVALID', 'A message must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_MESSAGE_BYTES) throw new Refused('MESSAGE_TOO_LARGE', `A message may be at most ${MAX_MESSAGE_BYTES} bytes`);
  const unstorable = findUnstorableText(raw);
  if (unstorable) throw new Refused('MESSAGE_INVALID', `${unstorable} ${UNSTORABLE_TEXT_MESSAGE}`);
  const type = (implied ?? raw.type) as MessageType;
  if (!MESSAGE_TYPES.includes(type)) throw new Refused('MESSAGE_INVALID', `type must be one of ${MESSAGE_TYPES.join(', ')}`);
  if (implied && raw.type !== undefined && raw.type !== implied) throw new Refused('MESSAGE_INVALID', `type must be "${implied}" on /v1/${implied}`);
  const userId = idOf(raw.userId);
  const anonymousId = idOf(raw.anonymousId);
  if (userId === undefined || anonymousId === undefined) throw new Refused('MESSAGE_INVALID', 'userId and anonymousId must be strings of at most 200 characters');
  if (!userId && !anonymousId) throw new Refused('MESSAGE_INVALID', 'Send a userId or an anonymousId');
  const messageId = idOf(raw.messageId);
  if (messageId === undefined) throw new Refused('MESSAGE_INVALID', 'messageId must be a string of at most 200 characters');
  for (const field of ['properties', 'traits', 'context', 'integrations'] as const) {
    if (raw[field] !== undefined && raw[field] !== null && !isObject(raw[field])) throw new Refused('MESSAGE_INVALID', `${field} must be an object`);
  }
  const timestamp = parseTime(raw.timestamp ?? raw.originalTimestamp);
  const sentAt = parseTime(raw.sentAt ?? batchSentAt);
  if (timestamp === undefined || sentAt === undefined) throw new Refused('MESSAGE_INVALID', 'timestamp and sentAt must be ISO-8601 dates in the years 1 to 9999');
  const occurredAt = timestamp ? (sentAt ? new Date(timestamp.getTime() + (now.getTime() - sentAt.getTime())) : timestamp) : now;
  if (!isStorableTime(occurredAt.getTime())) throw new Refused('MESSAGE_INVALID', 'timestamp corrected by sentAt falls outside the years 1 to 9999');

  const properties = (raw.properties as Obj | undefined) ?? {};
  const traits = (raw.traits as Obj | undefined) ?? {};
  const context = (raw.context as Obj | undefined) ?? null;
  let name: string = type;
  let previousId: string | null = null;
  let email: string | null = null;
  switch (type) {
    case 'track': {
      if (typeof raw.event !== 'string' || raw.event.trim() === '' || raw.event.length > 200) throw new Refused('MESSAGE_INVALID', 'track needs an event name (1–200 characters)');
      name = raw.event.trim();
      break;
    }
    case 'page':
    case 'screen': {
      if (raw.name !== undefined && raw.name !== null && (typeof raw.name !== 'string' || raw.name.length > 200)) throw new Refused('MESSAGE_INVALID', 'name must be a string of at most 200 characters');
      if (typeof raw.name === 'string' && raw.name) properties.name = raw.name;
      if (typeof raw.category === 'string') properties.category = raw.category;
      break;
    }
    case 'group': {
      const groupId = idOf(raw.groupId);
      if (!groupId) throw new Refused('MESSAGE_INVALID', 'group needs a groupId');
      properties.groupId = groupId;
      properties.traits = traits;
      break;
    }
    case 'alias': {
      const previous = idOf(raw.previousId);
      if (!previous || !userId) throw new Refused('MESSAGE_INVALID', 'alias needs a userId and a previousId');
      previousId = previous;
      properties.previousId = previous;
      break;
    }
    case 'identify': {
      if (traits.email !== undefined && traits.email !== null) {
        if (typeof traits.email !== 'string' || !parseEmail(traits.email)) throw new Refused('INVALID_EMAIL', 'traits.email is not a valid email address');
        email = parseEmail(traits.email);
      }
      break;
    }
  }
  return { index, type, messageId, userId, anonymousId, previousId, name, properties: type === 'identify' ? traits : properties, traits, context, email, occurredAt };
}

/* ---------- traits → contact fields ---------- */

function text(value: unknown, max: number): string | null {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed ? trimmed.slice(0, max) : null;
}

const KNOWN_TRAITS = new Set(['email', 'firstName', 'first_name', 'lastName', 'last_name', 'name', 'company', 'title', 'jobTitle', 'job_title', 'phone', 'timezone']);

interface ContactUpsertRow {
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  timezone: string | null;
  custom_fields: Obj;
}

export function contactFromTraits(email: string, traits: Obj, context: Obj | null): ContactUpsertRow {
  let first = text(traits.firstName ?? traits.first_name, 200);
  let last = text(traits.lastName ?? traits.last_name, 200);
  const full = text(traits.name, 400);
  if (full && !first && !last) {
    const space = full.indexOf(' ');
    first = (space < 0 ? full : full.slice(0, space)).slice(0, 200);
    last = space < 0 ? null : full.slice(space + 1).trim().slice(0, 200) || null;
  }
  const company = isObject(traits.company) ? text(traits.company.name, 200) : text(traits.company, 200);
  const zone = text(traits.timezone ?? context?.timezone, 64);
  const custom: Obj = {};
  for (const [key, value] of Object.entries(traits)) {
    if (!KNOWN_TRAITS.has(key) && key.length <= 64 && value !== undefined) custom[key] = value;
  }
  return {
    email,
    first_name: first,
    last_name: last,
    company,
    job_title: text(traits.title ?? traits.jobTitle ?? traits.job_title, 200),
    phone: text(traits.phone, 50),
    timezone: zone && isValidTimezone(zone) ? zone : null,
    custom_fields: custom,
  };
}

/* ---------- ingestion ---------- */

export interface TrackingDeps {
  db: Database;
  eventSink: EventSink;
}

export interface IngestResult {
  accepted: number;
  /** Accepted messages whose messageId had been seen before (dropped as duplicates). */
  duplicates: number;
  errors: MessageError[];
}

type IdentityKind = 'user_id' | 'anonymous_id';
interface Link {
  kind: IdentityKind;
  value: string;
  contact_id: string;
}

/**
 * Ingests messages for one workspace. `implied` is the type of a single-message endpoint
 * (`/v1/track`), null for `/v1/batch`.
 */
export async function ingestMessages(
  deps: TrackingDeps,
  workspaceId: string,
  actor: Actor,
  rawMessages: unknown[],
  options: { implied: MessageType | null; batchSentAt?: unknown; batchContext?: unknown; now: Date },
): Promise<IngestResult> {
  const { now } = options;
  const errors: MessageError[] = [];
  let messages: ParsedMessage[] = [];
  rawMessages.forEach((raw, index) => {
    try {
      const parsed = parseMessage(raw, index, options.implied, options.batchSentAt, now);
      // Batch-level context applies to every message that has none of its own.
      if (!parsed.context && isObject(options.batchContext)) parsed.context = options.batchContext;
      messages.push(parsed);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      const messageId = isObject(raw) && typeof raw.messageId === 'string' ? raw.messageId.slice(0, 200) : null;
      errors.push({ index, messageId, code: error.code, message: error.message });
    }
  });
  if (messages.some((m) => m.type === 'identify' && Object.keys(m.traits).some((key) => !KNOWN_TRAITS.has(key)))) {
    messages = await typeTraits(deps.db, workspaceId, messages, errors);
  }
  if (messages.length === 0) return { accepted: 0, duplicates: 0, errors };

  const result = await deps.db.transaction(async (tx) => {
    const known = await loadIdentities(tx, workspaceId, messages);
    const keyOf = (kind: IdentityKind, value: string) => `${kind}:${value}`;
    const contactOf = (m: ParsedMessage): string | null =>
      (m.userId ? known.get(keyOf('user_id', m.userId))?.contactId : undefined) ?? (m.anonymousId ? known.get(keyOf('anonymous_id', m.anonymousId))?.contactId : undefined) ?? null;

    // 1. Identifies that name an email (directly, or through an already linked contact) upsert it.
    const upserts = new Map<string, ContactUpsertRow>();
    const emailOfMessage = new Map<number, string>();
    for (const m of messages) {
      if (m.type !== 'identify') continue;
      const email = m.email ?? (m.userId ? known.get(keyOf('user_id', m.userId))?.email : undefined) ?? (m.anonymousId ? known.get(keyOf('anonymous_id', m.anonymousId))?.email : undefined);
      if (!email) continue;
      emailOfMessage.set(m.index, email);
      const row = contactFromTraits(email, m.traits, m.context);
      const previous = upserts.get(email);
      // Several identifies of one address in a batch merge, later traits winning.
      upserts.set(email, previous ? mergeUpsert(previous, row) : row);
    }
    // Sorted, so concurrent batches lock the same contacts in the same order.
    const upserted = await upsertContacts(tx, workspaceId, [...upserts.values()].sort((x, y) => (x.email < y.email ? -1 : x.email > y.email ? 1 : 0)), now);
    const contactByEmail = new Map(upserted.map((u) => [u.email, u]));

    // 2. Links, in message order, so a track after an identify in the same batch is attributed.
    const links = new Map<string, Link>();
    const link = (kind: IdentityKind, value: string | null, contactId: string, email: string | null) => {
      if (!value) return;
      const key = keyOf(kind, value);
      if (known.get(key)?.contactId === contactId) return;
      known.set(key, { contactId, email });
      links.set(key, { kind, value, contact_id: contactId });
    };
    const events: NewEvent[] = [];
    for (const m of messages) {
      if (m.type === 'identify') {
        const email = emailOfMessage.get(m.index);
        const contact = email ? contactByEmail.get(email) : undefined;
        if (contact) {
          link('user_id', m.userId, contact.id, contact.email);
          link('anonymous_id', m.anonymousId, contact.id, contact.email);
        }
      } else if (m.type === 'alias' && m.previousId && m.userId) {
        const target = known.get(keyOf('user_id', m.userId)) ?? known.get(keyOf('user_id', m.previousId)) ?? known.get(keyOf('anonymous_id', m.previousId));
        if (target) {
          link('user_id', m.userId, target.contactId, target.email);
          // previousId is either an earlier userId or an anonymousId: link it as both kinds.
          link('anonymous_id', m.previousId, target.contactId, target.email);
          if (!known.has(keyOf('user_id', m.previousId))) link('user_id', m.previousId, target.contactId, target.email);
        }
      }
      events.push({
        contactId: contactOf(m),
        type: m.type satisfies EventType,
        name: m.name,
        properties: m.properties,
        messageId: m.messageId,
        occurredAt: m.occurredAt,
        anonymousId: m.anonymousId,
        userId: m.userId,
        context: m.context,
      });
    }
    const created = upserted.filter((u) => u.inserted);
    for (const contact of created) events.unshift({ contactId: contact.id, type: 'system', name: 'contact_created', properties: { email: contact.email, source: 'identify' } });

    const linkRows = [...links.values()].sort((x, y) => (`${x.kind}:${x.value}` < `${y.kind}:${y.value}` ? -1 : 1));
    await saveLinks(tx, workspaceId, linkRows, now);
    const recorded = await recordEvents(tx, deps.eventSink, workspaceId, events, now);
    const attributed = await attributeEarlierEvents(tx, workspaceId, linkRows);
    if (upserted.length > 0) {
      await recordAudit(tx, {
        workspaceId,
        actor,
        action: 'contact.identify',
        resourceType: 'contact',
        after: { created: created.map((c) => c.id), updated: upserted.filter((u) => !u.inserted).map((u) => u.id) },
      });
    }
    // Attributed events reach the whole sink like new ones: the engine (which applies its rule for
    // late events, src/campaigns/sink.ts) and the processor's queue (score, segments).
    if (attributed.length > 0) await deps.eventSink.onEvents(tx, attributed);
    const stored = recorded.filter((e) => e.type !== 'system').length;
    return { accepted: messages.length, duplicates: messages.length - stored, errors };
  });
  return result;
}

/**
 * Identify traits that are declared custom fields, converted to their types ("42" → 42); a
 * message with a trait that cannot be converted is refused (MESSAGE_INVALID) and the others go on.
 */
async function typeTraits(q: Queryable, workspaceId: string, messages: ParsedMessage[], errors: MessageError[]): Promise<ParsedMessage[]> {
  const types = await loadFieldTypes(q, workspaceId);
  if (types.size === 0) return messages;
  const kept: ParsedMessage[] = [];
  for (const m of messages) {
    const typed = m.type === 'identify' ? applyFieldTypes(types, m.traits) : null;
    if (typed && 'problem' in typed) {
      const { key, type, message } = typed.problem;
      errors.push({ index: m.index, messageId: m.messageId, code: 'MESSAGE_INVALID', message: `traits.${key} ${message} (a ${type} custom field)` });
      continue;
    }
    // applyFieldTypes returns the same object when it converted nothing.
    kept.push(typed && typed.fields !== m.traits ? { ...m, traits: typed.fields } : m);
  }
  errors.sort((a, b) => a.index - b.index);
  return kept;
}

function mergeUpsert(a: ContactUpsertRow, b: ContactUpsertRow): ContactUpsertRow {
  return { email: a.email, ...fillProfile(b, a), custom_fields: { ...a.custom_fields, ...b.custom_fields } };
}

/**
 * name: load-identities — primary-key lookups of every userId and anonymousId in the batch. The
 * contact's email is only needed to upsert or link (identify, alias); a batch of tracks skips
 * that join.
 */
async function loadIdentities(q: Queryable, workspaceId: string, messages: ParsedMessage[]): Promise<Map<string, { contactId: string; email: string | null }>> {
  const ids = new Set<string>();
  let linking = false;
  for (const m of messages) {
    if (m.userId) ids.add(m.userId);
    if (m.anonymousId) ids.add(m.anonymousId);
    if (m.previousId) ids.add(m.previousId);
    if (m.type === 'identify' || m.type === 'alias') linking = true;
  }
  const result = await q.query<{ kind: IdentityKind; value: string; contact_id: string; email: string | null }>(
    linking
      ? `SELECT ci.kind, ci.value, ci.contact_id, c.email
           FROM contact_identities ci JOIN contacts c ON c.id = ci.contact_id
          WHERE ci.workspace_id = $1 AND ci.kind IN ('user_id', 'anonymous_id') AND ci.value = ANY($2::text[])`
      : `SELECT ci.kind, ci.value, ci.contact_id, NULL::text AS email
           FROM contact_identities ci
          WHERE ci.workspace_id = $1 AND ci.kind IN ('user_id', 'anonymous_id') AND ci.value = ANY($2::text[])`,
    [workspaceId, [...ids]],
  );
  return new Map(result.rows.map((r) => [`${r.kind}:${r.value}`, { contactId: r.contact_id, email: r.email }]));
}

/**
 * name: upsert-contacts-from-traits — one statement for the batch; a known email keeps its values
 * where the traits say nothing, custom fields merge. `xmax = 0` tells a fresh insert from an update.
 */
async function upsertContacts(q: Queryable, workspaceId: string, rows: ContactUpsertRow[], now: Date): Promise<Array<{ id: string; email: string; inserted: boolean }>> {
  if (rows.length === 0) return [];
  const result = await q.query<{ id: string; email: string; inserted: boolean }>(
    `INSERT INTO contacts AS c (workspace_id, email, first_name, last_name, company, job_title, phone, timezone, custom_fields, created_at, updated_at)
     SELECT $1, r.email, r.first_name, r.last_name, r.company, r.job_title, r.phone, r.timezone, COALESCE(r.custom_fields, '{}'::jsonb), $3, $3
       FROM jsonb_to_recordset($2::jsonb) AS r(email text, first_name text, last_name text, company text, job_title text, phone text, timezone text, custom_fields jsonb)
     ON CONFLICT (workspace_id, email) DO UPDATE SET
       ${FILL_PROFILE_ON_CONFLICT},
       custom_fields = c.custom_fields || EXCLUDED.custom_fields,
       updated_at = EXCLUDED.updated_at
     RETURNING id, email, (xmax = 0) AS inserted`,
    [workspaceId, JSON.stringify(rows), now],
  );
  return result.rows;
}

/** name: save-identity-links — the newest identify wins for an id (a shared device changes hands). */
async function saveLinks(q: Queryable, workspaceId: string, links: Link[], now: Date): Promise<void> {
  if (links.length === 0) return;
  await q.query(
    `INSERT INTO contact_identities (workspace_id, kind, value, contact_id, created_at)
     SELECT $1, l.kind, l.value, l.contact_id, $3 FROM jsonb_to_recordset($2::jsonb) AS l(kind text, value text, contact_id uuid)
     ON CONFLICT (workspace_id, kind, value) DO UPDATE SET contact_id = EXCLUDED.contact_id`,
    [workspaceId, JSON.stringify(links), now],
  );
}

/**
 * name: attribute-earlier-events — events stored before their sender was identified get the
 * contact; the partial indexes on unattributed anonymous_id / user_id keep this cheap.
 */
async function attributeEarlierEvents(q: Queryable, workspaceId: string, links: Link[]): Promise<RecordedEvent[]> {
  if (links.length === 0) return [];
  const result = await q.query<{ id: string; contact_id: string; type: EventType; name: string; properties: Record<string, unknown>; occurred_at: Date }>(
    `UPDATE events e SET contact_id = l.contact_id
       FROM jsonb_to_recordset($2::jsonb) AS l(kind text, value text, contact_id uuid)
      WHERE e.workspace_id = $1 AND e.contact_id IS NULL
        AND ((l.kind = 'anonymous_id' AND e.anonymous_id = l.value) OR (l.kind = 'user_id' AND e.user_id = l.value))
      RETURNING e.id, e.contact_id, e.type, e.name, e.properties, e.occurred_at`,
    [workspaceId, JSON.stringify(links)],
  );
  return result.rows.map((r) => ({ id: r.id, workspaceId, contactId: r.contact_id, type: r.type, name: r.name, properties: r.properties, occurredAt: new Date(r.occurred_at), attributedLate: true }));
}

/* ---------- the plain events API ---------- */

export interface TrackInput {
  contactId?: string | undefined;
  email?: string | undefined;
  name: string;
  properties?: Record<string, unknown> | undefined;
  messageId?: string | undefined;
  timestamp?: string | undefined;
}

/** A `track` event for a known contact (by id or email); a repeated messageId is dropped. */
export async function trackEvent(
  deps: TrackingDeps,
  workspaceId: string,
  input: TrackInput,
  now: Date,
): Promise<{ event: { id: string; contactId: string; name: string; occurredAt: string } | null; duplicate: boolean }> {
  const occurredAt = input.timestamp ? new Date(input.timestamp) : now;
  if (Number.isNaN(occurredAt.getTime())) throw new AppError('VALIDATION_FAILED', 'timestamp must be an ISO-8601 date', { field: 'timestamp' });
  if (!input.contactId && !input.email) throw new AppError('VALIDATION_FAILED', 'Send a contactId or an email', { field: 'contactId' });
  return deps.db.transaction(async (tx) => {
    const email = input.email ? parseEmail(input.email) : null;
    if (input.email && !email) throw new AppError('INVALID_EMAIL', `"${input.email.slice(0, 100)}" is not a valid email address`, { field: 'email' });
    const found = await tx.query<{ id: string }>(
      `SELECT id FROM contacts WHERE workspace_id = $1 AND (($2::uuid IS NOT NULL AND id = $2::uuid) OR ($3::text IS NOT NULL AND email = $3))`,
      [workspaceId, input.contactId ?? null, email],
    );
    const contactId = found.rows[0]?.id;
    if (!contactId) throw notFound('Contact');
    const [event] = await recordEvents(tx, deps.eventSink, workspaceId, [{ contactId, type: 'track', name: input.name, properties: input.properties ?? {}, messageId: input.messageId ?? null, occurredAt }], now);
    if (!event) return { event: null, duplicate: true };
    return { event: { id: event.id, contactId, name: event.name, occurredAt: new Date(event.occurredAt).toISOString() }, duplicate: false };
  });
}
