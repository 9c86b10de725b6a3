/**
 * Guardian's signals as Prometheus metrics on /metrics: the installation's queue depths and lags
 * (engine, outbox, event processor, webhook actions), uncertain sends, open provider circuits,
 * worker heartbeat age, open alerts by severity, and for every signal the worst value its rules
 * saw at their latest evaluation (per-workspace signals would explode the label set). Read at
 * scrape time with one snapshot (a handful of index-served statements) shared by all gauges.
 */
import { Gauge } from 'prom-client';
import type { Database } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { openCircuitProviders, workerHeartbeatAge } from './signals.js';

interface Snapshot {
  engineLag: number;
  engineDue: number;
  outboxAge: number;
  outboxDue: number;
  eventBacklogAge: number;
  eventBacklog: number;
  eventParked: number;
  webhooksQueued: number;
  uncertain: number;
  circuitsOpen: number;
  heartbeatAge: number | null;
  alertsOpen: Array<{ severity: string; count: number }>;
  signalMax: Array<{ signal: string; value: number }>;
}

const age = (now: Date, oldest: Date | null): number => (oldest ? Math.max(0, (now.getTime() - new Date(oldest).getTime()) / 1000) : 0);

async function snapshot(db: Database, now: Date): Promise<Snapshot> {
  type Oldest = { oldest: Date | null; n: string };
  // Each statement reads a partial index: enrollments_due_idx, messages_due_idx, campaign_webhooks_due_idx, messages_uncertain_idx.
  const [engine, outbox, events, parked, webhooks, uncertain, circuits, alerts, signals, heartbeatAge] = await Promise.all([
    db.query<Oldest>(`SELECT min(next_run_at) AS oldest, count(*) AS n FROM enrollments WHERE status = 'active' AND next_run_at <= $1`, [now]),
    db.query<Oldest>(`SELECT min(next_attempt_at) AS oldest, count(*) AS n FROM messages WHERE status = 'queued' AND next_attempt_at <= $1`, [now]),
    db.query<Oldest>(`SELECT min(created_at) AS oldest, count(*) AS n FROM event_work WHERE parked_at IS NULL`),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM event_work WHERE parked_at IS NOT NULL`),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM campaign_webhooks WHERE status = 'queued'`),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE status = 'uncertain'`),
    openCircuitProviders(db, now),
    db.query<{ severity: string; n: string }>(`SELECT severity, count(*) AS n FROM guardian_alerts WHERE status <> 'resolved' GROUP BY severity`),
    db.query<{ signal: string; value: number }>(`SELECT r.signal, max(s.last_value) AS value FROM guardian_rule_state s JOIN guardian_rules r ON r.id = s.rule_id WHERE s.enabled AND s.last_value IS NOT NULL GROUP BY r.signal`),
    workerHeartbeatAge(db, now),
  ]);
  return {
    engineLag: age(now, engine.rows[0]?.oldest ?? null),
    engineDue: Number(engine.rows[0]?.n ?? 0),
    outboxAge: age(now, outbox.rows[0]?.oldest ?? null),
    outboxDue: Number(outbox.rows[0]?.n ?? 0),
    eventBacklogAge: age(now, events.rows[0]?.oldest ?? null),
    eventBacklog: Number(events.rows[0]?.n ?? 0),
    eventParked: Number(parked.rows[0]?.n ?? 0),
    webhooksQueued: Number(webhooks.rows[0]?.n ?? 0),
    uncertain: Number(uncertain.rows[0]?.n ?? 0),
    circuitsOpen: circuits.length,
    heartbeatAge,
    alertsOpen: alerts.rows.map((r) => ({ severity: r.severity, count: Number(r.n) })),
    signalMax: signals.rows.map((r) => ({ signal: r.signal, value: Number(r.value) })),
  };
}

export function registerGuardianMetrics(metrics: Metrics, deps: { db: Database; clock: Clock; logger: Logger }): void {
  let current: { at: number; promise: Promise<Snapshot | null> } | null = null;
  // One snapshot per scrape: the gauges are collected concurrently and share it for a second.
  const read = (): Promise<Snapshot | null> => {
    const at = Date.now();
    if (current && at - current.at < 1000) return current.promise;
    const promise = snapshot(deps.db, deps.clock.now()).catch((error: unknown) => {
      deps.logger.warn({ err: error }, 'guardian metrics could not be read');
      return null;
    });
    current = { at, promise };
    return promise;
  };
  const registers = [metrics.registry];
  const simple = (name: string, help: string, pick: (s: Snapshot) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const s = await read();
        const value = s ? pick(s) : null;
        if (value === null) this.reset();
        else this.set(value);
      },
    });
  simple('unite_engine_lag_seconds', 'Seconds the oldest due campaign step has been waiting for the engine', (s) => s.engineLag);
  simple('unite_engine_due_steps', 'Campaign steps due and not yet run', (s) => s.engineDue);
  simple('unite_outbox_age_seconds', 'Seconds the oldest due email has been waiting in the outbox', (s) => s.outboxAge);
  simple('unite_outbox_due_messages', 'Emails due in the outbox', (s) => s.outboxDue);
  simple('unite_event_backlog_age_seconds', 'Age of the oldest event batch waiting for the event processor', (s) => s.eventBacklogAge);
  simple('unite_event_backlog_batches', 'Event batches waiting for the event processor', (s) => s.eventBacklog);
  simple('unite_event_backlog_parked_batches', 'Event batches parked after failing repeatedly', (s) => s.eventParked);
  simple('unite_webhook_actions_queued', 'Campaign webhook actions queued for delivery', (s) => s.webhooksQueued);
  simple('unite_uncertain_messages', 'Emails held as uncertain for an operator', (s) => s.uncertain);
  simple('unite_provider_circuits_open', 'Email providers whose circuit breaker is open in a live process', (s) => s.circuitsOpen);
  simple('unite_worker_heartbeat_age_seconds', 'Seconds since the stalest background worker was last reported running (absent: no worker process in 7 days)', (s) => s.heartbeatAge);
  new Gauge({
    name: 'unite_guardian_alerts_open',
    help: 'Open Guardian alerts (firing or acknowledged) by severity',
    labelNames: ['severity'],
    registers,
    async collect() {
      const s = await read();
      this.reset();
      for (const severity of ['low', 'medium', 'high', 'critical']) this.set({ severity }, s?.alertsOpen.find((a) => a.severity === severity)?.count ?? 0);
    },
  });
  new Gauge({
    name: 'unite_guardian_signal_max',
    help: "The worst value of each Guardian signal among enabled rules at their latest evaluation (the signal's unit: percent, count or seconds)",
    labelNames: ['signal'],
    registers,
    async collect() {
      const s = await read();
      this.reset();
      for (const { signal, value } of s?.signalMax ?? []) this.set({ signal }, value);
    },
  });
}
