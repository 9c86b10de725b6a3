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
 * Parsing one message is segment-message.ts; the identity statements are segment-identity.ts.
 */
import type { Database } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import { auditValues, insertAuditSql, type Actor, type AuditEntry } from '../identity/audit.js';
import { deliverEvents, eventBatch, insertEventsSql, type EventSink, type EventType, type NewEvent } from '../core/events.js';
import { attributeEarlierEvents, loadIdentities, mergeUpsert, saveLinks, typeTraits, upsertContacts, type IdentityKind, type Link } from './segment-identity.js';
import { contactFromTraits, isObject, KNOWN_TRAITS, parseMessage, Refused, type ContactUpsertRow, type MessageError, type MessageType, type ParsedMessage } from './segment-message.js';

export interface TrackingDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}

export interface IngestResult {
  accepted: number;
  /** Accepted messages whose messageId had been seen before (dropped as duplicates). */
  duplicates: number;
  errors: MessageError[];
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
  options: { implied: MessageType | null; batchSentAt?: unknown; batchContext?: unknown },
): Promise<IngestResult> {
  const now = deps.clock.now();
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
    // The audit entry of the contacts the batch created or updated is stored by the events'
    // statement (one round trip less), before the sink sees the events.
    const audit: AuditEntry | null =
      upserted.length > 0
        ? { workspaceId, actor, action: 'contact.identify', resourceType: 'contact', after: { created: created.map((c) => c.id), updated: upserted.filter((u) => !u.inserted).map((u) => u.id) } }
        : null;
    const batch = eventBatch(events);
    const inserted = await tx.query<{ event_ids: string[] }>(
      `WITH e AS (${insertEventsSql('$1', '$2', '$3')})${audit ? `, a AS (${insertAuditSql(4)})` : ''}
       SELECT ARRAY(SELECT id::text FROM e) AS event_ids`,
      [workspaceId, batch.payload, now, ...(audit ? auditValues(audit) : [])],
    );
    const recorded = await deliverEvents(tx, deps.eventSink, workspaceId, events, batch, inserted.rows[0]!.event_ids, now);
    const attributed = await attributeEarlierEvents(tx, workspaceId, linkRows);
    // Attributed events reach the whole sink like new ones: the engine (which applies its rule for
    // late events, src/campaigns/sink.ts) and the processor's queue (score, segments).
    if (attributed.length > 0) await deps.eventSink.onEvents(tx, attributed);
    const stored = recorded.filter((e) => e.type !== 'system').length;
    return { accepted: messages.length, duplicates: messages.length - stored, errors };
  });
  return result;
}
