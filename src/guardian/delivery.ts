/**
 * Delivery of Guardian notifications: claims due deliveries (pending, or retrying whose time has
 * come) with FOR UPDATE SKIP LOCKED under this process's holder id (src/db/holder.ts), sends each
 * through its channel, and records every attempt (time, response code, error, duration). A failed
 * attempt is retried with backoff and jitter (platform/backoff.ts) until `max_attempts`, then the
 * delivery is failed. A channel's run of failed attempts is counted; the fifth in a row puts a
 * "channel failing" notification in the in-app centre.
 *
 * Guarantees per channel kind (docs/guardian.md#deliveries):
 * - in-app and email: the notification row, or the message in the email outbox, is written in the
 *   transaction that marks the delivery sent — exactly once (email then goes out under the email
 *   pipeline's own guarantee, as transactional mail).
 * - webhook: at least once with an idempotency key — a delivery whose process died mid-request is
 *   sent again with the same `webhook-id`, which the receiver uses to drop the repeat.
 * - Slack: at most once — Slack keeps no idempotency key, so a delivery whose process died
 *   mid-request is logged failed ("outcome unknown") instead of being posted a second time.
 */
import type { Database, Queryable } from '../db/database.js';
import { deadHoldersCtes, type WorkHolder } from '../db/holder.js';
import { vetWebhookUrl, WebhookRefused, type DnsResolver, type ResolvedAddress, type WebhookHttpClient } from '../campaigns/webhooks.js';
import type { CredentialVault } from '../email/provider-settings.js';
import { enqueueEmail } from '../email/outbox.js';
import { backoffDelay } from '../platform/backoff.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { checkSlackUrl, CHANNEL_COLUMNS, openSecret, type ChannelPolicy, type ChannelRow, type ChannelSecret } from './channels.js';
import { emailContent, inAppContent, slackMessage, webhookBody, type NotificationPayload } from './render.js';
import { standardWebhookHeaders } from './standard-webhooks.js';

export const FAILING_STREAK = 5;
export const RETRY_BACKOFF = { baseMs: 10_000, maxMs: 3_600_000 };
const TIMEOUT_MS = 10_000;

export interface DeliveryDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  holder: WorkHolder;
  vault: CredentialVault;
  http: WebhookHttpClient;
  dns: DnsResolver;
  random: () => number;
  policy: ChannelPolicy;
  emailFrom: string;
}

export interface ClaimedDelivery {
  id: string;
  workspace_id: string;
  channel_id: string;
  purpose: 'alert' | 'test' | 'digest';
  payload: NotificationPayload;
  attempts: number;
  max_attempts: number;
}

export interface AttemptResult {
  id: string;
  channelId: string;
  workspaceId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  outcome: 'sent' | 'retry' | 'failed';
  nextAttemptAt: Date | null;
}

const CLAIM_RETURNING = 'id, workspace_id, channel_id, purpose, payload, attempts, max_attempts';

// name: reclaimDeadNotifierHolders — deliveries held by a process that died. Nothing of an in-app
// or email delivery was committed (its writes share the transaction that marks it sent), and a
// webhook carries its idempotency key: both become due again. A Slack post may have been made,
// and Slack would show it twice: it is logged failed.
export async function reclaimDeadNotifierHolders(deps: Pick<DeliveryDeps, 'db' | 'clock'>): Promise<number> {
  const now = deps.clock.now();
  const released = await deps.db.query(
    `WITH RECURSIVE ${deadHoldersCtes('guardian_deliveries', "status = 'sending'")}
     UPDATE guardian_deliveries d
        SET holder_id = NULL,
            status = CASE WHEN d.channel_kind = 'slack' THEN 'failed' ELSE 'retrying' END,
            next_attempt_at = $1,
            failed_at = CASE WHEN d.channel_kind = 'slack' THEN $1::timestamptz END,
            last_error = CASE WHEN d.channel_kind = 'slack'
                              THEN 'outcome unknown: the delivering process died during the request to Slack; not posted again, since Slack cannot drop a repeat'
                              ELSE 'the delivering process died; delivered again with the same webhook-id' END
       FROM (SELECT g.id FROM guardian_deliveries g JOIN dead_holders h ON g.holder_id = h.holder
              WHERE g.status = 'sending'
                FOR UPDATE OF g SKIP LOCKED) dead
      WHERE d.id = dead.id`,
    [now],
  );
  return released.rowCount;
}

