/**
 * Monthly AI budgets. A call reserves its worst-case cost before it leaves the process — a batch
 * of calls all theirs in one statement (reserveMany) that locks the month's spend row, so
 * concurrent workers cannot together pass the limit. The call then settles its actual cost (always at most the reservation) and releases
 * the rest. Crossing the warning ratio or the limit records one ai_budget_alerts row per month.
 */
import type { Queryable } from '../db/database.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { AiDeps } from './policy.js';

export interface BudgetSetting {
  monthlyLimit: number | null;
  warnRatio: number;
}

export interface BudgetStatus extends BudgetSetting {
  month: string;
  spent: number;
  reserved: number;
  warnedAt: string | null;
  exceededAt: string | null;
}

export function monthOf(now: Date): string {
  return `${now.toISOString().slice(0, 7)}-01`;
}

export async function getBudget(q: Queryable, workspaceId: string, now: Date): Promise<BudgetStatus> {
  const month = monthOf(now);
  const result = await q.query<{ monthly_limit: string | null; warn_ratio: string | null; spent: string | null; reserved: string | null; warned_at: Date | null; exceeded_at: Date | null }>(
    `SELECT b.monthly_limit, b.warn_ratio, s.spent, s.reserved, s.warned_at, s.exceeded_at
       FROM (SELECT $1::uuid AS workspace_id) w
       LEFT JOIN ai_budgets b ON b.workspace_id = w.workspace_id
       LEFT JOIN ai_spend s ON s.workspace_id = w.workspace_id AND s.month = $2::date`,
    [workspaceId, month],
  );
  const r = result.rows[0]!;
  return {
    month,
    monthlyLimit: r.monthly_limit === null ? null : Number(r.monthly_limit),
    warnRatio: r.warn_ratio === null ? 0.8 : Number(r.warn_ratio),
    spent: Number(r.spent ?? 0),
    reserved: Number(r.reserved ?? 0),
    warnedAt: r.warned_at?.toISOString() ?? null,
    exceededAt: r.exceeded_at?.toISOString() ?? null,
  };
}

export async function putBudget({ db, clock }: AiDeps, workspaceId: string, actor: Actor, setting: BudgetSetting): Promise<BudgetStatus> {
  return db.transaction(async (tx) => {
    const before = await getBudget(tx, workspaceId, clock.now());
    if (setting.monthlyLimit === null) await tx.query('DELETE FROM ai_budgets WHERE workspace_id = $1', [workspaceId]);
    else {
      await tx.query(
        `INSERT INTO ai_budgets (workspace_id, monthly_limit, warn_ratio, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id) DO UPDATE SET monthly_limit = $2, warn_ratio = $3, updated_at = $4`,
        [workspaceId, setting.monthlyLimit, setting.warnRatio, clock.now()],
      );
    }
    const after = await getBudget(tx, workspaceId, clock.now());
    await recordAudit(tx, { workspaceId, actor, action: 'ai.budget.update', resourceType: 'ai_budget', resourceId: workspaceId, before: { monthlyLimit: before.monthlyLimit, warnRatio: before.warnRatio }, after: { monthlyLimit: after.monthlyLimit, warnRatio: after.warnRatio } });
    return after;
  });
}

/** Reserves `worstCase` of this month's budget; false when that would pass the limit. */
export async function reserveBudget(db: Queryable, workspaceId: string, now: Date, worstCase: number): Promise<boolean> {
  return (await reserveMany(db, workspaceId, now, [worstCase])) === 1;
}

/**
 * Reserves the worst cases of a batch of calls, in order, as many as fit under the limit, and
 * returns how many did (a prefix of `worstCases`, each > 0).
 * name: reserve-ai-budget — one statement: the spend row is locked (FOR UPDATE waits for a
 * concurrent reserver and then reads its committed row), the prefix that fits is computed from that
 * row, and the reservation added to it. Concurrent batches are serialized on the row, so no number
 * of workers can together reserve past the limit.
 */
