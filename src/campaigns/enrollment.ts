/**
 * Enrollment: contacts entering a campaign's current version under its re-entry rule (in the
 * caller's transaction, for triggers), by hand from the API, and the operator's controls on one
 * enrollment (retry a failed one, pause, resume).
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { ENROLLMENTS_CHANNEL, type CampaignDeps, type CampaignStatus, type EnrollmentStatus } from './campaign-rows.js';
import type { CampaignDefinition } from './definition.js';

export interface EnrollResult {
  contactId: string;
  status: 'enrolled' | 'already_enrolled' | 'reentry_refused' | 'contact_not_found';
  enrollmentId?: string;
}

/**
 * Enrolls contacts into the campaign's current version, in the caller's transaction (so a
 * trigger enrolls in the transaction that stored its event). The re-entry rule and the
 * one-running-journey index decide who may enter; the rest get a per-contact reason.
 */
export interface EnrollmentEntry {
  contactId: string;
  /** The event that started the journey (its properties are `event` in templates). */
  entryEvent: Record<string, unknown> | null;
}

export async function enrollContacts(
  q: Queryable,
  workspaceId: string,
  campaignId: string,
  entries: EnrollmentEntry[],
  now: Date,
  /** The active campaign's current version, when the caller has just read it in this transaction. */
  known?: { version: number; definition: CampaignDefinition },
): Promise<EnrollResult[]> {
  const campaign = known
    ? { rows: [{ status: 'active' as CampaignStatus, current_version: known.version, definition: known.definition }] }
    : await q.query<{ status: CampaignStatus; current_version: number | null; definition: CampaignDefinition | null }>(
        `SELECT c.status, c.current_version, v.definition
           FROM campaigns c LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version
          WHERE c.workspace_id = $1 AND c.id = $2`,
        [workspaceId, campaignId],
      );
  const row = campaign.rows[0];
  if (!row) throw notFound('Campaign');
  if (row.status !== 'active' || row.current_version === null || !row.definition) {
    throw new AppError('CAMPAIGN_NOT_ACTIVE', `Contacts can only enter an active (published, not paused) campaign; this one is ${row.status}`);
  }
  const reentry = row.definition.settings?.reentry ?? { mode: 'never' as const };
  const firstByContact = new Map<string, EnrollmentEntry>();
  for (const entry of entries) if (!firstByContact.has(entry.contactId)) firstByContact.set(entry.contactId, entry);
  const unique = [...firstByContact.values()];
  // name: insertEnrollments — the NOT EXISTS applies the re-entry rule; ON CONFLICT covers a
  // concurrent enrollment of the same contact (enrollments_one_active_key).
  const inserted = await q.query<{ id: string; contact_id: string }>(
    `INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, entry_event, enrolled_at, updated_at)
     SELECT $1, $2, $3, c.id, $4, $5, x.entry_event, $5, $5
       FROM jsonb_to_recordset($6::jsonb) AS x(contact_id uuid, entry_event jsonb)
       JOIN contacts c ON c.id = x.contact_id AND c.workspace_id = $1
      WHERE NOT EXISTS (
          SELECT 1 FROM enrollments e
           WHERE e.campaign_id = $2 AND e.contact_id = c.id
             AND (e.status IN ('active', 'paused', 'failed')
                  OR $7 = 'never'
                  OR ($7 = 'after' AND e.enrolled_at > $5::timestamptz - make_interval(days => $8::int))))
     ON CONFLICT (campaign_id, contact_id) WHERE status IN ('active', 'paused', 'failed') DO NOTHING
     RETURNING id, contact_id`,
    [workspaceId, campaignId, row.current_version, row.definition.entryNodeId, now, JSON.stringify(unique.map((u) => ({ contact_id: u.contactId, entry_event: u.entryEvent }))), reentry.mode, reentry.days ?? 0],
  );
  const byContact = new Map(inserted.rows.map((r) => [r.contact_id, r.id]));
  const missing = unique.map((u) => u.contactId).filter((id) => !byContact.has(id));
  const reasons = new Map<string, EnrollResult['status']>();
  if (missing.length > 0) {
    const known = await q.query<{ id: string; running: boolean }>(
      `SELECT c.id, EXISTS (SELECT 1 FROM enrollments e WHERE e.campaign_id = $2 AND e.contact_id = c.id AND e.status IN ('active', 'paused', 'failed')) AS running
         FROM contacts c WHERE c.workspace_id = $1 AND c.id = ANY($3::uuid[])`,
      [workspaceId, campaignId, missing],
    );
    for (const k of known.rows) reasons.set(k.id, k.running ? 'already_enrolled' : 'reentry_refused');
  }
  if (inserted.rows.length > 0) await q.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, campaignId]);
  return unique.map(({ contactId }) => {
    const enrollmentId = byContact.get(contactId);
    if (enrollmentId) return { contactId, status: 'enrolled', enrollmentId };
    return { contactId, status: reasons.get(contactId) ?? 'contact_not_found' };
  });
}

