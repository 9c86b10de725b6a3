/**
 * Deep health of email delivery: how late the oldest due message is, and open provider circuits —
 * this process's own and those other live processes report (`reportedOpen`: with split roles the
 * breakers live in the worker, while /health/deep is answered by the api process).
 */
import type { Database } from '../db/database.js';
import type { HealthCheck } from '../health/health.js';
import type { Clock } from '../platform/clock.js';
import type { ProviderSettings } from './provider-settings.js';

/** Queue lag above this degrades the report. */
const MAX_LAG_SECONDS = 300;

export function emailDeliveryCheck(db: Database, clock: Clock, providers: ProviderSettings, reportedOpen: (now: Date) => Promise<string[]>): HealthCheck {
  return {
    name: 'email_delivery',
    critical: false,
    async check() {
      const now = clock.now();
      // name: email-queue-lag — messages_due_idx (partial on queued/sending, by next_attempt_at) gives the oldest due row.
      const result = await db.query<{ oldest: Date | null }>(`SELECT min(next_attempt_at) AS oldest FROM messages WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1`, [now]);
      const oldest = result.rows[0]?.oldest ?? null;
      const lagSeconds = oldest ? Math.max(0, Math.round((now.getTime() - new Date(oldest).getTime()) / 1000)) : 0;
      const open = new Set([...providers.circuitStates().filter((c) => c.state === 'open').map((c) => c.providerId), ...(await reportedOpen(now))]);
      const problems = [
        ...(lagSeconds > MAX_LAG_SECONDS ? [`queue lag ${lagSeconds} s`] : []),
        ...(open.size > 0 ? [`${open.size} provider circuit(s) open`] : []),
      ];
      return { status: problems.length > 0 ? 'degraded' : 'ok', detail: problems.length > 0 ? problems.join('; ') : `queue lag ${lagSeconds} s` };
    },
  };
}
