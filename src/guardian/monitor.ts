/**
 * What only one process knows, written down so every process's Guardian evaluator sees it: this
 * process's heartbeat (its role and the workers it runs), the circuit state of each email provider
 * as its breakers see it, and its HTTP responses per minute (for the API 5xx rate). Every process
 * (API and worker roles alike) flushes every few seconds (migration 098's tables).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';

export interface ProcessMonitor {
  readonly processId: string;
  /** Counts one HTTP response (called by the app's onResponse hook). */
  countResponse(status: number): void;
  /** Starts flushing every interval; `workers` are the background workers this process runs. */
  start(role: 'all' | 'api' | 'worker', workers: string[]): void;
  /** Writes the heartbeat, circuit states and counted responses now. */
  flush(): Promise<void>;
  /** Stops the timer after a last flush. */
  stop(): Promise<void>;
}

export interface MonitorOptions {
  intervalMs: number;
  /** The circuit state of each provider this process has routed through (ProviderSettings.circuitStates). */
  circuitStates: () => Array<{ providerId: string; state: string }>;
}

/** Heartbeat rows older than this, and HTTP minutes older than 31 days, are deleted now and then. */
const HEARTBEAT_RETENTION = '7 days';
const CLEANUP_EVERY_FLUSHES = 720;

export function createProcessMonitor(deps: { db: Database; clock: Clock; logger: Logger }, options: MonitorOptions): ProcessMonitor {
  const processId = randomUUID();
  const startedAt = deps.clock.now();
  let role: 'all' | 'api' | 'worker' = 'all';
  let workers: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  let flushes = 0;
  // minute (epoch ms) → counts, added to the stored row at the next flush.
  let pending = new Map<number, { requests: number; errors: number }>();

  async function write(): Promise<void> {
    const now = deps.clock.now();
    const counts = pending;
    pending = new Map();
    try {
      await deps.db.query(
        `INSERT INTO guardian_heartbeats (process_id, role, workers, host, pid, started_at, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (process_id) DO UPDATE SET role = EXCLUDED.role, workers = EXCLUDED.workers, seen_at = EXCLUDED.seen_at`,
        [processId, role, workers, hostname(), process.pid, startedAt, now],
      );
      const circuits = options.circuitStates().filter((c) => c.state === 'closed' || c.state === 'open' || c.state === 'half_open');
      if (circuits.length > 0) {
        // The state changes only on a transition; changed_at keeps when that happened.
        await deps.db.query(
          `INSERT INTO guardian_circuit_states (provider_id, process_id, workspace_id, state, changed_at, seen_at)
           SELECT p.id, $1, p.workspace_id, c.state, $4, $4 FROM unnest($2::uuid[], $3::text[]) AS c(provider_id, state) JOIN email_providers p ON p.id = c.provider_id
           ON CONFLICT (provider_id, process_id) DO UPDATE SET seen_at = EXCLUDED.seen_at, state = EXCLUDED.state,
             changed_at = CASE WHEN guardian_circuit_states.state <> EXCLUDED.state THEN EXCLUDED.changed_at ELSE guardian_circuit_states.changed_at END`,
          [processId, circuits.map((c) => c.providerId), circuits.map((c) => c.state), now],
        );
      }
      if (counts.size > 0) {
        const minutes = [...counts.keys()];
        await deps.db.query(
          `INSERT INTO guardian_http_minutes (minute, process_id, requests, errors_5xx)
           SELECT m.minute, $1, m.requests, m.errors FROM unnest($2::timestamptz[], $3::int[], $4::int[]) AS m(minute, requests, errors)
           ON CONFLICT (minute, process_id) DO UPDATE SET requests = guardian_http_minutes.requests + EXCLUDED.requests, errors_5xx = guardian_http_minutes.errors_5xx + EXCLUDED.errors_5xx`,
          [processId, minutes.map((m) => new Date(m)), minutes.map((m) => counts.get(m)!.requests), minutes.map((m) => counts.get(m)!.errors)],
        );
      }
      flushes += 1;
      if (flushes % CLEANUP_EVERY_FLUSHES === 0) {
        await deps.db.query(`DELETE FROM guardian_heartbeats WHERE seen_at < $1::timestamptz - interval '${HEARTBEAT_RETENTION}'`, [now]);
        await deps.db.query(`DELETE FROM guardian_http_minutes WHERE minute < $1::timestamptz - interval '31 days'`, [now]);
      }
    } catch (error) {
      // Counts not written are kept for the next flush.
      for (const [minute, c] of counts) {
        const into = pending.get(minute);
        if (into) {
          into.requests += c.requests;
          into.errors += c.errors;
        } else pending.set(minute, c);
      }
      deps.logger.warn({ err: error }, 'guardian process monitor could not flush');
    }
  }

  const flush = async (): Promise<void> => {
    while (flushing) await flushing;
    flushing = write();
    try {
      await flushing;
    } finally {
      flushing = null;
    }
  };

  return {
    processId,
    countResponse(status) {
      const minute = Math.floor(deps.clock.now().getTime() / 60_000) * 60_000;
      let c = pending.get(minute);
      if (!c) {
        c = { requests: 0, errors: 0 };
        pending.set(minute, c);
      }
      c.requests += 1;
      if (status >= 500) c.errors += 1;
    },
    start(processRole, processWorkers) {
      role = processRole;
      workers = [...processWorkers];
      if (timer) return;
      void flush();
      timer = setInterval(() => void flush(), options.intervalMs);
      timer.unref();
    },
    flush,
    async stop() {
      if (!timer) return;
      clearInterval(timer);
      timer = null;
      await flush();
    },
  };
}
