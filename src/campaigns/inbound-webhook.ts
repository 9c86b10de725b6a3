/**
 * The inbound webhook trigger: the campaign's secret (stored as a SHA-256 hash, shown once when
 * created or rotated) and the enrollment a POST with that secret makes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { loadCampaignRow, type CampaignDeps } from './campaign-rows.js';
import { enrollContacts, type EnrollResult } from './enrollment.js';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Creates (or rotates) the campaign's inbound webhook secret; it is shown only in this answer. */
export async function rotateInboundSecret(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string): Promise<string> {
  const secret = `uhwh_${randomBytes(24).toString('base64url')}`;
  await deps.db.transaction(async (tx) => {
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
  deps: CampaignDeps,
  campaignId: string,
  secret: string,
  body: { email?: string | undefined; contactId?: string | undefined; properties?: Record<string, unknown> | undefined },
): Promise<EnrollResult> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
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
