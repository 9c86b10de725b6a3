/**
 * Three levels of health: live (the process answers), ready (database reachable, migrations
 * applied, not shutting down), deep (every dependency with status and latency).
 */
import type { Database } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';

export type CheckStatus = 'ok' | 'degraded' | 'unhealthy';

export interface CheckResult {
  status: CheckStatus;
  latencyMs: number;
  detail?: string;
}

/** A dependency the deep health check reports on (database, email providers, worker lag …). */
export interface HealthCheck {
  name: string;
  /** A failing critical check makes the whole report unhealthy; others only degrade it. */
  critical: boolean;
  check(): Promise<Omit<CheckResult, 'latencyMs'>>;
}

export async function timed(check: HealthCheck, timeoutMs = 2_000): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      check.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ...result, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: check.critical ? 'unhealthy' : 'degraded', latencyMs: Math.round(performance.now() - started), detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function databaseCheck(db: Database): HealthCheck {
  return {
    name: 'database',
    critical: true,
    async check() {
      await db.query('SELECT 1');
      const pending = await pendingMigrations(db);
      if (pending.length > 0) return { status: 'unhealthy', detail: `${pending.length} migrations pending` };
      return { status: 'ok', detail: db.kind };
    },
  };
}

export function overall(results: CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === 'unhealthy')) return 'unhealthy';
  if (results.some((r) => r.status === 'degraded')) return 'degraded';
  return 'ok';
}
