/**
 * Campaign storage and the domain operations routes call: drafts, publishing (immutable
 * versions), status changes, enrollment with re-entry rules, retries, metrics and journeys.
 * Every function takes the workspace id; no query reads across workspaces.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { missingTopics } from '../email/topics.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { goalEventOf, goalSegmentOf, requiredSegmentsOf, type CampaignDefinition } from './definition.js';
import { validateDefinition } from './validator.js';
import { stepDeliverySql, toStepDelivery } from '../contacts/timeline.js';
import type { StepDelivery } from '../contacts/contacts.schemas.js';
import { webhookHostIssues } from './webhook-urls.js';
import type { DnsResolver } from './webhooks.js';

export const ENROLLMENTS_CHANNEL = 'campaign_enrollments_due';

export type CampaignStatus = 'draft' | 'active' | 'paused' | 'archived';
export type EnrollmentStatus = 'active' | 'paused' | 'completed' | 'exited' | 'failed';

export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  currentVersion: number | null;
  createdAt: string;
  updatedAt: string;
}

interface CampaignRow {
  id: string;
  name: string;
  status: CampaignStatus;
  current_version: number | null;
  draft_definition: CampaignDefinition;
  created_at: Date;
  updated_at: Date;
}

function toCampaign(row: CampaignRow): Campaign {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    currentVersion: row.current_version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Throws CAMPAIGN_INVALID listing every problem, each with node and field. With `dns` (saving a
 * draft), webhook hosts are also resolved and refused when not public (webhook-urls.ts).
 */
export async function assertValidDefinition(definition: unknown, dns?: DnsResolver): Promise<CampaignDefinition> {
  let issues = await validateDefinition(definition);
  if (issues.length === 0 && dns) issues = await webhookHostIssues(definition as CampaignDefinition, dns);
  if (issues.length > 0) {
    throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId ?? 'definition'} ${issues[0]!.field} ${issues[0]!.message}`, issues);
  }
  return definition as CampaignDefinition;
}

/** The workspace-dependent rule: every segment the definition names exists in this workspace. */
export async function assertSegmentsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const required = requiredSegmentsOf(definition);
  if (required.length === 0) return;
  const found = await q.query<{ id: string }>('SELECT id FROM segments WHERE workspace_id = $1 AND id = ANY($2::uuid[])', [workspaceId, required.map((r) => r.segmentId)]);
  const existing = new Set(found.rows.map((r) => r.id));
  const issues = required.filter((r) => !existing.has(r.segmentId)).map((r) => ({ nodeId: r.nodeId, field: r.field, message: `no segment ${r.segmentId} in this workspace` }));
  if (issues.length > 0) throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId ?? 'settings'} ${issues[0]!.field} ${issues[0]!.message}`, issues);
}

/** Every subscription topic an email node or an email_event trigger names exists in this workspace. */
export async function assertTopicsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const required = definition.nodes.flatMap((n) => {
    const topicId = n.type === 'email' ? n.config.topicId : n.type === 'trigger' && n.config.kind === 'email_event' ? n.config.topicId : undefined;
    return topicId ? [{ nodeId: n.id, topicId }] : [];
  });
  const issues = await missingTopics(q, workspaceId, required);
  if (issues.length > 0) throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId} ${issues[0]!.field} ${issues[0]!.message}`, issues);
}

const CAMPAIGN_COLUMNS = 'id, name, status, current_version, draft_definition, created_at, updated_at';

async function loadCampaignRow(q: Queryable, workspaceId: string, campaignId: string, lock = false): Promise<CampaignRow> {
  const result = await q.query<CampaignRow>(
    `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [workspaceId, campaignId],
  );
  const row = result.rows[0];
  if (!row) throw notFound('Campaign');
  return row;
}

