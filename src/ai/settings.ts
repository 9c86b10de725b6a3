/**
 * The AI provider a workspace uses: offline (no row), or an OpenAI-compatible or Anthropic model
 * with a base URL and an API key encrypted at rest with the email providers' vault. The key is
 * never returned; a change is audited. Built providers are cached per workspace with their
 * circuit breaker until the settings change.
 */
import type { Database, Queryable } from '../db/database.js';
import { CircuitBreaker, type CircuitOptions, type CircuitState } from '../email/failover.js';
import { CredentialVault } from '../email/provider-settings.js';
import { AppError } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { createAnthropicProvider } from './anthropic.js';
import { createOfflineProvider, OFFLINE_MODEL } from './offline.js';
import { createOpenAiProvider } from './openai.js';
import { getPolicy, priceOf } from './policy.js';
import type { AiProvider, AiProviderKind } from './provider.js';
import { resilient, type RetryOptions } from './resilience.js';

export interface AiSettingsInput {
  provider: AiProviderKind;
  model?: string | undefined;
  baseUrl?: string | null | undefined;
  /** Omit to keep the stored key. */
  apiKey?: string | undefined;
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
}

export interface AiSettingsView {
  provider: AiProviderKind;
  model: string;
  baseUrl: string | null;
  hasApiKey: boolean;
  timeoutMs: number;
  maxRetries: number;
  updatedAt: string | null;
}

export interface SettingsRow {
  provider: AiProviderKind;
  model: string;
  base_url: string | null;
  credentials_encrypted: string | null;
  timeout_ms: number;
  max_retries: number;
  updated_at: Date;
}
type Row = SettingsRow;

/** The columns a settings row is read with (also by the batch context read, context.ts). */
export const SETTINGS_COLUMNS = 'provider, model, base_url, credentials_encrypted, timeout_ms, max_retries, updated_at';

const OFFLINE_VIEW: AiSettingsView = { provider: 'offline', model: OFFLINE_MODEL, baseUrl: null, hasApiKey: false, timeoutMs: 10_000, maxRetries: 2, updatedAt: null };
const DEFAULT_BASE_URL: Record<Exclude<AiProviderKind, 'offline'>, string> = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' };

export interface AiSettingsOptions {
  circuit?: CircuitOptions;
  retry: Omit<RetryOptions, 'maxRetries'>;
}

