/**
 * Email providers configured per workspace: stored with encrypted credentials, turned into
 * provider clients, and routed with failover (see failover.ts). Routes are cached per workspace
 * for a few seconds; circuit breakers and rate limits live as long as the provider's settings.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { AppError, assertUnreachable, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { isPublicAddress, type DnsResolver, type ResolvedAddress } from '../campaigns/webhooks.js';
import ipaddr from 'ipaddr.js';
import { CircuitBreaker, createFailoverProvider, RateLimiter, type CircuitOptions, type RoutedProvider } from './failover.js';
import type { EmailProvider, ProviderCheck } from './provider.js';
import type { HttpClient } from './providers/http.js';
import { createPostmarkProvider } from './providers/postmark.js';
import { createResendProvider } from './providers/resend.js';
import { createSendGridProvider } from './providers/sendgrid.js';
import { createSesProvider } from './providers/ses.js';
import { createSmtpProvider } from './smtp.js';
import { parseSmtpUrl } from './smtp-url.js';

import type { ProviderKind } from './providers.schemas.js';

export { PROVIDER_KINDS, type ProviderKind } from './providers.schemas.js';

/** Optional fields that verify the provider's bounce and complaint webhooks. */
export const WEBHOOK_FIELDS: Record<ProviderKind, readonly string[]> = {
  smtp: [],
  resend: ['webhookSecret'],
  postmark: ['webhookUser', 'webhookPassword'],
  sendgrid: ['webhookPublicKey'],
  ses: [],
};

/** The credential fields each kind needs. */
export const CREDENTIAL_FIELDS: Record<ProviderKind, readonly string[]> = {
  smtp: ['url'],
  resend: ['apiKey'],
  postmark: ['serverToken'],
  sendgrid: ['apiKey'],
  ses: ['accessKeyId', 'secretAccessKey', 'region'],
};

export type Credentials = Record<string, string>;

/** AES-256-GCM with a key derived from the app secret: `v1.iv.tag.ciphertext`, base64url. */
export class CredentialVault {
  private readonly key: Buffer;
  constructor(appSecret: string) {
    this.key = createHmac('sha256', appSecret).update('unite-hub provider credentials v1').digest();
  }
  encrypt(credentials: Credentials): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }
  decrypt(sealed: string): Credentials {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown credential format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')) as Credentials;
  }
}

export interface ProviderSettingInput {
  name: string;
  kind: ProviderKind;
  priority?: number | undefined;
  enabled?: boolean | undefined;
  credentials?: Credentials | undefined;
  ratePerSecond?: number | null | undefined;
}

