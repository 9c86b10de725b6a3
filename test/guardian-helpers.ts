/** Test support for Guardian: sent emails and their provider-reported outcomes as rows, in bulk. */
import type { Queryable } from '../src/db/database.js';

let sequence = 0;

/** `count` emails sent at `at` (status sent) by `provider`, optionally of a campaign; returns their ids. */
export async function seedSends(q: Queryable, workspaceId: string, count: number, at: Date, options: { provider?: string; campaignId?: string; status?: string } = {}): Promise<string[]> {
  sequence += 1;
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO messages (workspace_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, provider, created_at, sent_at, next_attempt_at)
     SELECT $1, 'seed:' || $2 || ':' || g, $3, $4, 'a@acme.test', 'p' || g || '@example.com', 's', '<p>x</p>', 'x', $5, $6, $7, CASE WHEN $5 = 'sent' THEN $7::timestamptz END, $7
       FROM generate_series(1, $8) AS g RETURNING id`,
    [workspaceId, `${sequence}:${Date.now()}`, options.campaignId ? 'campaign' : 'test', options.campaignId ?? null, options.status ?? 'sent', options.provider ?? 'resend', at, count],
  );
  return rows.map((r) => r.id);
}

/** `count` email events named `name` (bounced, complained, unsubscribed) at `at`, optionally about given messages. */
export async function seedOutcomes(q: Queryable, workspaceId: string, name: string, count: number, at: Date, options: { provider?: string; messageIds?: string[] } = {}): Promise<void> {
  sequence += 1;
  await q.query(
    `INSERT INTO events (workspace_id, type, name, properties, message_id, occurred_at, received_at)
     SELECT $1, 'email', $2, jsonb_build_object('provider', $3::text, 'messageId', ($5::uuid[])[g]), 'seed:' || $4 || ':' || g, $6, $6 FROM generate_series(1, $7) AS g`,
    [workspaceId, name, options.provider ?? 'resend', `${sequence}:${Date.now()}`, options.messageIds ?? [], at, count],
  );
}
