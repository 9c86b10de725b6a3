/**
 * Contacts: the people a workspace markets to — create, read, update, delete and tag one contact.
 * Every mutation runs in one transaction with its audit entry and its events (contact_created,
 * tag_added, tag_removed, field_updated), so the campaign engine sees exactly what was stored.
 * Emails are normalized (trimmed, lower-cased) and unique per workspace; status only moves forward
 * (prospect → lead → customer) unless forced. Listing is contact-list.ts, the timeline timeline.ts.
 */
import type { Database, Queryable } from '../db/database.js';
import { CONTACT_COLUMNS, type ContactRow } from '../core/contact.js';
import type { Contact, ContactStatus, SubscriptionState } from '../core/contact.schemas.js';
import { recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { NO_ENGAGEMENT, scoreInputs, scoreOf } from '../scoring/scoring.js';
import { isUniqueViolation, normalizeTags, requireEmail, requireTimezone, statusRank, toContact } from './contact-model.js';
import { applyFieldTypes, invalidCustomField, loadFieldTypes } from './custom-fields.js';

/** The writable fields; strings may be null to clear them (email excepted). */
export interface ContactFields {
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  jobTitle?: string | null;
  phone?: string | null;
  status?: ContactStatus;
  tags?: string[];
  customFields?: Record<string, unknown>;
  timezone?: string | null;
  subscriptionState?: SubscriptionState;
}

export interface ContactsDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}
async function lockContact(q: Queryable, workspaceId: string, id: string): Promise<ContactRow & { erased_at: Date | null }> {
  const result = await q.query<ContactRow & { erased_at: Date | null }>(`SELECT ${CONTACT_COLUMNS}, erased_at FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Contact');
  return row;
}

export async function getContact(q: Queryable, workspaceId: string, id: string): Promise<Contact> {
  const result = await q.query<ContactRow>(`SELECT ${CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Contact');
  return toContact(row);
}

/** Custom field values converted to their declared types (400 INVALID_CUSTOM_FIELD when one does not fit). */
async function typedCustomFields(q: Queryable, workspaceId: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (Object.keys(fields).length === 0) return fields;
  const typed = applyFieldTypes(await loadFieldTypes(q, workspaceId), fields);
  if ('problem' in typed) throw invalidCustomField(typed.problem);
  return typed.fields;
}

export async function createContact(deps: ContactsDeps, workspaceId: string, actor: Actor, input: ContactFields & { email: string }): Promise<Contact> {
  const email = requireEmail(input.email);
  requireTimezone(input.timezone);
  const tags = normalizeTags(input.tags ?? []);
  const now = deps.clock.now();
  // The first score (role and status, no engagement yet) is written with the contact, as import
  // does; later changes reach the score through the event processor.
  const inputs = scoreInputs({ jobTitle: input.jobTitle ?? null, status: input.status ?? 'prospect' }, NO_ENGAGEMENT);
  return deps.db.transaction(async (tx) => {
    const customFields = await typedCustomFields(tx, workspaceId, input.customFields ?? {});
    // ON CONFLICT DO NOTHING: a duplicate returns no row instead of aborting the transaction.
    const inserted = await tx.query<ContactRow>(
      `INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, subscription_state, score, score_inputs, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $13, $13)
       ON CONFLICT (workspace_id, email) DO NOTHING
       RETURNING ${CONTACT_COLUMNS}`,
      [
        workspaceId,
        email,
        input.firstName ?? null,
        input.lastName ?? null,
        input.company ?? null,
        input.jobTitle ?? null,
        input.phone ?? null,
        input.status ?? 'prospect',
        tags,
        JSON.stringify(customFields),
        input.timezone ?? null,
        input.subscriptionState ?? 'subscribed',
        now,
        scoreOf(inputs),
        JSON.stringify(inputs),
      ],
    );
    const row = inserted.rows[0];
    if (!row) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
    const events: NewEvent[] = [{ contactId: row.id, type: 'system', name: 'contact_created', properties: { email, source: actor.type } }];
    for (const tag of tags) events.push({ contactId: row.id, type: 'system', name: 'tag_added', properties: { tag } });
    await recordEvents(tx, deps.eventSink, workspaceId, events, now);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.create', resourceType: 'contact', resourceId: row.id, after: toContact(row) });
    return getContact(tx, workspaceId, row.id);
  });
}

const FIELD_COLUMNS = {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  company: 'company',
  jobTitle: 'job_title',
  phone: 'phone',
  status: 'status',
  timezone: 'timezone',
  subscriptionState: 'subscription_state',
} as const;

export interface ContactPatch extends ContactFields {
  /** Allows moving status backwards (customer → lead, …). */
  force?: boolean;
}

/**
 * Applies a partial update. `tags` replaces the set (recording tag_added/tag_removed for the
 * difference); `customFields` merges shallowly and a null value removes that key.
 */
export async function updateContact(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, patch: ContactPatch): Promise<Contact> {
  const email = patch.email === undefined ? undefined : requireEmail(patch.email);
  requireTimezone(patch.timezone);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await lockContact(tx, workspaceId, id);
    if (before.erased_at) throw new AppError('CONTACT_ERASED', 'This contact was erased; its personal data is gone and it cannot be edited');
    if (patch.status && !patch.force && statusRank(patch.status) < statusRank(before.status)) {
      throw new AppError('CONTACT_STATUS_REGRESSION', `Status cannot move back from ${before.status} to ${patch.status}; send "force": true to do so on purpose`, { from: before.status, to: patch.status });
    }
    const next: Record<string, unknown> = {};
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [field, column] of Object.entries(FIELD_COLUMNS) as Array<[keyof typeof FIELD_COLUMNS, string]>) {
      const value = field === 'email' ? email : patch[field];
      if (value === undefined) continue;
      const current = (before as unknown as Record<string, unknown>)[column];
      if (value !== current) {
        next[column] = value;
        changes[field] = { from: current, to: value };
      }
    }
    let customFields = before.custom_fields;
    if (patch.customFields) {
      customFields = { ...before.custom_fields };
      for (const [key, value] of Object.entries(await typedCustomFields(tx, workspaceId, patch.customFields))) {
        if (value === null) delete customFields[key];
        else customFields[key] = value;
      }
      if (JSON.stringify(customFields) !== JSON.stringify(before.custom_fields)) changes.customFields = { from: before.custom_fields, to: customFields };
    }
    const tags = patch.tags ? normalizeTags(patch.tags) : before.tags;
    const added = tags.filter((t) => !before.tags.includes(t));
    const removed = before.tags.filter((t) => !tags.includes(t));
    if (Object.keys(changes).length === 0 && added.length === 0 && removed.length === 0) return toContact(before);

    let row: ContactRow;
    try {
      const updated = await tx.query<ContactRow>(
        `UPDATE contacts SET email = $3, first_name = $4, last_name = $5, company = $6, job_title = $7, phone = $8, status = $9,
                timezone = $10, subscription_state = $11, custom_fields = $12, tags = $13, updated_at = $14
          WHERE workspace_id = $1 AND id = $2
          RETURNING ${CONTACT_COLUMNS}`,
        [
          workspaceId,
          id,
          next.email ?? before.email,
          'first_name' in next ? next.first_name : before.first_name,
          'last_name' in next ? next.last_name : before.last_name,
          'company' in next ? next.company : before.company,
          'job_title' in next ? next.job_title : before.job_title,
          'phone' in next ? next.phone : before.phone,
          next.status ?? before.status,
          'timezone' in next ? next.timezone : before.timezone,
          next.subscription_state ?? before.subscription_state,
          JSON.stringify(customFields),
          tags,
          now,
        ],
      );
      row = updated.rows[0]!;
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
      throw error;
    }
    const events: NewEvent[] = [];
    if (Object.keys(changes).length > 0) events.push({ contactId: id, type: 'system', name: 'field_updated', properties: { changes } });
    for (const tag of added) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
    for (const tag of removed) events.push({ contactId: id, type: 'system', name: 'tag_removed', properties: { tag } });
    await recordEvents(tx, deps.eventSink, workspaceId, events, now);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.update', resourceType: 'contact', resourceId: id, before: toContact(before), after: toContact(row) });
    return getContact(tx, workspaceId, id);
  });
}

export async function deleteContact(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const before = await lockContact(tx, workspaceId, id);
    await tx.query(`DELETE FROM contacts WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
    // events.contact_id is no foreign key (migration 083): the contact's events go here.
    await tx.query(`DELETE FROM events WHERE workspace_id = $1 AND contact_id = $2`, [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.delete', resourceType: 'contact', resourceId: id, before: toContact(before) });
  });
}

/** Adds tags (already present ones are ignored); records tag_added for each new one. */
export async function addTags(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tags: string[]): Promise<Contact> {
  const current = await getContact(deps.db, workspaceId, id);
  return updateContact(deps, workspaceId, actor, id, { tags: [...current.tags, ...normalizeTags(tags)] });
}

export async function removeTag(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tag: string): Promise<Contact> {
  const current = await getContact(deps.db, workspaceId, id);
  return updateContact(deps, workspaceId, actor, id, { tags: current.tags.filter((t) => t !== tag.trim()) });
}

