/**
 * The workspace's frequency cap setting: at most N campaign emails per contact per window (the
 * engine defers, not drops, an email over it; engine-interpreter.ts).
 */
import type { Queryable } from '../db/database.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { CampaignDeps } from './campaign-rows.js';

export interface FrequencyCapSetting {
  maxEmails: number;
  windowHours: number;
}

export async function getFrequencyCap(q: Queryable, workspaceId: string): Promise<FrequencyCapSetting | null> {
  const r = await q.query<{ cap: FrequencyCapSetting | null }>(`SELECT settings->'campaigns'->'frequencyCap' AS cap FROM workspaces WHERE id = $1`, [workspaceId]);
  return r.rows[0]?.cap ?? null;
}

/** Sets (or with null, removes) the workspace's cap on campaign emails per contact. */
export async function setFrequencyCap(deps: CampaignDeps, workspaceId: string, actor: Actor, cap: FrequencyCapSetting | null): Promise<FrequencyCapSetting | null> {
  return deps.db.transaction(async (tx) => {
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
