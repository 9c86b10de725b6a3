/**
 * GDPR erasure ("right to be forgotten"). The contact row stays, with every piece of personal data
 * replaced, so that campaign metrics, engagement counts and conversions stay true; its events keep
 * their type, name and time but lose their properties and identifiers; its messages lose address,
 * subject and bodies; identity links, suppression entries, dev-inbox copies and the personal data
 * in earlier audit entries are removed; running enrollments exit. All in one transaction.
 */
import type { Database } from '../db/database.js';
import { notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';

export function erasedAddress(contactId: string): string {
  return `erased-${contactId}@erased.invalid`;
}

export async function eraseContact(deps: { db: Database; clock: Clock }, workspaceId: string, actor: Actor, id: string): Promise<{ erasedAt: string }> {
  const now = deps.clock.now();
  const erased = erasedAddress(id);
  return deps.db.transaction(async (tx) => {
    const current = await tx.query<{ email: string; erased_at: Date | null }>('SELECT email, erased_at FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [workspaceId, id]);
    const row = current.rows[0];
    if (!row) throw notFound('Contact');
    if (row.erased_at) return { erasedAt: new Date(row.erased_at).toISOString() };
    const email = row.email;
    await tx.query(
      `UPDATE contacts
          SET email = $3, first_name = NULL, last_name = NULL, company = NULL, job_title = NULL, phone = NULL,
              tags = '{}', custom_fields = '{}'::jsonb, timezone = NULL, subscription_state = 'unsubscribed',
              score_inputs = NULL, erased_at = $4, updated_at = $4
        WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, erased, now],
    );
    await tx.query(`UPDATE events SET properties = '{}'::jsonb, context = NULL, anonymous_id = NULL, user_id = NULL WHERE workspace_id = $1 AND contact_id = $2`, [workspaceId, id]);
    await tx.query(
      // Queued mail to the contact is never sent: it is marked suppressed with the reason.
      `UPDATE messages SET to_address = $3, subject = '[erased]', html = '', text_body = '', headers = '{}'::jsonb,
              status = CASE WHEN status IN ('queued', 'sending') THEN 'suppressed' ELSE status END,
              last_error = CASE WHEN status IN ('queued', 'sending') THEN 'contact erased' ELSE last_error END
        WHERE workspace_id = $1 AND contact_id = $2`,
      [workspaceId, id, erased],
    );
    await tx.query(`DELETE FROM dev_inbox WHERE workspace_id = $1 AND message_id IN (SELECT id FROM messages WHERE workspace_id = $1 AND contact_id = $2)`, [workspaceId, id]);
    await tx.query('DELETE FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2', [workspaceId, id]);
    await tx.query('DELETE FROM suppressions WHERE workspace_id = $1 AND email = $2', [workspaceId, email]);
    await tx.query(
      `UPDATE enrollments SET status = 'exited', exit_reason = 'contact_erased', updated_at = $3
        WHERE workspace_id = $1 AND contact_id = $2 AND status IN ('active', 'paused', 'failed')`,
      [workspaceId, id, now],
    );
    await tx.query(`UPDATE audit_log SET before = NULL, after = NULL WHERE workspace_id = $1 AND resource_type = 'contact' AND resource_id = $2`, [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.erase', resourceType: 'contact', resourceId: id });
    return { erasedAt: now.toISOString() };
  });
}