export async function reserveMany(db: Queryable, workspaceId: string, now: Date, worstCases: number[]): Promise<number> {
  if (worstCases.length === 0) return 0;
  const month = monthOf(now);
  const reserve = () =>
    db.query<{ n: number }>(
      `WITH cur AS (SELECT spent, reserved FROM ai_spend WHERE workspace_id = $1 AND month = $2 FOR UPDATE),
            lim AS (SELECT COALESCE((SELECT monthly_limit FROM ai_budgets WHERE workspace_id = $1), 1e15) AS l),
            fit AS (SELECT count(*)::int AS n, COALESCE(max(x.cum), 0) AS total
                      FROM (SELECT sum(c) OVER (ORDER BY i) AS cum FROM unnest($3::numeric[]) WITH ORDINALITY AS t(c, i)) x, cur, lim
                     WHERE cur.spent + cur.reserved + x.cum <= lim.l)
       UPDATE ai_spend s SET reserved = s.reserved + fit.total FROM fit
        WHERE s.workspace_id = $1 AND s.month = $2
       RETURNING fit.n`,
      [workspaceId, month, worstCases],
    );
  let result = await reserve();
  if (result.rowCount === 0) {
    // The month's first call: create its spend row, then reserve.
    await db.query('INSERT INTO ai_spend (workspace_id, month) VALUES ($1, $2) ON CONFLICT (workspace_id, month) DO NOTHING', [workspaceId, month]);
    result = await reserve();
  }
  const n = result.rows[0]?.n ?? 0;
  if (n < worstCases.length) await recordAlert(db, workspaceId, month, 'exceeded', now);
  return n;
}

/** Turns a reservation into the actual cost and records a threshold crossed. */
export async function settleBudget(db: Queryable, workspaceId: string, now: Date, reserved: number, actual: number): Promise<void> {
  const month = monthOf(now);
  const result = await db.query<{ spent: string; monthly_limit: string | null; warn_ratio: string | null }>(
    `UPDATE ai_spend s SET reserved = GREATEST(s.reserved - $3, 0), spent = s.spent + $4
      WHERE s.workspace_id = $1 AND s.month = $2
     RETURNING s.spent, (SELECT monthly_limit FROM ai_budgets b WHERE b.workspace_id = $1) AS monthly_limit,
               (SELECT warn_ratio FROM ai_budgets b WHERE b.workspace_id = $1) AS warn_ratio`,
    [workspaceId, month, reserved, actual],
  );
  const row = result.rows[0];
  if (!row || row.monthly_limit === null) return;
  const spent = Number(row.spent);
  const limit = Number(row.monthly_limit);
  if (spent >= limit * Number(row.warn_ratio ?? 0.8)) await recordAlert(db, workspaceId, month, 'warning', now);
  if (spent >= limit) await recordAlert(db, workspaceId, month, 'exceeded', now);
}

async function recordAlert(db: Queryable, workspaceId: string, month: string, kind: 'warning' | 'exceeded', now: Date): Promise<void> {
  const column = kind === 'warning' ? 'warned_at' : 'exceeded_at';
  const marked = await db.query<{ spent: string }>(`UPDATE ai_spend SET ${column} = $3 WHERE workspace_id = $1 AND month = $2 AND ${column} IS NULL RETURNING spent`, [workspaceId, month, now]);
  if (marked.rowCount === 0) return;
  await db.query(
    `INSERT INTO ai_budget_alerts (workspace_id, month, kind, spent, monthly_limit, at)
     SELECT $1, $2, $3, $4, b.monthly_limit, $5 FROM ai_budgets b WHERE b.workspace_id = $1
     ON CONFLICT (workspace_id, month, kind) DO NOTHING`,
    [workspaceId, month, kind, marked.rows[0]!.spent, now],
  );
}

export async function listBudgetAlerts(q: Queryable, workspaceId: string): Promise<Array<{ month: string; kind: string; spent: number; monthlyLimit: number; at: string }>> {
  const result = await q.query<{ month: Date | string; kind: string; spent: string; monthly_limit: string; at: Date }>(
    'SELECT month, kind, spent, monthly_limit, at FROM ai_budget_alerts WHERE workspace_id = $1 ORDER BY at DESC LIMIT 50',
    [workspaceId],
  );
  return result.rows.map((r) => ({ month: typeof r.month === 'string' ? r.month : r.month.toISOString().slice(0, 10), kind: r.kind, spent: Number(r.spent), monthlyLimit: Number(r.monthly_limit), at: r.at.toISOString() }));
}

export type { Actor };