/** Manual enrollment from the API: refused as a whole only when nobody could enter. */
export async function enrollManually(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, contactIds: string[]): Promise<EnrollResult[]> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const results = await enrollContacts(tx, workspaceId, campaignId, contactIds.map((contactId) => ({ contactId, entryEvent: null })), now);
    const enrolled = results.filter((r) => r.status === 'enrolled');
    if (enrolled.length === 0) {
      if (results.every((r) => r.status === 'contact_not_found')) throw new AppError('ENROLLMENT_CONTACTS_NOT_FOUND', 'None of the contacts exist in this workspace', results);
      throw new AppError('ENROLLMENT_REFUSED', 'No contact could enter: each is already in the campaign or the re-entry rule refuses it', results);
    }
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.enroll', resourceType: 'campaign', resourceId: campaignId, after: { enrolled: enrolled.map((r) => r.contactId) } });
    return results;
  });
}

/** Moves a failed enrollment back to active, due now, with a fresh attempt count. */
export async function retryEnrollment(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, enrollmentId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const result = await tx.query<{ status: EnrollmentStatus }>(
      'SELECT status FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND id = $3 FOR UPDATE',
      [workspaceId, campaignId, enrollmentId],
    );
    const row = result.rows[0];
    if (!row) throw notFound('Enrollment');
    if (row.status !== 'failed') throw new AppError('ENROLLMENT_NOT_FAILED', `Only a failed enrollment can be retried; this one is ${row.status}`);
    await tx.query(`UPDATE enrollments SET status = 'active', attempts = 0, next_run_at = $2, updated_at = $2 WHERE id = $1`, [enrollmentId, now]);
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.enrollment.retry', resourceType: 'enrollment', resourceId: enrollmentId, before: { status: 'failed' }, after: { status: 'active' } });
    await tx.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, campaignId]);
  });
}

/** Pauses one running enrollment (it keeps its node and due time) or resumes a paused one. */
export async function setEnrollmentPaused(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, enrollmentId: string, paused: boolean): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    // A row the engine holds is changed after its batch commits.
    const result = await tx.query<{ status: EnrollmentStatus }>('SELECT status FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND id = $3 FOR UPDATE', [workspaceId, campaignId, enrollmentId]);
    const row = result.rows[0];
    if (!row) throw notFound('Enrollment');
    const from: EnrollmentStatus = paused ? 'active' : 'paused';
    if (row.status !== from) throw new AppError('ENROLLMENT_STATE_CONFLICT', `Only ${paused ? 'a running' : 'a paused'} enrollment can be ${paused ? 'paused' : 'resumed'}; this one is ${row.status}`);
    await tx.query('UPDATE enrollments SET status = $2, updated_at = $3 WHERE id = $1', [enrollmentId, paused ? 'paused' : 'active', now]);
    await recordAudit(tx, { workspaceId, actor, action: `campaign.enrollment.${paused ? 'pause' : 'resume'}`, resourceType: 'enrollment', resourceId: enrollmentId, before: { status: row.status }, after: { status: paused ? 'paused' : 'active' } });
    if (!paused) await tx.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, campaignId]);
  });
}
