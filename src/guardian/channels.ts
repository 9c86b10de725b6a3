/**
 * Guardian channels: where notifications go (email recipients, a Slack incoming webhook, a signed
 * generic webhook, the in-app centre). Targets are checked at save — recipients are addresses, a
 * Slack URL is a Slack incoming-webhook URL, a webhook URL resolves to public addresses only (the
 * campaign webhooks' guard) — and secrets (the Slack URL, the webhook URL and its signing secret)
 * are sealed with the email providers' CredentialVault and never returned. A webhook's `whsec_`
 * signing secret is generated here and shown once, in the answer to its creation.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { vetWebhookUrl, WebhookRefused, type DnsResolver } from '../campaigns/webhooks.js';
import { parseEmail } from '../contacts/contact-model.js';
import type { CredentialVault } from '../email/provider-settings.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import type { ChannelView, CreateChannelInput, UpdateChannelInput } from './channels.schemas.js';
import { digestView } from './digest-schedule.js';
import { workspaceTimeZone } from '../core/workspace.js';

export type ChannelKind = ChannelView['kind'];

export interface ChannelPolicy {
  /** URL prefixes a Slack channel may use (GUARDIAN_SLACK_URL_PREFIXES); Slack's own by default. */
  slackUrlPrefixes: readonly string[];
  /** Webhook URLs may name private, loopback or link-local hosts (GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS; tests). */
  allowPrivateHosts: boolean;
}

export interface ChannelDeps {
  db: Database;
  clock: Clock;
  vault: CredentialVault;
  dns: DnsResolver;
  policy: ChannelPolicy;
}

/** The sealed part of a channel: Slack {url}; webhook {url, secret}. */
export interface ChannelSecret {
  url?: string;
  secret?: string;
}

