/**
 * A marketer's operations on a campaign beyond editing: duplicate it, enroll an audience (a
 * segment or a filtered contact list, counted before it is enrolled), list its enrollments (all,
 * by status, at a node, or one contact's), and exit running enrollments in bulk. Every query is
 * scoped by the workspace id.
 */
import type { Static } from '@sinclair/typebox';
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { CAMPAIGN_COLUMNS, loadCampaignRow, toCampaign, type Campaign, type CampaignDeps, type CampaignRow, type CampaignStatus } from './campaign-rows.js';
import type { CampaignDefinition } from './definition.js';
import { enrollContacts } from './enrollment.js';
import type { AudienceAnswer, AudienceBody, BulkExitBody, EnrollmentListQuery, EnrollmentSummarySchema } from './ops.schemas.js';

/** A copy of the campaign's draft as a new draft, named "<name> (copy)" unless a name is given. */
export async function duplicateCampaign(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, name?: string): Promise<Campaign> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const source = await loadCampaignRow(tx, workspaceId, campaignId);
    const copyName = name ?? `${source.name} (copy)`.slice(0, 200);
    const result = await tx.query<CampaignRow>(
      `INSERT INTO campaigns (workspace_id, name, draft_definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING ${CAMPAIGN_COLUMNS}`,
      [workspaceId, copyName, JSON.stringify(source.draft_definition), now],
    );
    const campaign = toCampaign(result.rows[0]!);
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.duplicate', resourceType: 'campaign', resourceId: campaign.id, after: { name: copyName, from: campaignId } });
    return campaign;
  });
}

type Audience = Static<typeof AudienceBody>;

/** The audience as SQL over `contacts c` with its parameters, numbered from `first`. */
function audienceSql(workspaceId: string, audience: Audience): { from: string; params: unknown[] } {
  const params: unknown[] = [workspaceId];
  const where: string[] = ['c.workspace_id = $1'];
  let join = '';
  if (audience.segmentId) {
    params.push(audience.segmentId);
    join = `JOIN segment_members m ON m.contact_id = c.id AND m.segment_id = $${params.length} AND m.workspace_id = $1`;
  } else if (audience.filter) {
    const f = audience.filter;
    if (f.tag !== undefined) where.push(`c.tags @> ARRAY[$${params.push(f.tag)}]::text[]`);
    if (f.status !== undefined) where.push(`c.status = $${params.push(f.status)}`);
    if (f.minScore !== undefined) where.push(`c.score >= $${params.push(f.minScore)}`);
    if (f.maxScore !== undefined) where.push(`c.score <= $${params.push(f.maxScore)}`);
  }
  return { from: `contacts c ${join} WHERE ${where.join(' AND ')}`, params };
}

/**
 * Counts (dryRun) or enrolls every contact of a segment or a filtered list into the campaign's
 * current version, under its re-entry rule; `eligible` is who could enter now.
 */
export async function enrollAudience(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, audience: Audience): Promise<Static<typeof AudienceAnswer>> {
  if ((audience.segmentId === undefined) === (audience.filter === undefined)) throw new AppError('VALIDATION_FAILED', 'Choose either a segment or a contact filter', { field: 'segmentId' });
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const campaign = await tx.query<{ status: CampaignStatus; definition: CampaignDefinition | null }>(
      `SELECT c.status, v.definition FROM campaigns c LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version WHERE c.workspace_id = $1 AND c.id = $2`,
      [workspaceId, campaignId],
    );
    const row = campaign.rows[0];
    if (!row) throw notFound('Campaign');
    if (row.status !== 'active' || !row.definition) throw new AppError('CAMPAIGN_NOT_ACTIVE', `Contacts can only enter an active (published, not paused) campaign; this one is ${row.status}`);
    if (audience.segmentId) {
      const segment = await tx.query('SELECT 1 FROM segments WHERE workspace_id = $1 AND id = $2', [workspaceId, audience.segmentId]);
      if (segment.rows.length === 0) throw notFound('Segment');
    }
    const { from, params } = audienceSql(workspaceId, audience);
    const reentry = row.definition.settings?.reentry ?? { mode: 'never' as const };
    const n = params.length;
    // name: audienceCount — the same re-entry test as enrollContacts' insertEnrollments.
    const counted = await tx.query<{ matched: number; eligible: number }>(
      `SELECT count(*)::int AS matched,
              count(*) FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM enrollments e
                 WHERE e.campaign_id = $${n + 1} AND e.contact_id = c.id
                   AND (e.status IN ('active', 'paused', 'failed') OR $${n + 2} = 'never'
                        OR ($${n + 2} = 'after' AND e.enrolled_at > $${n + 3}::timestamptz - make_interval(days => $${n + 4}::int)))))::int AS eligible
         FROM ${from}`,
      [...params, campaignId, reentry.mode, now, reentry.days ?? 0],
    );
    const { matched, eligible } = counted.rows[0]!;
    if (audience.dryRun) return { matched, eligible, enrolled: 0, dryRun: true };
    const ids = await tx.query<{ id: string }>(`SELECT c.id FROM ${from} ORDER BY c.id`, params);
    const results = ids.rows.length === 0 ? [] : await enrollContacts(tx, workspaceId, campaignId, ids.rows.map((r) => ({ contactId: r.id, entryEvent: null })), now);
    const enrolled = results.filter((r) => r.status === 'enrolled').length;
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.enroll_audience', resourceType: 'campaign', resourceId: campaignId, after: { segmentId: audience.segmentId ?? null, filter: audience.filter ?? null, matched, enrolled } });
    return { matched, eligible, enrolled, dryRun: false };
  });
}

