/**
 * The campaigns table as the campaign domain reads it: the row, its API shape, the locked read
 * every write starts from; the deps campaign writes take (convention: `(deps, workspaceId, actor,
 * …)`, the time from `deps.clock`); and the channel that wakes the engine.
 */
import type { Database, Queryable } from '../db/database.js';
import { notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import type { CampaignDefinition } from './definition.js';
import type { DefinitionIssue } from './validator.js';
import type { DnsResolver } from './webhooks.js';

/** What campaign writes need. With `dns`, webhook hosts of saved drafts are resolved and must be public. */
export interface CampaignDeps {
  db: Database;
  clock: Clock;
  dns?: DnsResolver;
}

export const ENROLLMENTS_CHANNEL = 'campaign_enrollments_due';

export type CampaignStatus = 'draft' | 'active' | 'paused' | 'archived';
export type EnrollmentStatus = 'active' | 'paused' | 'completed' | 'exited' | 'failed';

export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  currentVersion: number | null;
  /** Bumped by every save of the draft; a save names the revision it edited (edit conflicts). */
  draftRevision: number;
  createdAt: string;
  updatedAt: string;
}

export interface CampaignRow {
  id: string;
  name: string;
  status: CampaignStatus;
  current_version: number | null;
  draft_definition: CampaignDefinition;
  draft_revision: number;
  /** The problems found when the draft was last saved (an empty list: it can be published). */
  draft_problems: DefinitionIssue[];
  created_at: Date;
  updated_at: Date;
}

export function toCampaign(row: CampaignRow): Campaign {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    currentVersion: row.current_version,
    draftRevision: row.draft_revision,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export const CAMPAIGN_COLUMNS = 'id, name, status, current_version, draft_definition, draft_revision, draft_problems, created_at, updated_at';

export async function loadCampaignRow(q: Queryable, workspaceId: string, campaignId: string, lock = false): Promise<CampaignRow> {
  const result = await q.query<CampaignRow>(
    `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [workspaceId, campaignId],
  );
  const row = result.rows[0];
  if (!row) throw notFound('Campaign');
  return row;
}