export interface ProviderSetting {
  id: string;
  name: string;
  kind: ProviderKind;
  priority: number;
  enabled: boolean;
  ratePerSecond: number | null;
  /** Credentials with secrets masked to their last four characters. */
  credentials: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

interface ProviderRow {
  id: string;
  name: string;
  kind: ProviderKind;
  priority: number;
  enabled: boolean;
  credentials_encrypted: string;
  rate_per_second: number | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, kind, priority, enabled, credentials_encrypted, rate_per_second, created_at, updated_at';

function mask(field: string, value: string): string {
  if (field === 'region' || field === 'webhookUser' || field === 'webhookPublicKey') return field === 'webhookPublicKey' ? `****${value.slice(-8)}` : value;
  if (field === 'url') {
    try {
      const url = new URL(value);
      if (url.password) url.password = '****';
      return url.toString();
    } catch {
      return '****';
    }
  }
  return value.length > 8 ? `****${value.slice(-4)}` : '****';
}

function validateCredentials(kind: ProviderKind, credentials: Credentials): void {
  const missing = CREDENTIAL_FIELDS[kind].filter((f) => typeof credentials[f] !== 'string' || credentials[f] === '');
  const unknown = Object.keys(credentials).filter((f) => !CREDENTIAL_FIELDS[kind].includes(f) && !WEBHOOK_FIELDS[kind].includes(f));
  if (missing.length > 0 || unknown.length > 0) {
    throw new AppError('PROVIDER_CREDENTIALS_INVALID', `${kind} needs credentials ${CREDENTIAL_FIELDS[kind].join(', ')}`, { missing, unknown });
  }
  if (kind === 'smtp') {
    if (!/^smtps?:\/\//.test(credentials.url!)) throw new AppError('PROVIDER_CREDENTIALS_INVALID', 'url must start with smtp:// or smtps://', { missing: [], unknown: [] });
    try {
      parseSmtpUrl(credentials.url!);
    } catch (error) {
      throw new AppError('PROVIDER_CREDENTIALS_INVALID', `url ${(error as Error).message}`, { missing: [], unknown: [] });
    }
  }
}

/**
 * Which hosts a workspace's SMTP provider may point at: like campaign webhooks, only public
 * addresses after DNS resolution, unless the operator allows private ones
 * (SMTP_ALLOW_PRIVATE_HOSTS, for a relay on the self-hoster's own network). Without it, saving or
 * testing a provider would let a workspace admin probe the server's network (open/closed/reset).
 */
export interface SmtpHostPolicy {
  dns: DnsResolver;
  allowPrivate: boolean;
}

async function assertSmtpHostAllowed(policy: SmtpHostPolicy | undefined, kind: ProviderKind, credentials: Credentials): Promise<void> {
  if (!policy || policy.allowPrivate || kind !== 'smtp') return;
  // smtp: is not a special URL scheme, so the host keeps its case.
  const host = new URL(credentials.url!).hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  const refuse = (reason: string) => {
    throw new AppError('PROVIDER_HOST_NOT_ALLOWED', `${reason}: SMTP providers may only use public addresses (an operator can allow private ones with SMTP_ALLOW_PRIVATE_HOSTS)`, { field: 'url', host });
  };
  if (host === 'localhost' || host.endsWith('.localhost')) refuse('localhost is not allowed');
  let addresses: ResolvedAddress[];
  try {
    addresses = ipaddr.isValid(host) ? [{ address: host, family: host.includes(':') ? 6 : 4 }] : await policy.dns.resolve(host);
  } catch {
    return refuse(`${host} does not resolve`);
  }
  if (addresses.length === 0) refuse(`${host} does not resolve`);
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) refuse(`${host} resolves to a non-public address (${bad.address})`);
}

export class ProviderSettings {
  private readonly vault: CredentialVault;
  private readonly cache = new Map<string, { loadedAt: number; provider: EmailProvider | null }>();
  private readonly loading = new Map<string, Promise<EmailProvider | null>>();
  private readonly health = new Map<string, { version: number; breaker: CircuitBreaker; limiter: RateLimiter | null; provider: EmailProvider }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    appSecret: string,
    private readonly http: HttpClient,
    private readonly options: { cacheMs?: number; circuit?: CircuitOptions; smtpHosts?: SmtpHostPolicy } = {},
  ) {
    this.vault = new CredentialVault(appSecret);
  }