type EnrollmentSummary = Static<typeof EnrollmentSummarySchema>;

/** A campaign's enrollments, newest first, filtered by contact, status or current node. */
export async function listEnrollments(q: Queryable, workspaceId: string, campaignId: string, query: Static<typeof EnrollmentListQuery>): Promise<{ enrollments: EnrollmentSummary[]; total: number }> {
  await loadCampaignRow(q, workspaceId, campaignId);
  const params: unknown[] = [workspaceId, campaignId];
  const where = ['e.workspace_id = $1', 'e.campaign_id = $2'];
  if (query.contactId) where.push(`e.contact_id = $${params.push(query.contactId)}`);
  if (query.status) where.push(`e.status = $${params.push(query.status)}`);
  if (query.nodeId) where.push(`e.current_node_id = $${params.push(query.nodeId)}`);
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments e WHERE ${where.join(' AND ')}`, params);
  const rows = await q.query<{
    id: string;
    contact_id: string;
    email: string;
    name: string | null;
    version: number;
    status: EnrollmentSummary['status'];
    current_node_id: string;
    next_run_at: Date;
    exit_reason: string | null;
    enrolled_at: Date;
    finished_at: Date | null;
  }>(
    `SELECT e.id, e.contact_id, c.email, NULLIF(trim(concat_ws(' ', c.first_name, c.last_name)), '') AS name, e.version, e.status, e.current_node_id,
            e.next_run_at, e.exit_reason, e.enrolled_at, e.finished_at
       FROM enrollments e JOIN contacts c ON c.id = e.contact_id
      WHERE ${where.join(' AND ')}
      ORDER BY e.enrolled_at DESC, e.id DESC LIMIT $${params.length + 1}`,
    [...params, query.limit ?? 100],
  );
  return {
    total: total.rows[0]!.n,
    enrollments: rows.rows.map((r) => ({
      id: r.id,
      contactId: r.contact_id,
      contactEmail: r.email,
      contactName: r.name,
      version: r.version,
      status: r.status,
      currentNodeId: r.current_node_id,
      nextRunAt: r.next_run_at.toISOString(),
      exitReason: r.exit_reason,
      enrolledAt: r.enrolled_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
    })),
  };
}

/**
 * Exits running (active, paused or failed) enrollments: the chosen ones, every one at a node, or
 * all. Each gets a 'skipped' journey step at its node naming the operator's exit, like a goal exit.
 */
export async function exitEnrollments(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, body: Static<typeof BulkExitBody>): Promise<{ exited: number }> {
  const chosen = [body.enrollmentIds !== undefined, body.nodeId !== undefined, body.all === true].filter(Boolean).length;
  if (chosen !== 1) throw new AppError('VALIDATION_FAILED', 'Choose exactly one of enrollmentIds, nodeId or all', { field: 'enrollmentIds' });
  const reason = body.reason ?? 'operator';
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await loadCampaignRow(tx, workspaceId, campaignId, true);
    const params: unknown[] = [workspaceId, campaignId, reason, now];
    let selector = 'TRUE';
    if (body.enrollmentIds) selector = `e.id = ANY($${params.push(body.enrollmentIds)}::uuid[])`;
    else if (body.nodeId) selector = `e.current_node_id = $${params.push(body.nodeId)}`;
    // name: bulkExit — rows the engine holds are changed after its batch commits (plain row locks).
    const exited = await tx.query<{ id: string; current_node_id: string }>(
      `UPDATE enrollments e SET status = 'exited', exit_reason = $3, waiting_for = NULL, finished_at = $4, updated_at = $4
        WHERE e.workspace_id = $1 AND e.campaign_id = $2 AND e.status IN ('active', 'paused', 'failed') AND ${selector}
        RETURNING e.id, e.current_node_id`,
      params,
    );
    if (exited.rows.length > 0) {
      await tx.query(
        `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
         SELECT $1, $2, x.id, x.node_id, 'skipped', NULL, jsonb_build_object('exitedBy', 'operator', 'reason', $3::text), $4
           FROM jsonb_to_recordset($5::jsonb) AS x(id uuid, node_id text)`,
        [workspaceId, campaignId, reason, now, JSON.stringify(exited.rows.map((r) => ({ id: r.id, node_id: r.current_node_id })))],
      );
    }
    await recordAudit(tx, {
      workspaceId,
      actor,
      action: 'campaign.enrollments.exit',
      resourceType: 'campaign',
      resourceId: campaignId,
      after: { exited: exited.rows.length, reason, nodeId: body.nodeId ?? null, all: body.all ?? false, enrollmentIds: body.enrollmentIds ?? null },
    });
    return { exited: exited.rows.length };
  });
}