async function resolveTarget(raw: string, deps: Pick<DeliveryDeps, 'dns' | 'policy'>, vet: boolean): Promise<{ url: URL; address: ResolvedAddress }> {
  if (vet && !deps.policy.allowPrivateHosts) return vetWebhookUrl(raw, deps.dns);
  const url = new URL(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) return { url, address: { address: host, family: host.includes(':') ? 6 : 4 } };
  const found = await deps.dns.resolve(host);
  if (!found[0]) throw new WebhookRefused(`${host} does not resolve`);
  return { url, address: found[0] };
}

/** One HTTP attempt of a Slack or webhook delivery. */
async function attemptHttp(deps: DeliveryDeps, delivery: ClaimedDelivery, channel: ChannelRow, secret: ChannelSecret): Promise<{ status: number | null; error: string | null; permanent: boolean }> {
  if (!secret.url) return { status: null, error: 'the channel has no URL', permanent: true };
  try {
    const isSlack = channel.kind === 'slack';
    if (isSlack) checkSlackUrl(secret.url, deps.policy);
    const { url, address } = await resolveTarget(secret.url, deps, !isSlack);
    const body = isSlack ? JSON.stringify(slackMessage(delivery.payload)) : webhookBody(delivery.payload);
    const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'UniteHub-Guardian/1',
      ...(isSlack ? { 'webhook-id': delivery.id } : standardWebhookHeaders(secret.secret ?? '', delivery.id, timestamp, body)),
    };
    const response = await deps.http.post({ url, address, headers, body, timeoutMs: TIMEOUT_MS });
    if (response.status >= 200 && response.status < 300) return { status: response.status, error: null, permanent: false };
    if (response.status >= 300 && response.status < 400) return { status: response.status, error: `HTTP ${response.status}: redirects are not followed`, permanent: false };
    // Slack answers 403/404/410 for a revoked or removed webhook: asking again will not help.
    const permanent = response.status === 410 || (isSlack && (response.status === 403 || response.status === 404));
    return { status: response.status, error: `HTTP ${response.status}`, permanent };
  } catch (error) {
    if (error instanceof WebhookRefused) return { status: null, error: `${error.message}: webhooks may only call public addresses`, permanent: true };
    const message = error instanceof Error ? error.message : String(error);
    return { status: null, error: message, permanent: false };
  }
}

/** In-app and email deliveries: their writes, in the transaction that records them sent. */
async function writeInDatabase(tx: Queryable, deps: DeliveryDeps, delivery: ClaimedDelivery, channel: ChannelRow, at: Date): Promise<void> {
  if (channel.kind === 'in_app') {
    const content = inAppContent(delivery.payload);
    await tx.query(
      `INSERT INTO guardian_notifications (workspace_id, kind, delivery_id, alert_id, channel_id, severity, title, body, link, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (delivery_id) DO NOTHING`,
      [delivery.workspace_id, content.kind, delivery.id, content.alertId, channel.id, content.severity, content.title, content.body, content.link, at],
    );
    return;
  }
  const content = emailContent(delivery.payload);
  for (const to of channel.config.recipients ?? []) {
    // Transactional: no topic, so no marketing preferences or unsubscribe apply.
    await enqueueEmail(tx, { workspaceId: delivery.workspace_id, contactId: null, idempotencyKey: `guardian:${delivery.id}:${to}`, sourceType: 'guardian', sourceId: delivery.id, from: deps.emailFrom, to, ...content, notBefore: at });
  }
}