export interface ChannelRow {
  id: string;
  workspace_id: string;
  kind: ChannelKind;
  name: string;
  config: { recipients?: string[]; host?: string };
  secret_ciphertext: string | null;
  enabled: boolean;
  consecutive_failures: number;
  digest_frequency: 'daily' | 'weekly' | null;
  digest_hour: number | null;
  digest_weekday: number | null;
  next_digest_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CHANNEL_COLUMNS =
  'id, workspace_id, kind, name, config, secret_ciphertext, enabled, consecutive_failures, digest_frequency, digest_hour, digest_weekday, next_digest_at, created_at, updated_at';

export function toChannelView(row: ChannelRow, timeZone: string): ChannelView {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    enabled: row.enabled,
    ...(row.kind === 'email' ? { recipients: row.config.recipients ?? [] } : {}),
    ...(row.config.host ? { host: row.config.host } : {}),
    consecutiveFailures: row.consecutive_failures,
    digest: digestView(row, timeZone),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function openSecret(vault: CredentialVault, row: Pick<ChannelRow, 'secret_ciphertext'>): ChannelSecret {
  return row.secret_ciphertext ? (vault.decrypt(row.secret_ciphertext) as ChannelSecret) : {};
}

function normalizeRecipients(raw: readonly string[]): string[] {
  const bad = raw.filter((r) => parseEmail(r) === null);
  if (bad.length > 0) {
    throw new AppError('GUARDIAN_RECIPIENTS_INVALID', `${bad.map((b) => `"${b.slice(0, 100)}"`).join(', ')} ${bad.length === 1 ? 'is not an email address' : 'are not email addresses'}`, { invalid: bad });
  }
  return [...new Set(raw.map((r) => parseEmail(r)!))];
}

export function checkSlackUrl(raw: string, policy: ChannelPolicy): URL {
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  if (!url || !policy.slackUrlPrefixes.some((prefix) => raw.startsWith(prefix)) || url.username || url.password) {
    throw new AppError('GUARDIAN_SLACK_URL_INVALID', 'This is not a Slack incoming-webhook URL: it must start with https://hooks.slack.com/services/ (Slack → Apps → Incoming Webhooks → Add to Slack)');
  }
  return url;
}

/** The save-time SSRF guard of webhook URLs (the campaign webhooks' vetWebhookUrl), unless private hosts are allowed. */
export async function checkWebhookUrl(raw: string, deps: Pick<ChannelDeps, 'dns' | 'policy'>): Promise<URL> {
  try {
    if (deps.policy.allowPrivateHosts) {
      const url = new URL(raw);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookRefused(`scheme ${url.protocol} is not allowed`);
      return url;
    }
    return (await vetWebhookUrl(raw, deps.dns)).url;
  } catch (error) {
    if (error instanceof WebhookRefused) throw new AppError('GUARDIAN_WEBHOOK_URL_REFUSED', `${error.message}: webhooks may only call public addresses`);
    if (error instanceof TypeError) throw new AppError('GUARDIAN_WEBHOOK_URL_REFUSED', 'not a valid URL');
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new AppError('GUARDIAN_WEBHOOK_URL_REFUSED', `${new URL(raw).hostname} does not resolve`);
    throw error;
  }
}

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

async function loadRow(q: Queryable, workspaceId: string, id: string, lock = false): Promise<ChannelRow> {
  const { rows } = await q.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM guardian_channels WHERE workspace_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [workspaceId, id]);
  if (!rows[0]) throw notFound('Channel');
  return rows[0];
}

export async function getChannelRow(q: Queryable, workspaceId: string, id: string): Promise<ChannelRow> {
  return loadRow(q, workspaceId, id);
}

export async function listChannels(q: Queryable, workspaceId: string): Promise<ChannelView[]> {
  const zone = await workspaceTimeZone(q, workspaceId);
  const { rows } = await q.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM guardian_channels WHERE workspace_id = $1 ORDER BY created_at, id`, [workspaceId]);
  return rows.map((r) => toChannelView(r, zone));
}

export async function getChannel(q: Queryable, workspaceId: string, id: string): Promise<ChannelView> {
  return toChannelView(await loadRow(q, workspaceId, id), await workspaceTimeZone(q, workspaceId));
}

export async function createChannel(deps: ChannelDeps, workspaceId: string, actor: Actor, input: CreateChannelInput): Promise<{ channel: ChannelView; signingSecret?: string }> {
  let config: ChannelRow['config'] = {};
  let secret: ChannelSecret | null = null;
  if (input.kind === 'email') config = { recipients: normalizeRecipients(input.recipients) };
  if (input.kind === 'slack') {
    const url = checkSlackUrl(input.url, deps.policy);
    config = { host: url.host };
    secret = { url: url.toString() };
  }
  if (input.kind === 'webhook') {
    const url = await checkWebhookUrl(input.url, deps);
    config = { host: url.host };
    secret = { url: url.toString(), secret: newSigningSecret() };
  }
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<ChannelRow>(
      `INSERT INTO guardian_channels (workspace_id, kind, name, config, secret_ciphertext, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${CHANNEL_COLUMNS}`,
      [workspaceId, input.kind, input.name.trim(), JSON.stringify(config), secret ? deps.vault.encrypt(secret as Record<string, string>) : null, input.enabled ?? true, now],
    );
    await recordAudit(tx, { workspaceId, actor, action: 'guardian.channel.create', resourceType: 'guardian_channel', resourceId: rows[0]!.id, after: { kind: input.kind, name: input.name, config } });
    return rows[0]!;
  });
  const channel = toChannelView(row, await workspaceTimeZone(deps.db, workspaceId));
  return secret?.secret ? { channel, signingSecret: secret.secret } : { channel };
}

export async function updateChannel(deps: ChannelDeps, workspaceId: string, actor: Actor, id: string, input: UpdateChannelInput): Promise<ChannelView> {
  const current = await loadRow(deps.db, workspaceId, id);
  if (input.recipients !== undefined && current.kind !== 'email') throw new AppError('VALIDATION_FAILED', 'Only email channels have recipients', { field: 'recipients' });
  if (input.url !== undefined && current.kind !== 'slack' && current.kind !== 'webhook') throw new AppError('VALIDATION_FAILED', 'Only Slack and webhook channels have a URL', { field: 'url' });
  let config = current.config;
  let sealed = current.secret_ciphertext;
  if (input.recipients !== undefined) config = { recipients: normalizeRecipients(input.recipients) };
  if (input.url !== undefined) {
    const url = current.kind === 'slack' ? checkSlackUrl(input.url, deps.policy) : await checkWebhookUrl(input.url, deps);
    config = { host: url.host };
    // The signing secret stays: the receiver keeps verifying with the secret it has.
    sealed = deps.vault.encrypt({ ...openSecret(deps.vault, current), url: url.toString() } as Record<string, string>);
  }
  const row = await deps.db.transaction(async (tx) => {
    const before = await loadRow(tx, workspaceId, id, true);
    const { rows } = await tx.query<ChannelRow>(
      `UPDATE guardian_channels SET name = $3, enabled = $4, config = $5, secret_ciphertext = $6, updated_at = $7,
              consecutive_failures = CASE WHEN $8::boolean THEN 0 ELSE consecutive_failures END
        WHERE workspace_id = $1 AND id = $2 RETURNING ${CHANNEL_COLUMNS}`,
      [workspaceId, id, input.name?.trim() ?? before.name, input.enabled ?? before.enabled, JSON.stringify(config), sealed, deps.clock.now(), input.url !== undefined || input.recipients !== undefined],
    );
    await recordAudit(tx, {
      workspaceId,
      actor,
      action: 'guardian.channel.update',
      resourceType: 'guardian_channel',
      resourceId: id,
      before: { name: before.name, enabled: before.enabled, config: before.config },
      after: { name: rows[0]!.name, enabled: rows[0]!.enabled, config, ...(input.url !== undefined ? { urlChanged: true } : {}) },
    });
    return rows[0]!;
  });
  return toChannelView(row, await workspaceTimeZone(deps.db, workspaceId));
}

/** Deletes the channel; its deliveries stay in the log, and rules naming it log failed deliveries. */
export async function deleteChannel(deps: Pick<ChannelDeps, 'db'>, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const before = await loadRow(tx, workspaceId, id, true);
    await tx.query('DELETE FROM guardian_channels WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'guardian.channel.delete', resourceType: 'guardian_channel', resourceId: id, before: { kind: before.kind, name: before.name, config: before.config } });
  });
}