export async function listCampaigns(q: Queryable, workspaceId: string): Promise<Campaign[]> {
  const result = await q.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 ORDER BY created_at DESC, id`, [workspaceId]);
  return result.rows.map(toCampaign);
}

export async function createCampaign(db: Database, workspaceId: string, actor: Actor, name: string, definition: unknown, now: Date, dns?: DnsResolver): Promise<Campaign> {
  const valid = await assertValidDefinition(definition, dns);
  return db.transaction(async (tx) => {
    await assertSegmentsExist(tx, workspaceId, valid);
    await assertTopicsExist(tx, workspaceId, valid);
    const result = await tx.query<CampaignRow>(
      `INSERT INTO campaigns (workspace_id, name, draft_definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING ${CAMPAIGN_COLUMNS}`,
      [workspaceId, name, JSON.stringify(valid), now],
    );
    const campaign = toCampaign(result.rows[0]!);
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.create', resourceType: 'campaign', resourceId: campaign.id, after: { name, definition: valid } });
    return campaign;
  });
}

export async function getCampaign(q: Queryable, workspaceId: string, campaignId: string): Promise<{ campaign: Campaign; definition: CampaignDefinition }> {
  const row = await loadCampaignRow(q, workspaceId, campaignId);
  return { campaign: toCampaign(row), definition: row.draft_definition };
}

export async function updateCampaign(db: Database, workspaceId: string, actor: Actor, campaignId: string, change: { name?: string; definition: unknown }, now: Date, dns?: DnsResolver): Promise<Campaign> {
  const valid = await assertValidDefinition(change.definition, dns);
  return db.transaction(async (tx) => {
    const before = await loadCampaignRow(tx, workspaceId, campaignId, true);
    if (before.status === 'archived') throw new AppError('CAMPAIGN_ARCHIVED', 'An archived campaign cannot be edited');
    await assertSegmentsExist(tx, workspaceId, valid);
    await assertTopicsExist(tx, workspaceId, valid);
    const result = await tx.query<CampaignRow>(
      `UPDATE campaigns SET name = COALESCE($3, name), draft_definition = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2 RETURNING ${CAMPAIGN_COLUMNS}`,
      [workspaceId, campaignId, change.name ?? null, JSON.stringify(valid), now],
    );
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.update', resourceType: 'campaign', resourceId: campaignId, before: { name: before.name, definition: before.draft_definition }, after: { name: result.rows[0]!.name, definition: valid } });
    return toCampaign(result.rows[0]!);
  });
}

/** Freezes the draft as the next version and makes the campaign active. */
export async function publishCampaign(db: Database, workspaceId: string, actor: Actor, campaignId: string, now: Date): Promise<Campaign> {
  return db.transaction(async (tx) => {
    const row = await loadCampaignRow(tx, workspaceId, campaignId, true);
    if (row.status === 'archived') throw new AppError('CAMPAIGN_ARCHIVED', 'An archived campaign cannot be published');
    // The stored draft was valid when saved; validation rules may have grown since.
    const definition = await assertValidDefinition(row.draft_definition);
    await assertSegmentsExist(tx, workspaceId, definition);
    await assertTopicsExist(tx, workspaceId, definition);
    const version = (row.current_version ?? 0) + 1;
    await tx.query(
      `INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition, published_at, goal_event, goal_segment_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [workspaceId, campaignId, version, JSON.stringify(definition), now, goalEventOf(definition), goalSegmentOf(definition)],
    );
    // A broadcast belongs to the version it was published with; a newer version replaces one not yet sent.
    await tx.query(`UPDATE campaign_broadcasts SET status = 'superseded', finished_at = $3 WHERE workspace_id = $1 AND campaign_id = $2 AND status = 'scheduled'`, [workspaceId, campaignId, now]);
    const trigger = definition.nodes.find((n) => n.id === definition.entryNodeId);
    const broadcast = trigger?.type === 'trigger' && trigger.config.kind === 'broadcast' ? trigger.config : null;
    const result = await tx.query<CampaignRow>(
      `UPDATE campaigns SET current_version = $3, status = CASE WHEN status = 'paused' THEN 'paused' ELSE 'active' END, updated_at = $4
        WHERE workspace_id = $1 AND id = $2 RETURNING ${CAMPAIGN_COLUMNS}`,
      [workspaceId, campaignId, version, now],
    );
    if (broadcast) {
      const runAt = broadcast.at !== undefined && new Date(broadcast.at) > now ? new Date(broadcast.at) : now;
      await tx.query(`INSERT INTO campaign_broadcasts (workspace_id, campaign_id, version, segment_id, run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
        workspaceId,
        campaignId,
        version,
        broadcast.segmentId,
        runAt,
        now,
      ]);
      if (runAt <= now && result.rows[0]!.status === 'active') await runBroadcast(tx, { workspaceId, campaignId, version, segmentId: broadcast.segmentId }, definition, now);
    }
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.publish', resourceType: 'campaign', resourceId: campaignId, before: { version: row.current_version, status: row.status }, after: { version, status: result.rows[0]!.status } });
    return toCampaign(result.rows[0]!);
  });
}

/** Pause stops the worker from advancing this campaign's enrollments; resume lets them continue. */
export async function setCampaignStatus(db: Database, workspaceId: string, actor: Actor, campaignId: string, to: 'paused' | 'active' | 'archived', now: Date): Promise<Campaign> {
  return db.transaction(async (tx) => {
    const row = await loadCampaignRow(tx, workspaceId, campaignId, true);
    if (row.status === 'archived') throw new AppError('CAMPAIGN_ARCHIVED', 'The campaign is archived');
    if (to === 'paused' && row.status !== 'active') throw new AppError('CAMPAIGN_NOT_ACTIVE', `Only an active campaign can be paused; this one is ${row.status}`);
    if (to === 'active' && row.status !== 'paused') throw new AppError('CAMPAIGN_NOT_PAUSED', `Only a paused campaign can be resumed; this one is ${row.status}`);
    const result = await tx.query<CampaignRow>(`UPDATE campaigns SET status = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2 RETURNING ${CAMPAIGN_COLUMNS}`, [
      workspaceId,
      campaignId,
      to,
      now,
    ]);
    await recordAudit(tx, { workspaceId, actor, action: `campaign.${to === 'active' ? 'resume' : to === 'paused' ? 'pause' : 'archive'}`, resourceType: 'campaign', resourceId: campaignId, before: { status: row.status }, after: { status: to } });
    if (to === 'active') await tx.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, campaignId]);
    return toCampaign(result.rows[0]!);
  });
}

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

/**
 * Sends one broadcast: every current member of its segment enters the campaign version, in one
 * INSERT … SELECT under the same re-entry rule as enrollContacts, and the broadcast row becomes
 * 'done' in the same transaction — so it enrolls each member once even across crashes.
 */
export async function runBroadcast(
  q: Queryable,
  broadcast: { workspaceId: string; campaignId: string; version: number; segmentId: string },
  definition: CampaignDefinition,
  now: Date,
): Promise<number> {
  const reentry = definition.settings?.reentry ?? { mode: 'never' as const };
  const entryEvent = { id: null, type: 'system', name: 'broadcast', properties: { segmentId: broadcast.segmentId }, occurredAt: now.toISOString() };
  // name: broadcastEnrollments — segment_members' primary key (segment_id, contact_id) yields the
  // audience; the NOT EXISTS is the re-entry rule, ON CONFLICT a concurrent trigger enrollment.
  const inserted = await q.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, entry_event, enrolled_at, updated_at)
       SELECT $1, $2, $3, m.contact_id, $4, $5, $6::jsonb, $5, $5
         FROM segment_members m
        WHERE m.segment_id = $7 AND m.workspace_id = $1
          AND NOT EXISTS (
              SELECT 1 FROM enrollments e
               WHERE e.campaign_id = $2 AND e.contact_id = m.contact_id
                 AND (e.status IN ('active', 'paused', 'failed')
                      OR $8 = 'never'
                      OR ($8 = 'after' AND e.enrolled_at > $5::timestamptz - make_interval(days => $9::int))))
       ON CONFLICT (campaign_id, contact_id) WHERE status IN ('active', 'paused', 'failed') DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM inserted`,
    [broadcast.workspaceId, broadcast.campaignId, broadcast.version, definition.entryNodeId, now, JSON.stringify(entryEvent), broadcast.segmentId, reentry.mode, reentry.days ?? 0],
  );
  const enrolled = inserted.rows[0]!.n;
  await q.query(`UPDATE campaign_broadcasts SET status = 'done', enrolled = $3, finished_at = $4 WHERE campaign_id = $1 AND version = $2`, [broadcast.campaignId, broadcast.version, enrolled, now]);
  if (enrolled > 0) await q.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, broadcast.campaignId]);
  return enrolled;
}

