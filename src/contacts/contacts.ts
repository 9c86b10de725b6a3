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
import type { EventSink, NewEvent } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { NO_ENGAGEMENT, scoreInputs, scoreOf } from '../scoring/scoring.js';
import { isUniqueViolation, normalizeTags, requireEmail, requireTimezone, statusRank, toContact } from './contact-model.js';
import { applyFieldTypes, invalidCustomField, loadFieldTypes, type FieldTypes } from './custom-fields.js';
import type { CustomFieldType } from './custom-fields.schemas.js';
import { insertContact, writeContactUpdate, type WritableColumn } from './contact-write.js';
import { randomUUID } from 'node:crypto';

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
type LockedContact = ContactRow & { erased_at: Date | null };

async function lockContact(q: Queryable, workspaceId: string, id: string): Promise<LockedContact> {
  const result = await q.query<LockedContact>(`SELECT ${CONTACT_COLUMNS}, erased_at FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Contact');
  return row;
}

/** lockContact that also reads the workspace's custom field types (one round trip for both). */
async function lockContactWithFieldTypes(q: Queryable, workspaceId: string, id: string): Promise<{ row: LockedContact; types: FieldTypes }> {
  const result = await q.query<LockedContact & { field_types: Array<[string, CustomFieldType]> }>(
    `SELECT ${CONTACT_COLUMNS}, erased_at,
            (SELECT COALESCE(json_agg(json_build_array(key, type)), '[]'::json) FROM custom_field_definitions WHERE workspace_id = $1) AS field_types
       FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
    [workspaceId, id],
  );
  const found = result.rows[0];
  if (!found) throw notFound('Contact');
  const { field_types: fieldTypes, ...row } = found;
  return { row, types: new Map(fieldTypes) };
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
  return typedFields(await loadFieldTypes(q, workspaceId), fields);
}

/** typedCustomFields with the workspace's field types in hand (read with the contact's lock). */
function typedFields(types: FieldTypes | null, fields: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(fields).length === 0) return fields;
  if (!types) throw new Error('custom fields given without their field types');
  const typed = applyFieldTypes(types, fields);
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
    const id = randomUUID();
    const stored: ContactRow = {
      id,
      email,
      first_name: input.firstName ?? null,
      last_name: input.lastName ?? null,
      company: input.company ?? null,
      job_title: input.jobTitle ?? null,
      phone: input.phone ?? null,
      status: input.status ?? 'prospect',
      tags,
      custom_fields: customFields,
      timezone: input.timezone ?? null,
      subscription_state: input.subscriptionState ?? 'subscribed',
      score: scoreOf(inputs),
      score_inputs: inputs,
      last_activity_at: null,
      created_at: now,
      updated_at: now,
    };
    const events: NewEvent[] = [{ contactId: id, type: 'system', name: 'contact_created', properties: { email, source: actor.type } }];
    for (const tag of tags) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
    const audit = { workspaceId, actor, action: 'contact.create', resourceType: 'contact', resourceId: id, after: toContact(stored) } as const;
    const row = await insertContact(tx, deps.eventSink, workspaceId, stored, events, audit);
    if (!row) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
    return toContact(row);
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
  if (patch.email !== undefined) requireEmail(patch.email);
  requireTimezone(patch.timezone);
  const withFieldTypes = patch.customFields !== undefined && Object.keys(patch.customFields).length > 0;
  return updateLockedContact(deps, workspaceId, actor, id, () => patch, withFieldTypes);
}

/**
 * updateContact of the patch `patchOf` makes from the contact as locked in the transaction, so
 * changes relative to the stored row (adding or removing a tag) never lose a concurrent one.
 * Nothing is written (no event, no audit entry, updated_at kept) when the patch changes nothing.
 */
async function updateLockedContact(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, patchOf: (current: ContactRow) => ContactPatch, withFieldTypes = false): Promise<Contact> {
  return deps.db.transaction(async (tx) => {
    const { row: before, types } = withFieldTypes ? await lockContactWithFieldTypes(tx, workspaceId, id) : { row: await lockContact(tx, workspaceId, id), types: null };
    const patch = patchOf(before);
    const email = patch.email === undefined ? undefined : requireEmail(patch.email);
    requireTimezone(patch.timezone);
    if (before.erased_at) throw new AppError('CONTACT_ERASED', 'This contact was erased; its personal data is gone and it cannot be edited');
    if (patch.status && !patch.force && statusRank(patch.status) < statusRank(before.status)) {
      throw new AppError('CONTACT_STATUS_REGRESSION', `Status cannot move back from ${before.status} to ${patch.status}; send "force": true to do so on purpose`, { from: before.status, to: patch.status });
    }
    const set: Partial<Record<WritableColumn, unknown>> = {};
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [field, column] of Object.entries(FIELD_COLUMNS) as Array<[keyof typeof FIELD_COLUMNS, WritableColumn]>) {
      const value = field === 'email' ? email : patch[field];
      if (value === undefined) continue;
      const current = (before as unknown as Record<string, unknown>)[column];
      if (value !== current) {
        set[column] = value;
        changes[field] = { from: current, to: value };
      }
    }
    let customFields = before.custom_fields;
    if (patch.customFields) {
      customFields = { ...before.custom_fields };
      for (const [key, value] of Object.entries(typedFields(types, patch.customFields))) {
        if (value === null) delete customFields[key];
        else customFields[key] = value;
      }
      if (JSON.stringify(customFields) !== JSON.stringify(before.custom_fields)) {
        changes.customFields = { from: before.custom_fields, to: customFields };
        set.custom_fields = customFields;
      }
    }
    const tags = patch.tags ? normalizeTags(patch.tags) : before.tags;
    const added = tags.filter((t) => !before.tags.includes(t));
    const removed = before.tags.filter((t) => !tags.includes(t));
    const { erased_at: _erased, ...current } = before;
    if (Object.keys(changes).length === 0 && added.length === 0 && removed.length === 0) return toContact(current);
    if (added.length > 0 || removed.length > 0) set.tags = tags;

    const events: NewEvent[] = [];
    if (Object.keys(changes).length > 0) events.push({ contactId: id, type: 'system', name: 'field_updated', properties: { changes } });
    for (const tag of added) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
    for (const tag of removed) events.push({ contactId: id, type: 'system', name: 'tag_removed', properties: { tag } });
    const after: ContactRow = { ...current, ...(set as Partial<ContactRow>), updated_at: deps.clock.now() };
    try {
      const row = await writeContactUpdate(tx, deps.eventSink, {
        workspaceId,
        id,
        set,
        now: after.updated_at,
        events,
        audit: { workspaceId, actor, action: 'contact.update', resourceType: 'contact', resourceId: id, before: toContact(current), after: toContact(after) },
      });
      return toContact(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
      throw error;
    }
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

/** Adds tags (already present ones are ignored) to the stored set; records tag_added for each new one. */
export async function addTags(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tags: string[]): Promise<Contact> {
  const adding = normalizeTags(tags);
  return updateLockedContact(deps, workspaceId, actor, id, (current) => ({ tags: [...current.tags, ...adding] }));
}

export async function removeTag(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tag: string): Promise<Contact> {
  const removing = tag.trim();
  return updateLockedContact(deps, workspaceId, actor, id, (current) => ({ tags: current.tags.filter((t) => t !== removing) }));
}