  private view(row: ProviderRow): ProviderSetting {
    const credentials = this.vault.decrypt(row.credentials_encrypted);
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      priority: row.priority,
      enabled: row.enabled,
      ratePerSecond: row.rate_per_second,
      credentials: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, mask(k, v)])),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  /** A provider client for one stored row. */
  clientFor(kind: ProviderKind, credentials: Credentials): EmailProvider {
    switch (kind) {
      case 'smtp':
        return createSmtpProvider(credentials.url!);
      case 'resend':
        return createResendProvider({ apiKey: credentials.apiKey! }, this.http);
      case 'postmark':
        return createPostmarkProvider({ serverToken: credentials.serverToken! }, this.http);
      case 'sendgrid':
        return createSendGridProvider({ apiKey: credentials.apiKey! }, this.http);
      case 'ses':
        return createSesProvider({ accessKeyId: credentials.accessKeyId!, secretAccessKey: credentials.secretAccessKey!, region: credentials.region! }, this.http, this.clock);
      default:
        return assertUnreachable(kind);
    }
  }

  async list(workspaceId: string): Promise<ProviderSetting[]> {
    const result = await this.db.query<ProviderRow>(`SELECT ${COLUMNS} FROM email_providers WHERE workspace_id = $1 ORDER BY priority, created_at`, [workspaceId]);
    return result.rows.map((r) => this.view(r));
  }

  private async row(q: Queryable, workspaceId: string, id: string, lock = false): Promise<ProviderRow> {
    const result = await q.query<ProviderRow>(`SELECT ${COLUMNS} FROM email_providers WHERE workspace_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [workspaceId, id]);
    if (!result.rows[0]) throw notFound('Provider');
    return result.rows[0];
  }

  async get(workspaceId: string, id: string): Promise<ProviderSetting> {
    return this.view(await this.row(this.db, workspaceId, id));
  }

  async create(workspaceId: string, actor: Actor, input: ProviderSettingInput): Promise<ProviderSetting> {
    if (!input.credentials) throw new AppError('PROVIDER_CREDENTIALS_INVALID', `${input.kind} needs credentials ${CREDENTIAL_FIELDS[input.kind].join(', ')}`, { missing: CREDENTIAL_FIELDS[input.kind], unknown: [] });
    validateCredentials(input.kind, input.credentials);
    await assertSmtpHostAllowed(this.options.smtpHosts, input.kind, input.credentials);
    const created = await this.db.transaction(async (tx) => {
      const result = await tx.query<ProviderRow>(
        `INSERT INTO email_providers (workspace_id, name, kind, priority, enabled, credentials_encrypted, rate_per_second, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         RETURNING ${COLUMNS}`,
        [workspaceId, input.name, input.kind, input.priority ?? 100, input.enabled ?? true, this.vault.encrypt(input.credentials!), input.ratePerSecond ?? null, this.clock.now()],
      );
      const view = this.view(result.rows[0]!);
      await recordAudit(tx, { workspaceId, actor, action: 'provider.create', resourceType: 'email_provider', resourceId: view.id, after: view });
      return view;
    });
    this.cache.delete(workspaceId);
    this.loading.delete(workspaceId);
    return created;
  }

  async update(workspaceId: string, actor: Actor, id: string, input: ProviderSettingInput): Promise<ProviderSetting> {
    const updated = await this.db.transaction(async (tx) => {
      const before = await this.row(tx, workspaceId, id, true);
      const credentials = input.credentials ?? (input.kind === before.kind ? this.vault.decrypt(before.credentials_encrypted) : undefined);
      if (!credentials) throw new AppError('PROVIDER_CREDENTIALS_INVALID', `changing the kind to ${input.kind} needs new credentials`, { missing: CREDENTIAL_FIELDS[input.kind], unknown: [] });
      validateCredentials(input.kind, credentials);
      await assertSmtpHostAllowed(this.options.smtpHosts, input.kind, credentials);
      const result = await tx.query<ProviderRow>(
        `UPDATE email_providers
            SET name = $3, kind = $4, priority = $5, enabled = $6, credentials_encrypted = $7, rate_per_second = $8, updated_at = $9
          WHERE workspace_id = $1 AND id = $2
         RETURNING ${COLUMNS}`,
        [workspaceId, id, input.name, input.kind, input.priority ?? before.priority, input.enabled ?? before.enabled, this.vault.encrypt(credentials), input.ratePerSecond === undefined ? before.rate_per_second : input.ratePerSecond, this.clock.now()],
      );
      const view = this.view(result.rows[0]!);
      await recordAudit(tx, { workspaceId, actor, action: 'provider.update', resourceType: 'email_provider', resourceId: id, before: this.view(before), after: view });
      return view;
    });
    this.cache.delete(workspaceId);
    this.loading.delete(workspaceId);
    return updated;
  }

  async remove(workspaceId: string, actor: Actor, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const before = await this.row(tx, workspaceId, id, true);
      await tx.query('DELETE FROM email_providers WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
      await recordAudit(tx, { workspaceId, actor, action: 'provider.delete', resourceType: 'email_provider', resourceId: id, before: this.view(before) });
    });
    this.cache.delete(workspaceId);
    this.loading.delete(workspaceId);
  }

  /** Tests the connection and credentials of a stored provider without sending. */
  async test(workspaceId: string, id: string): Promise<ProviderCheck> {
    const row = await this.row(this.db, workspaceId, id);
    const credentials = this.vault.decrypt(row.credentials_encrypted);
    // Checked again on every test: a host saved before (or whose DNS changed) is not probed.
    await assertSmtpHostAllowed(this.options.smtpHosts, row.kind, credentials);
    const client = this.clientFor(row.kind, credentials);
    try {
      return client.check ? await client.check() : { ok: true, detail: 'no connection test for this provider' };
    } finally {
      await client.close?.();
    }
  }

  /** A stored provider's kind and decrypted credentials (webhook verification); null when unknown. */
  async credentialsOf(providerId: string): Promise<{ workspaceId: string; kind: ProviderKind; credentials: Credentials } | null> {
    const result = await this.db.query<{ workspace_id: string; kind: ProviderKind; credentials_encrypted: string }>('SELECT workspace_id, kind, credentials_encrypted FROM email_providers WHERE id = $1', [providerId]);
    const row = result.rows[0];
    return row ? { workspaceId: row.workspace_id, kind: row.kind, credentials: this.vault.decrypt(row.credentials_encrypted) } : null;
  }

  /** The circuit state of each configured provider (for health and Guardian). */
  circuitStates(): Array<{ providerId: string; state: string }> {
    return [...this.health].map(([providerId, h]) => ({ providerId, state: h.breaker.current }));
  }

  /**
   * The router for a workspace's enabled providers, or null when it has none (the sender then
   * uses the default provider). Cached for `cacheMs`; breakers survive reloads until the
   * provider's settings change.
   */
  async routerFor(workspaceId: string): Promise<EmailProvider | null> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(workspaceId);
    if (cached && now - cached.loadedAt < (this.options.cacheMs ?? 5000)) return cached.provider;
    // One load at a time per workspace: the sender's delivery workers all ask when the entry expires.
    const loading = this.loading.get(workspaceId);
    if (loading) return loading;
    const load = this.loadRouter(workspaceId, now).finally(() => this.loading.delete(workspaceId));
    this.loading.set(workspaceId, load);
    return load;
  }

  private async loadRouter(workspaceId: string, now: number): Promise<EmailProvider | null> {
    // name: workspace-providers — email_providers_workspace_idx serves the priority order.
    const result = await this.db.query<ProviderRow>(`SELECT ${COLUMNS} FROM email_providers WHERE workspace_id = $1 AND enabled ORDER BY priority, created_at`, [workspaceId]);
    const routes: RoutedProvider[] = result.rows.map((row) => {
      const version = row.updated_at.getTime();
      let entry = this.health.get(row.id);
      if (!entry || entry.version !== version) {
        void entry?.provider.close?.();
        entry = {
          version,
          breaker: new CircuitBreaker(this.clock, this.options.circuit),
          limiter: row.rate_per_second ? new RateLimiter(this.clock, row.rate_per_second) : null,
          provider: this.clientFor(row.kind, this.vault.decrypt(row.credentials_encrypted)),
        };
        this.health.set(row.id, entry);
      }
      return { provider: entry.provider, breaker: entry.breaker, limiter: entry.limiter };
    });
    const provider = routes.length > 0 ? createFailoverProvider(routes) : null;
    this.cache.set(workspaceId, { loadedAt: now, provider });
    return provider;
  }

  async close(): Promise<void> {
    await Promise.all([...this.health.values()].map((h) => h.provider.close?.()));
    this.health.clear();
    this.cache.clear();
    this.loading.clear();
  }
}
