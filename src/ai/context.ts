/**
 * What governance needs to know about a workspace before a call — its policy, its price table and
 * its provider settings — read in one statement, so a batch of calls (a sender batch) costs one
 * round trip for all three instead of three per call. Read per call or per batch, never cached:
 * a policy or price change applies to the next call in every process.
 */
import type { Queryable } from '../db/database.js';
import { mergePrices, policyOfRow, type AiPolicy, type ModelPrice, type PolicyRow, type PriceRow } from './policy.js';
import { SETTINGS_COLUMNS, type SettingsRow } from './settings.js';

export interface AiContext {
  policy: AiPolicy;
  prices: ModelPrice[];
  /** null: no provider configured (the offline personalizer). */
  settings: SettingsRow | null;
}

export async function loadAiContext(q: Queryable, workspaceId: string): Promise<AiContext> {
  const result = await q.query<{ policy: PolicyRow | null; settings: (Omit<SettingsRow, 'updated_at'> & { updated_at: string }) | null; prices: PriceRow[] }>(
    `SELECT (SELECT row_to_json(p) FROM (SELECT allowed_providers, allowed_models, max_tokens, redact_pii, personal_fields, require_approval
                                           FROM ai_policies WHERE workspace_id = $1) p) AS policy,
            (SELECT row_to_json(s) FROM (SELECT ${SETTINGS_COLUMNS} FROM ai_settings WHERE workspace_id = $1) s) AS settings,
            (SELECT COALESCE(json_agg(x), '[]'::json) FROM (SELECT provider, model, input_per_mtok, output_per_mtok
                                                              FROM ai_prices WHERE workspace_id = $1) x) AS prices`,
    [workspaceId],
  );
  const row = result.rows[0]!;
  // JSON carries microseconds; a settings row read directly carries milliseconds (the provider
  // cache compares versions), so both are cut to milliseconds the same way.
  const settings = row.settings ? { ...row.settings, updated_at: new Date(Math.floor(Date.parse(row.settings.updated_at))) } : null;
  return { policy: policyOfRow(row.policy), prices: mergePrices(row.prices), settings };
}
