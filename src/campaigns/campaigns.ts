/**
 * Campaign drafts and their life: create, read, save, publish (an immutable version, and its
 * broadcast when the trigger is one), pause/resume/archive, and moving running enrollments to the
 * current version. Every function takes the workspace id; no query reads across workspaces.
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { runBroadcast } from './broadcasts.js';
import { CAMPAIGN_COLUMNS, ENROLLMENTS_CHANNEL, loadCampaignRow, toCampaign, type Campaign, type CampaignDeps, type CampaignRow } from './campaign-rows.js';
import { goalEventOf, goalSegmentOf, type CampaignDefinition } from './definition.js';
import { assertDrawableDraft, assertSegmentsExist, assertTopicsExist, assertValidDefinition, referenceIssues, ruleIssues } from './definition-checks.js';
import type { DefinitionIssue } from './validator.js';
import { syncSplitTests } from './split-tests.js';

export async function listCampaigns(q: Queryable, workspaceId: string): Promise<Campaign[]> {
  const result = await q.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 ORDER BY created_at DESC, id`, [workspaceId]);
  return result.rows.map(toCampaign);
}

export async function createCampaign(deps: CampaignDeps, workspaceId: string, actor: Actor, name: string, definition: unknown): Promise<Campaign> {
  const now = deps.clock.now();
  const valid = await assertValidDefinition(definition, deps.dns);
  return deps.db.transaction(async (tx) => {
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

export async function getCampaign(q: Queryable, workspaceId: string, campaignId: string): Promise<{ campaign: Campaign; definition: CampaignDefinition; problems: DefinitionIssue[] }> {
  const row = await loadCampaignRow(q, workspaceId, campaignId);
  return { campaign: toCampaign(row), definition: row.draft_definition, problems: row.draft_problems };
}

/**
 * Saves the draft whether it is valid or not (publishing is what requires validity) and answers
 * its problems. With `draftRevision` — the revision the editor started from — a save made after
 * another member's is refused with CAMPAIGN_EDIT_CONFLICT instead of silently replacing theirs.
 */
export async function updateCampaign(
  deps: CampaignDeps,
  workspaceId: string,
  actor: Actor,
  campaignId: string,
  change: { name?: string; definition: unknown; draftRevision?: number },
): Promise<{ campaign: Campaign; problems: DefinitionIssue[] }> {
  const now = deps.clock.now();
  assertDrawableDraft(change.definition);
  // Webhook hosts are resolved before the row is locked.
  const rules = await ruleIssues(change.definition, deps.dns);
  return deps.db.transaction(async (tx) => {
    const before = await loadCampaignRow(tx, workspaceId, campaignId, true);
    if (before.status === 'archived') throw new AppError('CAMPAIGN_ARCHIVED', 'An archived campaign cannot be edited');
    if (change.draftRevision !== undefined && change.draftRevision !== before.draft_revision) {
      throw new AppError('CAMPAIGN_EDIT_CONFLICT', 'Someone else saved this campaign after you opened it. Reload their version, or keep yours and overwrite theirs.', {
        draftRevision: before.draft_revision,
        updatedAt: before.updated_at.toISOString(),
      });
    }
    const problems = rules.length > 0 ? rules : await referenceIssues(tx, workspaceId, change.definition as CampaignDefinition);
    const result = await tx.query<CampaignRow>(
      `UPDATE campaigns SET name = COALESCE($3, name), draft_definition = $4, draft_problems = $5, draft_revision = draft_revision + 1, updated_at = $6
        WHERE workspace_id = $1 AND id = $2 RETURNING ${CAMPAIGN_COLUMNS}`,
      [workspaceId, campaignId, change.name ?? null, JSON.stringify(change.definition), JSON.stringify(problems), now],
    );
    await recordAudit(tx, {
      workspaceId,
      actor,
      action: 'campaign.update',
      resourceType: 'campaign',
      resourceId: campaignId,
      before: { name: before.name, definition: before.draft_definition, draftRevision: before.draft_revision },
      after: { name: result.rows[0]!.name, definition: change.definition, draftRevision: result.rows[0]!.draft_revision, problems: problems.length },
    });
    return { campaign: toCampaign(result.rows[0]!), problems };
  });
}

/** Freezes the draft as the next version and makes the campaign active. */
export async function publishCampaign(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string): Promise<Campaign> {
  const now = deps.clock.now();
  // A stored draft may have problems (drafts save whether valid or not); webhook hosts are resolved before the lock.
  await assertValidDefinition((await loadCampaignRow(deps.db, workspaceId, campaignId)).draft_definition, deps.dns);
  return deps.db.transaction(async (tx) => {
    const row = await loadCampaignRow(tx, workspaceId, campaignId, true);
    if (row.status === 'archived') throw new AppError('CAMPAIGN_ARCHIVED', 'An archived campaign cannot be published');
    // Checked again under the lock: the draft may have been saved since.
    const definition = await assertValidDefinition(row.draft_definition);
    await assertSegmentsExist(tx, workspaceId, definition);
    await assertTopicsExist(tx, workspaceId, definition);
    const version = (row.current_version ?? 0) + 1;
    await tx.query(
      `INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition, published_at, goal_event, goal_segment_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [workspaceId, campaignId, version, JSON.stringify(definition), now, goalEventOf(definition), goalSegmentOf(definition)],
    );
    await syncSplitTests(tx, workspaceId, campaignId, definition, now);
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
export async function setCampaignStatus(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, to: 'paused' | 'active' | 'archived'): Promise<Campaign> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
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

/**
 * Moves running enrollments from one published version to the current one, on purpose. An
 * enrollment moves only when the node it sits at exists in the target with the same type (so a
 * wait keeps its meaning); the others stay on their version and are counted.
 */
export async function migrateEnrollments(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, fromVersion: number): Promise<{ toVersion: number; moved: number; stayed: number }> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
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
