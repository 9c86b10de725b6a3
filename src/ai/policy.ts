/**
 * Per-workspace AI policies (allowed providers and models, max tokens, PII redaction, approval)
 * and the per-model price table (built-in prices, overridden per workspace by admins). Every
 * change is audited.
 */
import type { Database, Queryable } from '../db/database.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { AI_PROVIDERS, type AiProviderKind } from './provider.js';

export interface AiPolicy {
  allowedProviders: AiProviderKind[];
  /** Empty: every model that has a price. */
  allowedModels: string[];
  maxTokens: number;
  redactPii: boolean;
  personalFields: string[];
  requireApproval: boolean;
}

export const DEFAULT_POLICY: AiPolicy = { allowedProviders: [...AI_PROVIDERS], allowedModels: [], maxTokens: 1024, redactPii: true, personalFields: [], requireApproval: false };

export type PricedProvider = Exclude<AiProviderKind, 'offline'>;

export interface ModelPrice {
  provider: PricedProvider;
  model: string;
  /** Per million tokens, in the workspace's currency units. */
  inputPerMTok: number;
  outputPerMTok: number;
  source: 'built-in' | 'workspace';
}

/** List prices when this was written (USD per million tokens); admins override them per workspace. */
export const BUILT_IN_PRICES: ReadonlyArray<Omit<ModelPrice, 'source'>> = [
  { provider: 'openai', model: 'gpt-4o-mini', inputPerMTok: 0.15, outputPerMTok: 0.6 },
  { provider: 'openai', model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10 },
  { provider: 'openai', model: 'gpt-4.1-mini', inputPerMTok: 0.4, outputPerMTok: 1.6 },
  { provider: 'openai', model: 'gpt-4.1', inputPerMTok: 2, outputPerMTok: 8 },
  { provider: 'anthropic', model: 'claude-3-5-haiku-latest', inputPerMTok: 0.8, outputPerMTok: 4 },
  { provider: 'anthropic', model: 'claude-haiku-4-5', inputPerMTok: 1, outputPerMTok: 5 },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', inputPerMTok: 3, outputPerMTok: 15 },
];

export interface PolicyRow {
  allowed_providers: string[];
  allowed_models: string[];
  max_tokens: number;
  redact_pii: boolean;
  personal_fields: string[];
  require_approval: boolean;
}

/** What the AI settings writes (policy, prices, budget, variant reviews) need. */
export interface AiDeps {
  db: Database;
  clock: Clock;
}

export async function getPolicy(q: Queryable, workspaceId: string): Promise<AiPolicy> {
  const result = await q.query<PolicyRow>('SELECT allowed_providers, allowed_models, max_tokens, redact_pii, personal_fields, require_approval FROM ai_policies WHERE workspace_id = $1', [workspaceId]);
  return policyOfRow(result.rows[0] ?? null);
}

/** A stored policy row (or none: the defaults) as the policy. */
export function policyOfRow(row: PolicyRow | null): AiPolicy {
  if (!row) return { ...DEFAULT_POLICY };
  return {
    allowedProviders: row.allowed_providers.filter((p): p is AiProviderKind => (AI_PROVIDERS as readonly string[]).includes(p)),
    allowedModels: row.allowed_models,
    maxTokens: row.max_tokens,
    redactPii: row.redact_pii,
    personalFields: row.personal_fields,
    requireApproval: row.require_approval,
  };
}

export async function putPolicy({ db, clock }: AiDeps, workspaceId: string, actor: Actor, policy: AiPolicy): Promise<AiPolicy> {
  return db.transaction(async (tx) => {
    const before = await getPolicy(tx, workspaceId);
    await tx.query(
      `INSERT INTO ai_policies (workspace_id, allowed_providers, allowed_models, max_tokens, redact_pii, personal_fields, require_approval, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (workspace_id) DO UPDATE SET allowed_providers = $2, allowed_models = $3, max_tokens = $4, redact_pii = $5,
         personal_fields = $6, require_approval = $7, updated_at = $8`,
      [workspaceId, [...new Set(policy.allowedProviders)], [...new Set(policy.allowedModels)], policy.maxTokens, policy.redactPii, [...new Set(policy.personalFields)], policy.requireApproval, clock.now()],
    );
    const after = await getPolicy(tx, workspaceId);
    await recordAudit(tx, { workspaceId, actor, action: 'ai.policy.update', resourceType: 'ai_policy', resourceId: workspaceId, before, after });
    return after;
  });
}

export async function listPrices(q: Queryable, workspaceId: string): Promise<ModelPrice[]> {
  const rows = await q.query<PriceRow>('SELECT provider, model, input_per_mtok, output_per_mtok FROM ai_prices WHERE workspace_id = $1', [workspaceId]);
  return mergePrices(rows.rows);
}

export interface PriceRow {
  provider: PricedProvider;
  model: string;
  input_per_mtok: string | number;
  output_per_mtok: string | number;
}

/** The built-in table with the workspace's own prices over it. */
export function mergePrices(rows: PriceRow[]): ModelPrice[] {
  const own = new Map(rows.map((r) => [`${r.provider}:${r.model}`, { provider: r.provider, model: r.model, inputPerMTok: Number(r.input_per_mtok), outputPerMTok: Number(r.output_per_mtok), source: 'workspace' as const }]));
  const merged: ModelPrice[] = BUILT_IN_PRICES.filter((p) => !own.has(`${p.provider}:${p.model}`)).map((p) => ({ ...p, source: 'built-in' as const }));
  return [...merged, ...own.values()].sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
}

export async function priceOf(q: Queryable, workspaceId: string, provider: AiProviderKind, model: string): Promise<ModelPrice | null> {
  return priceIn(provider === 'offline' ? [] : await listPrices(q, workspaceId), provider, model);
}

/** A model's price in a price list; the offline personalizer costs 0. */
export function priceIn(prices: ModelPrice[], provider: AiProviderKind, model: string): ModelPrice | null {
  if (provider === 'offline') return { provider: 'openai', model, inputPerMTok: 0, outputPerMTok: 0, source: 'built-in' };
  return prices.find((p) => p.provider === provider && p.model === model) ?? null;
}

export async function putPrice({ db, clock }: AiDeps, workspaceId: string, actor: Actor, price: Omit<ModelPrice, 'source'>): Promise<ModelPrice> {
  return db.transaction(async (tx) => {
    const before = (await listPrices(tx, workspaceId)).find((p) => p.provider === price.provider && p.model === price.model) ?? null;
    await tx.query(
      `INSERT INTO ai_prices (workspace_id, provider, model, input_per_mtok, output_per_mtok, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (workspace_id, provider, model) DO UPDATE SET input_per_mtok = $4, output_per_mtok = $5, updated_at = $6`,
      [workspaceId, price.provider, price.model, price.inputPerMTok, price.outputPerMTok, clock.now()],
    );
    const after: ModelPrice = { ...price, source: 'workspace' };
    await recordAudit(tx, { workspaceId, actor, action: 'ai.price.update', resourceType: 'ai_price', resourceId: `${price.provider}:${price.model}`, before, after });
    return after;
  });
}

export function costOf(price: Pick<ModelPrice, 'inputPerMTok' | 'outputPerMTok'>, tokensIn: number, tokensOut: number): number {
  return Math.round(((tokensIn * price.inputPerMTok + tokensOut * price.outputPerMTok) / 1_000_000) * 1e6) / 1e6;
}