function settle(deps: DeliveryDeps, delivery: ClaimedDelivery, startedAt: Date, outcome: { status: number | null; error: string | null; permanent: boolean }): AttemptResult {
  const at = deps.clock.now();
  const ok = outcome.error === null;
  const last = outcome.permanent || delivery.attempts >= delivery.max_attempts;
  return {
    id: delivery.id,
    channelId: delivery.channel_id,
    workspaceId: delivery.workspace_id,
    attempt: delivery.attempts,
    startedAt,
    durationMs: Math.max(0, at.getTime() - startedAt.getTime()),
    responseStatus: outcome.status,
    error: outcome.error,
    outcome: ok ? 'sent' : last ? 'failed' : 'retry',
    nextAttemptAt: ok || last ? null : new Date(at.getTime() + Math.round(backoffDelay(delivery.attempts, RETRY_BACKOFF, deps.random))),
  };
}

/**
 * Records attempts in one statement: the deliveries (while still ours), the attempt log, and the
 * channels' failure streaks — only channels whose streak changes are locked and written (a sent
 * attempt on a channel at 0 leaves it alone).
 */
async function record(tx: Queryable, holderId: number, results: AttemptResult[], at: Date): Promise<void> {
  if (results.length === 0) return;
  const rows = results.map((r) => ({ ...r, startedAt: r.startedAt.toISOString(), nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null }));
  // Per channel: reset by a sent attempt, then the failures after it.
  const streaks = new Map<string, { reset: boolean; failures: number; workspaceId: string }>();
  for (const r of results) {
    const s = streaks.get(r.channelId) ?? { reset: false, failures: 0, workspaceId: r.workspaceId };
    if (r.outcome === 'sent') streaks.set(r.channelId, { reset: true, failures: 0, workspaceId: r.workspaceId });
    else streaks.set(r.channelId, { ...s, failures: s.failures + 1 });
  }
  // name: guardian-record-attempts — guardian_deliveries and guardian_channels by primary key.
  const changed = await tx.query<{ id: string; workspace_id: string; name: string; before: number; after: number }>(
    `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)
                  AS r(id uuid, attempt integer, "startedAt" timestamptz, "durationMs" integer, "responseStatus" integer, error text, outcome text, "nextAttemptAt" timestamptz)),
          deliveries AS (
            UPDATE guardian_deliveries d
               SET status = CASE r.outcome WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'failed' ELSE 'retrying' END,
                   next_attempt_at = COALESCE(r."nextAttemptAt", d.next_attempt_at), holder_id = NULL,
                   last_response_status = r."responseStatus", last_error = r.error,
                   sent_at = CASE WHEN r.outcome = 'sent' THEN $3::timestamptz END,
                   failed_at = CASE WHEN r.outcome = 'failed' THEN $3::timestamptz END
              FROM r
             WHERE d.id = r.id AND d.holder_id = $2 AND d.status = 'sending'),
          attempts AS (
            INSERT INTO guardian_delivery_attempts (delivery_id, attempt, started_at, duration_ms, response_status, error, outcome)
            SELECT r.id, r.attempt, r."startedAt", r."durationMs", r."responseStatus", r.error, r.outcome FROM r),
          s AS (SELECT * FROM jsonb_to_recordset($4::jsonb) AS s(id uuid, reset boolean, failures integer)),
          locked AS (SELECT c.id, c.consecutive_failures AS before FROM guardian_channels c JOIN s ON s.id = c.id
                      WHERE s.failures > 0 OR c.consecutive_failures <> 0 ORDER BY c.id FOR UPDATE OF c)
     UPDATE guardian_channels c
        SET consecutive_failures = CASE WHEN s.reset THEN s.failures ELSE c.consecutive_failures + s.failures END
       FROM s, locked
      WHERE c.id = s.id AND locked.id = c.id
      RETURNING c.id, c.workspace_id, c.name, locked.before, c.consecutive_failures AS after`,
    [JSON.stringify(rows), holderId, at, JSON.stringify([...streaks].map(([id, s]) => ({ id, reset: s.reset, failures: s.failures })))],
  );
  const crossed = changed.rows.filter((c) => c.after >= FAILING_STREAK && (c.before < FAILING_STREAK || streaks.get(c.id)!.reset));
  for (const c of crossed) {
    await tx.query(
      `INSERT INTO guardian_notifications (workspace_id, kind, channel_id, severity, title, body, link, created_at)
       VALUES ($1, 'channel_failing', $2, 'high', $3, $4, NULL, $5)`,
      [c.workspace_id, c.id, `Channel “${c.name}” keeps failing`, `Its last ${c.after} delivery attempts failed. Check its URL or recipients in Guardian → Channels, and its delivery log.`, at],
    );
  }
}