/**
 * Starts the scheduled broadcasts whose time has come, for active campaigns still on the version
 * they were published with (a paused campaign's broadcast waits for resume). Rows are claimed
 * FOR UPDATE SKIP LOCKED (campaign_broadcasts_due_idx), so two workers never send one twice.
 */
export async function runDueBroadcasts(q: Queryable, now: Date, limit = 10): Promise<number> {
  const due = await q.query<{ workspace_id: string; campaign_id: string; version: number; segment_id: string; definition: CampaignDefinition }>(
    `SELECT b.workspace_id, b.campaign_id, b.version, b.segment_id, v.definition
       FROM campaign_broadcasts b
       JOIN campaigns c ON c.id = b.campaign_id AND c.status = 'active' AND c.current_version = b.version
       JOIN campaign_versions v ON v.campaign_id = b.campaign_id AND v.version = b.version
      WHERE b.status = 'scheduled' AND b.run_at <= $1
      ORDER BY b.run_at LIMIT $2
      FOR UPDATE OF b SKIP LOCKED`,
    [now, limit],
  );
  for (const b of due.rows) await runBroadcast(q, { workspaceId: b.workspace_id, campaignId: b.campaign_id, version: b.version, segmentId: b.segment_id }, b.definition, now);
  return due.rows.length;
}

