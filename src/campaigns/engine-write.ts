/**
 * Writes one engine batch's staged effects with set-based statements, in an order that keeps lock
 * order stable: contact changes (locked in id order), events (through the event sink), outbox
 * messages, webhook calls, journey rows, then every claimed enrollment's next state in one UPDATE.
 */
import type { Queryable } from '../db/database.js';
import { enqueueEmail } from '../email/outbox.js';
import { recordEvents, type EventSink } from '../core/events.js';
import type { BatchEffects } from './engine-state.js';

/** Writes a batch's effects with set-based statements, in an order that keeps lock order stable. */
export async function writeBatch(tx: Queryable, eventSink: EventSink, batch: BatchEffects, now: Date): Promise<void> {
  const changed = [...batch.contacts.entries()].filter(([, c]) => c.addTags.length > 0 || c.removeTags.length > 0 || c.scoreDelta !== 0 || Object.keys(c.fields).length > 0 || Object.keys(c.custom).length > 0);
  if (changed.length > 0) {
    changed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // name: applyContactChanges — relative changes (tags added/removed, score delta, fields set)
    // so concurrent writers compose; rows are locked in id order first to avoid deadlocks.
    await tx.query('SELECT id FROM contacts WHERE id = ANY((SELECT $1::uuid[])::uuid[]) ORDER BY id FOR UPDATE', [changed.map(([id]) => id)]);
    await tx.query(
      `UPDATE contacts c SET
          tags = ARRAY(SELECT t.x FROM unnest(c.tags || u.add_tags) WITH ORDINALITY AS t(x, n)
                        WHERE NOT (t.x = ANY(u.remove_tags)) GROUP BY t.x ORDER BY min(t.n)),
          score = LEAST(100, GREATEST(0, c.score + u.score_delta)),
          score_adjustment = c.score_adjustment + u.score_delta,
          -- The explanation is rendered from the stored inputs: they carry the new adjustment too.
          score_inputs = CASE WHEN u.score_delta = 0 OR c.score_inputs IS NULL THEN c.score_inputs
                              ELSE jsonb_set(c.score_inputs, '{scoreAdjustment}', to_jsonb(c.score_adjustment + u.score_delta)) END,
          first_name = CASE WHEN u.fields ? 'first_name' THEN u.fields->>'first_name' ELSE c.first_name END,
          last_name = CASE WHEN u.fields ? 'last_name' THEN u.fields->>'last_name' ELSE c.last_name END,
          company = CASE WHEN u.fields ? 'company' THEN u.fields->>'company' ELSE c.company END,
          job_title = CASE WHEN u.fields ? 'job_title' THEN u.fields->>'job_title' ELSE c.job_title END,
          phone = CASE WHEN u.fields ? 'phone' THEN u.fields->>'phone' ELSE c.phone END,
          status = CASE WHEN u.fields ? 'status' THEN u.fields->>'status' ELSE c.status END,
          timezone = CASE WHEN u.fields ? 'timezone' THEN u.fields->>'timezone' ELSE c.timezone END,
          custom_fields = c.custom_fields || u.custom,
          updated_at = $2
         FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, workspace_id uuid, add_tags text[], remove_tags text[], score_delta int, fields jsonb, custom jsonb)
        WHERE c.id = u.id AND c.workspace_id = u.workspace_id`,
      [
        JSON.stringify(changed.map(([id, c]) => ({ id, workspace_id: c.workspaceId, add_tags: c.addTags, remove_tags: c.removeTags, score_delta: c.scoreDelta, fields: c.fields, custom: c.custom }))),
        now,
      ],
    );
  }
  for (const [workspaceId, events] of batch.events) await recordEvents(tx, eventSink, workspaceId, events, now);
  for (const m of batch.emails) {
    await enqueueEmail(tx, { workspaceId: m.workspaceId, contactId: m.contactId, idempotencyKey: m.key, sourceType: 'campaign', sourceId: m.campaignId, from: m.from, to: m.to, subject: m.subject, html: m.html, text: m.text, ...(m.topic ? { topic: m.topic } : {}), ...(m.aiMode ? { aiMode: m.aiMode } : {}) });
  }
  if (batch.webhooks.length > 0) {
    // name: enqueueWebhooks — the idempotency key makes a replayed step find its row.
    await tx.query(
      `INSERT INTO campaign_webhooks (workspace_id, campaign_id, enrollment_id, idempotency_key, url, secret, body, next_attempt_at, created_at)
       SELECT w.workspace_id, w.campaign_id, w.enrollment_id, w.key, w.url, w.secret, w.body, $2, $2
         FROM jsonb_to_recordset($1::jsonb) AS w(workspace_id uuid, campaign_id uuid, enrollment_id uuid, key text, url text, secret text, body jsonb)
       ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`,
      [JSON.stringify(batch.webhooks.map((w) => ({ workspace_id: w.workspaceId, campaign_id: w.campaignId, enrollment_id: w.enrollmentId, key: w.key, url: w.url, secret: w.secret, body: w.body }))), now],
    );
  }
  if (batch.steps.length > 0) {
    // name: appendJourneySteps — one INSERT for the whole batch, from typed arrays.
    const steps = batch.steps;
    await tx.query(
      `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
       SELECT u.workspace_id, u.campaign_id, u.enrollment_id, u.node_id, u.outcome, u.handle, u.detail::jsonb, $8
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS u(workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail)`,
      [
        steps.map((s) => s.workspaceId),
        steps.map((s) => s.campaignId),
        steps.map((s) => s.enrollmentId),
        steps.map((s) => s.nodeId),
        steps.map((s) => s.outcome),
        steps.map((s) => s.handle),
        steps.map((s) => JSON.stringify(s.detail)),
        now,
      ],
    );
  }
  const ids: string[] = [];
  const statuses: string[] = [];
  const nodes: string[] = [];
  const runAts: Date[] = [];
  const attempts: number[] = [];
  const errors: Array<string | null> = [];
  const reasons: Array<string | null> = [];
  const waits: Array<string | null> = [];
  for (const [id, s] of batch.states) {
    ids.push(id);
    statuses.push(s.status);
    nodes.push(s.nodeId);
    runAts.push(s.nextRunAt);
    attempts.push(s.attempts);
    errors.push(s.lastError);
    reasons.push(s.exitReason);
    waits.push(s.waitingFor === null ? null : JSON.stringify(s.waitingFor));
  }
  // name: advanceEnrollments — one UPDATE … FROM unnest for the whole batch; the rows are
  // already locked by the claim, so this takes no new locks.
  await tx.query(
    `UPDATE enrollments e SET
        status = u.status, current_node_id = u.node_id, next_run_at = u.next_run_at, attempts = u.attempts,
        last_error = u.last_error, exit_reason = u.exit_reason, waiting_for = u.waiting_for::jsonb,
        finished_at = CASE WHEN u.status IN ('completed', 'exited') THEN $9::timestamptz ELSE NULL END,
        updated_at = $9
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::text[], $7::text[], $8::text[])
            AS u(id, status, node_id, next_run_at, attempts, last_error, exit_reason, waiting_for)
      WHERE e.id = u.id`,
    [ids, statuses, nodes, runAts, attempts, errors, reasons, waits, now],
  );
}
