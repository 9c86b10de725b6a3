/**
 * The identity side of Segment ingestion, each step one set-based statement for a whole batch:
 * typing identify traits by the workspace's declared custom fields, looking up userId/anonymousId
 * links, upserting contacts by email, saving new links, and attributing the events sent before
 * their sender was known.
 */
import type { Queryable } from '../db/database.js';
import { FILL_PROFILE_ON_CONFLICT, fillProfile } from '../contacts/contact-model.js';
import { applyFieldTypes, loadFieldTypes } from '../contacts/custom-fields.js';
import type { EventType, RecordedEvent } from '../core/events.js';
import type { ContactUpsertRow, MessageError, ParsedMessage } from './segment-message.js';

export type IdentityKind = 'user_id' | 'anonymous_id';
export interface Link {
  kind: IdentityKind;
  value: string;
  contact_id: string;
}


/**
 * Identify traits that are declared custom fields, converted to their types ("42" → 42); a
 * message with a trait that cannot be converted is refused (MESSAGE_INVALID) and the others go on.
 */
export async function typeTraits(q: Queryable, workspaceId: string, messages: ParsedMessage[], errors: MessageError[]): Promise<ParsedMessage[]> {
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

export function mergeUpsert(a: ContactUpsertRow, b: ContactUpsertRow): ContactUpsertRow {
  return { email: a.email, ...fillProfile(b, a), custom_fields: { ...a.custom_fields, ...b.custom_fields } };
}

/**
 * name: load-identities — primary-key lookups of every userId and anonymousId in the batch. The
 * contact's email is only needed to upsert or link (identify, alias); a batch of tracks skips
 * that join.
 */
export async function loadIdentities(q: Queryable, workspaceId: string, messages: ParsedMessage[]): Promise<Map<string, { contactId: string; email: string | null }>> {
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
          WHERE ci.workspace_id = $1 AND ci.kind IN ('user_id', 'anonymous_id') AND ci.value = ANY((SELECT $2::text[])::text[])`
      : `SELECT ci.kind, ci.value, ci.contact_id, NULL::text AS email
           FROM contact_identities ci
          WHERE ci.workspace_id = $1 AND ci.kind IN ('user_id', 'anonymous_id') AND ci.value = ANY((SELECT $2::text[])::text[])`,
    [workspaceId, [...ids]],
  );
  return new Map(result.rows.map((r) => [`${r.kind}:${r.value}`, { contactId: r.contact_id, email: r.email }]));
}

/**
 * name: upsert-contacts-from-traits — one statement for the batch; a known email keeps its values
 * where the traits say nothing, custom fields merge. `xmax = 0` tells a fresh insert from an update.
 */
export async function upsertContacts(q: Queryable, workspaceId: string, rows: ContactUpsertRow[], now: Date): Promise<Array<{ id: string; email: string; inserted: boolean }>> {
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
export async function saveLinks(q: Queryable, workspaceId: string, links: Link[], now: Date): Promise<void> {
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
export async function attributeEarlierEvents(q: Queryable, workspaceId: string, links: Link[]): Promise<RecordedEvent[]> {
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