/** Sends claimed deliveries (concurrently) and records the outcomes; returns the results. */
export async function processClaimed(deps: DeliveryDeps, holderId: number, claimed: ClaimedDelivery[]): Promise<AttemptResult[]> {
  if (claimed.length === 0) return [];
  const ids = [...new Set(claimed.map((d) => d.channel_id))];
  const channels = new Map((await deps.db.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM guardian_channels WHERE id = ANY($1::uuid[])`, [ids])).rows.map((c) => [c.id, c]));
  // Each channel's secret opened once per batch.
  const secrets = new Map<string, ChannelSecret>();
  const secretOf = (channel: ChannelRow): ChannelSecret => {
    let secret = secrets.get(channel.id);
    if (!secret) secrets.set(channel.id, (secret = openSecret(deps.vault, channel)));
    return secret;
  };
  const httpResults: AttemptResult[] = [];
  const all: AttemptResult[] = [];
  await Promise.all(
    claimed.map(async (delivery) => {
      const startedAt = deps.clock.now();
      const channel = channels.get(delivery.channel_id);
      const gone = !channel || channel.workspace_id !== delivery.workspace_id;
      if (gone || !channel.enabled) {
        const result = settle(deps, delivery, startedAt, { status: null, error: gone ? 'the channel was deleted' : 'the channel is disabled', permanent: true });
        httpResults.push(result);
        all.push(result);
        return;
      }
      if (channel.kind === 'slack' || channel.kind === 'webhook') {
        const result = settle(deps, delivery, startedAt, await attemptHttp(deps, delivery, channel, secretOf(channel)));
        httpResults.push(result);
        all.push(result);
        return;
      }
      const result = await deps.db.transaction(async (tx) => {
        const at = deps.clock.now();
        await writeInDatabase(tx, deps, delivery, channel, at);
        const sent = settle(deps, delivery, startedAt, { status: null, error: null, permanent: false });
        await record(tx, holderId, [sent], at);
        return sent;
      });
      all.push(result);
    }),
  );
  const at = deps.clock.now();
  await deps.db.transaction((tx) => record(tx, holderId, httpResults, at));
  return all;
}

/** Claims and delivers one batch of due deliveries; returns how many it attempted. */
export async function deliverDue(deps: DeliveryDeps, limit = 100): Promise<number> {
  const holderId = await deps.holder.id();
  const claimed = await deps.db.query<ClaimedDelivery>(
    `UPDATE guardian_deliveries SET status = 'sending', holder_id = $3, attempts = attempts + 1
      WHERE id IN (SELECT id FROM guardian_deliveries
                    WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $1
                    ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING ${CLAIM_RETURNING}`,
    [deps.clock.now(), limit, holderId],
  );
  await processClaimed(deps, holderId, claimed.rows);
  return claimed.rows.length;
}

/** Inserts a delivery already claimed by this process (test sends), and delivers it now, once. */
export async function deliverNow(deps: DeliveryDeps, input: { workspaceId: string; channel: ChannelRow; purpose: 'test'; payload: NotificationPayload }): Promise<AttemptResult> {
  const holderId = await deps.holder.id();
  const now = deps.clock.now();
  const inserted = await deps.db.query<ClaimedDelivery>(
    `INSERT INTO guardian_deliveries (workspace_id, channel_id, channel_kind, channel_name, purpose, payload, status, attempts, max_attempts, next_attempt_at, holder_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'sending', 1, 1, $7, $8, $7) RETURNING ${CLAIM_RETURNING}`,
    [input.workspaceId, input.channel.id, input.channel.kind, input.channel.name, input.purpose, JSON.stringify(input.payload), now, holderId],
  );
  const [result] = await processClaimed(deps, holderId, inserted.rows);
  return result!;
}