/** Manual enrollment from the API: refused as a whole only when nobody could enter. */
export async function enrollManually(db: Database, workspaceId: string, actor: Actor, campaignId: string, contactIds: string[], now: Date): Promise<EnrollResult[]> {
  return db.transaction(async (tx) => {
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
export async function retryEnrollment(db: Database, workspaceId: string, actor: Actor, campaignId: string, enrollmentId: string, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
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

export interface NodeMetrics {
  entered: number;
  completed: number;
  waiting: number;
  failed: number;
}

export interface EmailMetrics {
  queued: number;
  sent: number;
  failed: number;
  suppressed: number;
  delivered: number;
  opened: number;
  clicked: number;
  replied: number;
  bounced: number;
  unsubscribed: number;
}

/**
 * Per-node counts computed from the journey log (finished steps) and the enrollments' current
 * nodes (waiting or failed there): entered = completed + waiting + failed.
 */
export async function campaignMetrics(
  q: Queryable,
  workspaceId: string,
  campaignId: string,
): Promise<{ nodes: Record<string, NodeMetrics>; emails: Record<string, EmailMetrics>; enrollments: Record<EnrollmentStatus, number>; conversions: number }> {
  const nodes: Record<string, NodeMetrics> = {};
  const at = (id: string): NodeMetrics => (nodes[id] ??= { entered: 0, completed: 0, waiting: 0, failed: 0 });
  const done = await q.query<{ node_id: string; n: number }>(
    `SELECT node_id, count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1 AND workspace_id = $2 AND outcome IN ('completed', 'skipped') GROUP BY node_id`,
    [campaignId, workspaceId],
  );
  for (const r of done.rows) at(r.node_id).completed += r.n;
  const current = await q.query<{ current_node_id: string; status: EnrollmentStatus; n: number }>(
    `SELECT current_node_id, status, count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND workspace_id = $2 AND status IN ('active', 'paused', 'failed') GROUP BY current_node_id, status`,
    [campaignId, workspaceId],
  );
  const totals = await q.query<{ status: EnrollmentStatus; goal: boolean; n: number }>(
    `SELECT status, exit_reason = 'goal' AS goal, count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND workspace_id = $2 GROUP BY 1, 2`,
    [campaignId, workspaceId],
  );
  const enrollments: Record<EnrollmentStatus, number> = { active: 0, paused: 0, completed: 0, exited: 0, failed: 0 };
  let conversions = 0;
  for (const r of totals.rows) {
    enrollments[r.status] += r.n;
    if (r.goal) conversions += r.n;
  }
  for (const r of current.rows) {
    if (r.status === 'active' || r.status === 'paused') at(r.current_node_id).waiting += r.n;
    else at(r.current_node_id).failed += r.n;
  }
  for (const m of Object.values(nodes)) m.entered = m.completed + m.waiting + m.failed;

  const emails: Record<string, EmailMetrics> = {};
  const messageRows = await q.query<{ node_id: string; status: string; n: number }>(
    `SELECT split_part(idempotency_key, ':node:', 2) AS node_id, status, count(*)::int AS n
       FROM messages WHERE workspace_id = $1 AND source_type = 'campaign' AND source_id = $2
      GROUP BY 1, 2`,
    [workspaceId, campaignId],
  );
  const email = (id: string): EmailMetrics =>
    (emails[id] ??= { queued: 0, sent: 0, failed: 0, suppressed: 0, delivered: 0, opened: 0, clicked: 0, replied: 0, bounced: 0, unsubscribed: 0 });
  for (const r of messageRows.rows) {
    const m = email(r.node_id);
    if (r.status === 'queued' || r.status === 'sending') m.queued += r.n;
    else if (r.status === 'sent') m.sent += r.n;
    else if (r.status === 'failed') m.failed += r.n;
    else if (r.status === 'suppressed') m.suppressed += r.n;
  }
  // Engagement events name their message in properties.messageId; each message counts once per kind.
  const engagement = await q.query<{ node_id: string; name: string; n: number }>(
    `SELECT split_part(m.idempotency_key, ':node:', 2) AS node_id, ev.name, count(DISTINCT m.id)::int AS n
       FROM messages m
       JOIN events ev ON ev.workspace_id = m.workspace_id AND ev.contact_id = m.contact_id AND ev.type = 'email' AND ev.properties->>'messageId' = m.id::text
      WHERE m.workspace_id = $1 AND m.source_type = 'campaign' AND m.source_id = $2
        AND ev.name IN ('delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
      GROUP BY 1, 2`,
    [workspaceId, campaignId],
  );
  for (const r of engagement.rows) email(r.node_id)[r.name as 'opened'] += r.n;
  return { nodes, emails, enrollments, conversions };
}

export interface Journey {
  enrollment: {
    id: string;
    campaignId: string;
    contactId: string;
    version: number;
    status: EnrollmentStatus;
    currentNodeId: string;
    nextRunAt: string;
    attempts: number;
    lastError: string | null;
    exitReason: string | null;
    enrolledAt: string;
    finishedAt: string | null;
  };
  /** `delivery`: where a webhook step's call stands (queued, sent, failed, attempts, last answer); null on other steps. */
  steps: Array<{ nodeId: string; outcome: string; handle: string | null; detail: Record<string, unknown>; at: string; delivery: StepDelivery | null }>;
}

export async function getJourney(q: Queryable, workspaceId: string, campaignId: string, enrollmentId: string): Promise<Journey> {
  const e = await q.query<{
    id: string;
    campaign_id: string;
    contact_id: string;
    version: number;
    status: EnrollmentStatus;
    current_node_id: string;
    next_run_at: Date;
    attempts: number;
    last_error: string | null;
    exit_reason: string | null;
    enrolled_at: Date;
    finished_at: Date | null;
  }>(
    `SELECT id, campaign_id, contact_id, version, status, current_node_id, next_run_at, attempts, last_error, exit_reason, enrolled_at, finished_at
       FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND id = $3`,
    [workspaceId, campaignId, enrollmentId],
  );
  const row = e.rows[0];
  if (!row) throw notFound('Enrollment');
  const steps = await q.query<{ node_id: string; outcome: string; handle: string | null; detail: Record<string, unknown>; at: Date; delivery: StepDelivery | null }>(
    `SELECT s.node_id, s.outcome, s.handle, s.detail, s.at, ${stepDeliverySql('s')} AS delivery
       FROM enrollment_steps s WHERE s.enrollment_id = $1 AND s.workspace_id = $2 ORDER BY s.id`,
    [enrollmentId, workspaceId],
  );
  return {
    enrollment: {
      id: row.id,
      campaignId: row.campaign_id,
      contactId: row.contact_id,
      version: row.version,
      status: row.status,
      currentNodeId: row.current_node_id,
      nextRunAt: row.next_run_at.toISOString(),
      attempts: row.attempts,
      lastError: row.last_error,
      exitReason: row.exit_reason,
      enrolledAt: row.enrolled_at.toISOString(),
      finishedAt: row.finished_at?.toISOString() ?? null,
    },
    steps: steps.rows.map((s) => ({ nodeId: s.node_id, outcome: s.outcome, handle: s.handle, detail: s.detail, at: s.at.toISOString(), delivery: toStepDelivery(s.delivery) })),
  };
}

/**
 * Moves running enrollments from one published version to the current one, on purpose. An
 * enrollment moves only when the node it sits at exists in the target with the same type (so a
 * wait keeps its meaning); the others stay on their version and are counted.
 */
export async function migrateEnrollments(db: Database, workspaceId: string, actor: Actor, campaignId: string, fromVersion: number, now: Date): Promise<{ toVersion: number; moved: number; stayed: number }> {
  return db.transaction(async (tx) => {
    const row = await loadCampaignRow(tx, workspaceId, campaignId, true);
    const toVersion = row.current_version;
    if (toVersion === null) throw new AppError('CAMPAIGN_NOT_ACTIVE', 'The campaign has no published version');
    if (fromVersion === toVersion) throw new AppError('VALIDATION_FAILED', `Enrollments on version ${fromVersion} are already on the current version`);
    const versions = await tx.query<{ version: number; definition: CampaignDefinition }>(
      'SELECT version, definition FROM campaign_versions WHERE workspace_id = $1 AND campaign_id = $2 AND version = ANY($3::int[])',
      [workspaceId, campaignId, [fromVersion, toVersion]],
    );
    const from = versions.rows.find((v) => v.version === fromVersion)?.definition;
    const to = versions.rows.find((v) => v.version === toVersion)?.definition;
    if (!from || !to) throw notFound(`Version ${fromVersion}`);
    const targetTypes = new Map(to.nodes.map((n) => [n.id, n.type]));
    const movable = from.nodes.filter((n) => targetTypes.get(n.id) === n.type).map((n) => n.id);
    // Rows the engine holds are moved after its batch commits (plain row locks, no SKIP LOCKED).
    const moved = await tx.query(
      `UPDATE enrollments SET version = $4, updated_at = $6
        WHERE workspace_id = $1 AND campaign_id = $2 AND version = $3 AND status IN ('active', 'paused', 'failed') AND current_node_id = ANY($5::text[])`,
      [workspaceId, campaignId, fromVersion, toVersion, movable, now],
    );
    const stayed = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND version = $3 AND status IN ('active', 'paused', 'failed')`,
      [workspaceId, campaignId, fromVersion],
    );
    const result = { toVersion, moved: moved.rowCount, stayed: stayed.rows[0]!.n };
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.migrate_enrollments', resourceType: 'campaign', resourceId: campaignId, before: { version: fromVersion }, after: result });
    return result;
  });
}

/** Pauses one running enrollment (it keeps its node and due time) or resumes a paused one. */
export async function setEnrollmentPaused(db: Database, workspaceId: string, actor: Actor, campaignId: string, enrollmentId: string, paused: boolean, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
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

export interface FrequencyCapSetting {
  maxEmails: number;
  windowHours: number;
}

export async function getFrequencyCap(q: Queryable, workspaceId: string): Promise<FrequencyCapSetting | null> {
  const r = await q.query<{ cap: FrequencyCapSetting | null }>(`SELECT settings->'campaigns'->'frequencyCap' AS cap FROM workspaces WHERE id = $1`, [workspaceId]);
  return r.rows[0]?.cap ?? null;
}

/** Sets (or with null, removes) the workspace's cap on campaign emails per contact. */
export async function setFrequencyCap(db: Database, workspaceId: string, actor: Actor, cap: FrequencyCapSetting | null): Promise<FrequencyCapSetting | null> {
  return db.transaction(async (tx) => {
    const before = await getFrequencyCap(tx, workspaceId);
    await tx.query(
      `UPDATE workspaces SET settings = settings || jsonb_build_object('campaigns',
          CASE WHEN $2::jsonb IS NULL THEN COALESCE(settings->'campaigns', '{}'::jsonb) - 'frequencyCap'
               ELSE COALESCE(settings->'campaigns', '{}'::jsonb) || jsonb_build_object('frequencyCap', $2::jsonb) END)
        WHERE id = $1`,
      [workspaceId, cap === null ? null : JSON.stringify(cap)],
    );
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.frequency_cap', resourceType: 'workspace', resourceId: workspaceId, before, after: cap });
    return cap;
  });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Creates (or rotates) the campaign's inbound webhook secret; it is shown only in this answer. */
export async function rotateInboundSecret(db: Database, workspaceId: string, actor: Actor, campaignId: string): Promise<string> {
  const secret = `uhwh_${randomBytes(24).toString('base64url')}`;
  await db.transaction(async (tx) => {
    await loadCampaignRow(tx, workspaceId, campaignId, true);
    await tx.query('UPDATE campaigns SET inbound_secret_hash = $3 WHERE workspace_id = $1 AND id = $2', [workspaceId, campaignId, sha256(secret).toString('hex')]);
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.inbound_secret.rotate', resourceType: 'campaign', resourceId: campaignId });
  });
  return secret;
}

/**
 * The inbound webhook trigger: authenticated by the campaign's secret (compared as SHA-256 in
 * constant time), it enrolls one contact (by id or email) with the posted properties as `event`.
 */
export async function enrollFromInboundWebhook(
  db: Database,
  campaignId: string,
  secret: string,
  body: { email?: string | undefined; contactId?: string | undefined; properties?: Record<string, unknown> | undefined },
  now: Date,
): Promise<EnrollResult> {
  return db.transaction(async (tx) => {
    const found = await tx.query<{ workspace_id: string; inbound_secret_hash: string | null; trigger_kind: string | null }>(
      `SELECT c.workspace_id, c.inbound_secret_hash,
              (SELECT n->'config'->>'kind' FROM jsonb_array_elements(v.definition->'nodes') n WHERE n->>'id' = v.definition->>'entryNodeId') AS trigger_kind
         FROM campaigns c LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version
        WHERE c.id = $1`,
      [campaignId],
    );
    const row = found.rows[0];
    const given = sha256(secret);
    const stored = row?.inbound_secret_hash ? Buffer.from(row.inbound_secret_hash, 'hex') : null;
    if (!row || !stored || stored.length !== given.length || !timingSafeEqual(stored, given)) throw new AppError('UNAUTHENTICATED', 'Unknown campaign or wrong webhook secret');
    if (row.trigger_kind !== 'inbound_webhook') throw new AppError('CAMPAIGN_NOT_ACTIVE', 'The published version of this campaign is not started by an inbound webhook');
    const contact = await tx.query<{ id: string }>(
      'SELECT id FROM contacts WHERE workspace_id = $1 AND (id = $2::uuid OR email = $3) LIMIT 1',
      [row.workspace_id, body.contactId ?? null, body.email?.trim().toLowerCase() ?? null],
    );
    const contactId = contact.rows[0]?.id;
    if (!contactId) throw new AppError('ENROLLMENT_CONTACTS_NOT_FOUND', 'No contact with that id or email in this workspace');
    const [result] = await enrollContacts(tx, row.workspace_id, campaignId, [{ contactId, entryEvent: { id: null, type: 'track', name: 'inbound_webhook', properties: body.properties ?? {}, occurredAt: now.toISOString() } }], now);
    if (result!.status !== 'enrolled') throw new AppError('ENROLLMENT_REFUSED', `The contact cannot enter: ${result!.status}`, [result]);
    return result!;
  });
}
