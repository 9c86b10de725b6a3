/**
 * Deep health of AI: the workspace providers this process has in use with their circuit breakers
 * and last failure, the providers configured, and this month's budgets that are exhausted or past
 * their warning. Aggregated, so that no secret leaks into /health/deep: no key, base URL, workspace,
 * model or provider message — a failure is its kind and time. An open circuit degrades the report
 * (every call of that workspace falls back); an exhausted budget is reported, not a fault.
 */
import type { Database } from '../db/database.js';
import type { HealthCheck } from '../health/health.js';
import type { Clock } from '../platform/clock.js';
import { monthOf } from './budget.js';
import type { AiSettings } from './settings.js';

export function aiProviderCheck(db: Database, clock: Clock, settings: AiSettings): HealthCheck {
  return {
    name: 'ai',
    critical: false,
    async check() {
      const result = await db.query<{ configured: Record<string, number> | null; exceeded: number; warning: number }>(
        `SELECT (SELECT json_object_agg(provider, n) FROM (SELECT provider, count(*)::int AS n FROM ai_settings WHERE provider <> 'offline' GROUP BY provider) p) AS configured,
                count(*) FILTER (WHERE s.spent >= b.monthly_limit)::int AS exceeded,
                count(*) FILTER (WHERE s.spent < b.monthly_limit AND s.spent >= b.monthly_limit * b.warn_ratio)::int AS warning
           FROM ai_spend s JOIN ai_budgets b ON b.workspace_id = s.workspace_id
          WHERE s.month = $1`,
        [monthOf(clock.now())],
      );
      const row = result.rows[0]!;
      const configured = Object.entries(row.configured ?? {}).map(([provider, n]) => `${provider} ${n}`);
      const inUse = settings.builtProviders();
      const open = inUse.filter((p) => p.circuit === 'open');
      const halfOpen = inUse.filter((p) => p.circuit === 'half_open');
      const last = inUse.filter((p) => p.lastError).sort((a, b) => (a.lastError!.at < b.lastError!.at ? 1 : -1))[0]?.lastError ?? null;
      const parts = [
        `providers configured: ${configured.length > 0 ? configured.join(', ') : 'none (offline rules)'}`,
        `in use here: ${inUse.length} (circuits ${inUse.length - open.length - halfOpen.length} closed, ${halfOpen.length} half-open, ${open.length} open)`,
        `last failure: ${last ? `${last.kind} at ${last.at}` : 'none'}`,
        `budgets this month: ${row.exceeded} exhausted, ${row.warning} past the warning`,
      ];
      return { status: open.length > 0 ? 'degraded' : 'ok', detail: parts.join('; ') };
    },
  };
}
