/**
 * Merging a duplicate contact into the one to keep, in one transaction: the kept contact's own
 * values win and empty fields are filled from the duplicate; tags are united; status takes the
 * further of the two; unsubscribed wins over subscribed. Everything that pointed at the duplicate
 * — events, messages, identities, static-segment memberships, engagement counters, score
 * adjustments, enrollments — moves to the kept contact (an enrollment that would run twice in one
 * campaign exits instead), and the duplicate is deleted. A `contacts_merged` event lets the lead
 * score and dynamic segments re-evaluate the kept contact.
 */
import { recordEvents } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { ADD_ENGAGEMENT_ON_CONFLICT } from '../scoring/scoring.js';
import { CONTACT_COLUMNS, type ContactRow } from '../core/contact.js';
import type { Contact } from '../core/contact.schemas.js';
import { fillProfile, statusRank, toContact } from './contact-model.js';
import { getContact, type ContactsDeps } from './contacts.js';

export async function mergeContacts(deps: ContactsDeps, workspaceId: string, actor: Actor, keepId: string, duplicateId: string): Promise<Contact> {
  if (keepId === duplicateId) {
    throw new AppError('VALIDATION_FAILED', 'A contact cannot be merged into itself', [{ path: '/duplicateId', message: 'must differ from the contact kept' }]);
  }
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    // Locked in id order, so two merges of the same pair cannot deadlock.
    const locked = await tx.query<ContactRow & { erased_at: Date | null; score_adjustment: number }>(
      `SELECT ${CONTACT_COLUMNS}, erased_at, score_adjustment FROM contacts
        WHERE workspace_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`,
      [workspaceId, [keepId, duplicateId]],
    );
    const keep = locked.rows.find((r) => r.id === keepId);
    const duplicate = locked.rows.find((r) => r.id === duplicateId);
    if (!keep || !duplicate) throw notFound('Contact');
    if (keep.erased_at || duplicate.erased_at) throw new AppError('CONTACT_ERASED', 'An erased contact cannot be merged');

    const filled = fillProfile(keep, duplicate);
    const status = statusRank(duplicate.status) > statusRank(keep.status) ? duplicate.status : keep.status;
    const subscription = keep.subscription_state === 'unsubscribed' || duplicate.subscription_state === 'unsubscribed' ? 'unsubscribed' : 'subscribed';
    await tx.query(
      `UPDATE contacts
          SET first_name = $3, last_name = $4, company = $5, job_title = $6, phone = $7, timezone = $8,
              status = $9, subscription_state = $10,
              tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || $11::text[]) AS t ORDER BY t),
              custom_fields = $12::jsonb || custom_fields,
              score_adjustment = score_adjustment + $13, updated_at = $14
        WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, keepId, filled.first_name, filled.last_name, filled.company, filled.job_title, filled.phone, filled.timezone, status, subscription, duplicate.tags, JSON.stringify(duplicate.custom_fields), duplicate.score_adjustment, now],
    );
    for (const table of ['events', 'messages', 'contact_identities']) {
      await tx.query(`UPDATE ${table} SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2`, [workspaceId, duplicateId, keepId]);
    }
    await tx.query(
      `INSERT INTO segment_members (segment_id, contact_id, workspace_id, added_at)
       SELECT m.segment_id, $3, m.workspace_id, m.added_at
         FROM segment_members m JOIN segments s ON s.id = m.segment_id AND s.kind = 'static'
        WHERE m.workspace_id = $1 AND m.contact_id = $2
       ON CONFLICT (segment_id, contact_id) DO NOTHING`,
      [workspaceId, duplicateId, keepId],
    );
    await tx.query(
      `INSERT INTO contact_engagement AS ce (contact_id, workspace_id, opens, clicks, replies, activity, sentiment_sum, sentiment_count, max_intent, intent_reason, last_activity_at, updated_at)
       SELECT $3, workspace_id, opens, clicks, replies, activity, sentiment_sum, sentiment_count, max_intent, intent_reason, last_activity_at, $4
         FROM contact_engagement WHERE workspace_id = $1 AND contact_id = $2
       ${ADD_ENGAGEMENT_ON_CONFLICT}`,
      [workspaceId, duplicateId, keepId, now],
    );
    // One running enrollment per campaign and contact: the duplicate's exits where the kept contact already runs.
    await tx.query(
      `UPDATE enrollments SET status = 'exited', exit_reason = 'contact_merged', updated_at = $4
        WHERE workspace_id = $1 AND contact_id = $2 AND status IN ('active', 'paused', 'failed')
          AND campaign_id IN (SELECT campaign_id FROM enrollments WHERE workspace_id = $1 AND contact_id = $3 AND status IN ('active', 'paused', 'failed'))`,
      [workspaceId, duplicateId, keepId, now],
    );
    await tx.query('UPDATE enrollments SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2', [workspaceId, duplicateId, keepId]);
    await tx.query('DELETE FROM contacts WHERE workspace_id = $1 AND id = $2', [workspaceId, duplicateId]);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.merge', resourceType: 'contact', resourceId: keepId, before: { kept: toContact(keep), duplicate: toContact(duplicate) } });
    await recordEvents(tx, deps.eventSink, workspaceId, [{ contactId: keepId, type: 'system', name: 'contacts_merged', properties: { duplicateId, duplicateEmail: duplicate.email } }], now);
  });
  return getContact(deps.db, workspaceId, keepId);
}