export class AiSettings {
  private readonly vault: CredentialVault;
  private readonly built = new Map<string, BuiltProvider>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    appSecret: string,
    private readonly options: AiSettingsOptions,
  ) {
    this.vault = new CredentialVault(appSecret);
  }

  private async row(workspaceId: string, q: Queryable = this.db): Promise<Row | null> {
    const result = await q.query<Row>(`SELECT ${SETTINGS_COLUMNS} FROM ai_settings WHERE workspace_id = $1`, [workspaceId]);
    return result.rows[0] ?? null;
  }

  private view(row: Row | null): AiSettingsView {
    if (!row) return { ...OFFLINE_VIEW };
    return { provider: row.provider, model: row.model, baseUrl: row.base_url, hasApiKey: row.credentials_encrypted !== null, timeoutMs: row.timeout_ms, maxRetries: row.max_retries, updatedAt: row.updated_at.toISOString() };
  }

  async get(workspaceId: string): Promise<AiSettingsView> {
    return this.view(await this.row(workspaceId));
  }

  /** Validates what can be known now: a model with a price, allowed by policy, and a key. */
  async put(workspaceId: string, actor: Actor, input: AiSettingsInput): Promise<AiSettingsView> {
    const before = await this.row(workspaceId);
    const model = input.provider === 'offline' ? OFFLINE_MODEL : input.model;
    if (!model) throw new AppError('VALIDATION_FAILED', `${input.provider} needs a model`, { field: 'model' });
    const policy = await getPolicy(this.db, workspaceId);
    if (!policy.allowedProviders.includes(input.provider)) throw new AppError('AI_POLICY_FORBIDS', `the workspace policy does not allow the ${input.provider} provider`, { field: 'provider' });
    if (input.provider !== 'offline') {
      if (policy.allowedModels.length > 0 && !policy.allowedModels.includes(model)) throw new AppError('AI_POLICY_FORBIDS', `the workspace policy does not allow the model ${model}`, { field: 'model' });
      if (!(await priceOf(this.db, workspaceId, input.provider, model))) {
        throw new AppError('AI_MODEL_UNKNOWN', `no price is known for ${input.provider} model ${model}; add it to the price table first`, { field: 'model' });
      }
    }
    const keepKey = before && before.provider === input.provider ? before.credentials_encrypted : null;
    const sealed = input.apiKey !== undefined ? this.vault.encrypt({ apiKey: input.apiKey }) : keepKey;
    if (input.provider !== 'offline' && !sealed) throw new AppError('AI_CREDENTIALS_MISSING', `${input.provider} needs an apiKey`, { field: 'apiKey' });
    const baseUrl = input.provider === 'offline' ? null : input.baseUrl === undefined ? (before?.provider === input.provider ? before.base_url : null) : input.baseUrl;
    if (baseUrl !== null && !/^https?:\/\/[^\s]+$/.test(baseUrl)) throw new AppError('VALIDATION_FAILED', 'baseUrl must be an http(s) URL', { field: 'baseUrl' });
    const view = await this.db.transaction(async (tx) => {
      const result = await tx.query<Row>(
        `INSERT INTO ai_settings (workspace_id, provider, model, base_url, credentials_encrypted, timeout_ms, max_retries, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (workspace_id) DO UPDATE SET provider = $2, model = $3, base_url = $4, credentials_encrypted = $5, timeout_ms = $6, max_retries = $7, updated_at = $8
         RETURNING provider, model, base_url, credentials_encrypted, timeout_ms, max_retries, updated_at`,
        [workspaceId, input.provider, model, baseUrl, input.provider === 'offline' ? null : sealed, input.timeoutMs ?? before?.timeout_ms ?? 10_000, input.maxRetries ?? before?.max_retries ?? 2, this.clock.now()],
      );
      const after = this.view(result.rows[0]!);
      await recordAudit(tx, { workspaceId, actor, action: 'ai.settings.update', resourceType: 'ai_settings', resourceId: workspaceId, before: this.view(before), after });
      return after;
    });
    this.built.delete(workspaceId);
    return view;
  }

  /** The workspace's provider (resilient), or the offline one when none is set. */
  async providerFor(workspaceId: string, q: Queryable = this.db): Promise<AiProvider> {
    return this.providerFromRow(workspaceId, await this.row(workspaceId, q));
  }

  /** The provider for a settings row already read (the batch path reads it with the policy). */
  providerFromRow(workspaceId: string, row: Row | null): AiProvider {
    if (!row || row.provider === 'offline') return createOfflineProvider();
    const version = row.updated_at.getTime();
    const cached = this.built.get(workspaceId);
    if (cached && cached.version === version) return cached.provider;
    const apiKey = row.credentials_encrypted ? this.vault.decrypt(row.credentials_encrypted).apiKey ?? '' : '';
    const base = row.provider === 'openai'
      ? createOpenAiProvider({ apiKey, model: row.model, baseUrl: row.base_url ?? DEFAULT_BASE_URL.openai, timeoutMs: row.timeout_ms })
      : createAnthropicProvider({ apiKey, model: row.model, baseUrl: row.base_url, timeoutMs: row.timeout_ms });
    const breaker = new CircuitBreaker(this.clock, this.options.circuit);
    const entry: BuiltProvider = { version, provider: base, breaker, lastError: null };
    entry.provider = resilient(base, breaker, { ...this.options.retry, maxRetries: row.max_retries }, (error) => {
      entry.lastError = { at: this.clock.now().toISOString(), kind: error.kind, message: error.message.slice(0, 300) };
    });
    this.built.set(workspaceId, entry);
    return entry.provider;
  }

  /** The providers this process has built, with their breaker and last failure (health checks). */
  builtProviders(): Array<{ workspaceId: string; kind: AiProviderKind; model: string; circuit: CircuitState; lastError: BuiltProvider['lastError'] }> {
    return [...this.built.entries()].map(([workspaceId, b]) => ({ workspaceId, kind: b.provider.kind, model: b.provider.model, circuit: b.breaker.current, lastError: b.lastError }));
  }
}

interface BuiltProvider {
  version: number;
  provider: AiProvider;
  breaker: CircuitBreaker;
  lastError: { at: string; kind: string; message: string } | null;
}
