/**
 * The Guardian evaluator: a worker that claims due rules (next_eval_at <= now, FOR UPDATE SKIP
 * LOCKED, a batch at a time, so any number of processes evaluate each rule once per interval),
 * reads their signals set-based (signals.ts) and, in the same transaction, moves the alerts:
 *
 *   condition holds, no open alert  → open one (firing) + a 'fired' event with fan_out
 *   condition holds, alert open     → fold into it (fire_count, value, peak) + a 'refired' event,
 *                                     with fan_out only when the alert is firing (not acknowledged)
 *                                     and the rule's cooldown since last_notified_at has passed
 *   condition clear, alert open     → resolve it by itself + an 'auto_resolved' event with fan_out
 *
 * and sets next_eval_at = now + interval. A rule holds when its volume reaches the minimum and its
 * value compares true with the threshold; no data (value null) never holds. A signal whose
 * statement fails is logged and its rules are skipped until the next interval (a savepoint keeps
 * the rest of the batch); the worker never stops on a bad rule. At most one open alert per rule is
 * also enforced by a unique index (migration 097).
 */
import type { Database, Queryable } from '../db/database.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createWorkerLoop } from '../platform/worker-loop.js';
import { insertAlertEvent } from './alerts.js';
import { rollUpSends } from './rollup.js';
import { RULE_COLUMNS, type RuleRow } from './rules.js';
import { isSignalKey, type SignalKey } from './signal-catalog.schemas.js';
import { readSignal, type SignalReading } from './signals.js';

export interface EvaluatorDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
}

export interface EvaluatorOptions {
  intervalMs: number;
  /** Rules claimed per transaction. */
  batchSize: number;
}

export const DEFAULT_EVALUATOR_OPTIONS: EvaluatorOptions = { intervalMs: 60_000, batchSize: 2000 };

interface OpenAlert {
  id: string;
  rule_id: string;
  status: 'firing' | 'acknowledged';
  peak_value: number;
  last_notified_at: Date | null;
}

export interface BatchOutcome {
  evaluated: number;
  fired: number;
  refired: number;
  resolved: number;
  failed: number;
  /** Milliseconds spent reading each signal (for the benchmark's breakdown). */
  signalMs: Record<string, number>;
}

export function holds(comparison: RuleRow['comparison'], value: number, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** Whether a rule's reading fires it: enough volume, a value, and the comparison true. */
export function firing(rule: Pick<RuleRow, 'signal' | 'comparison' | 'threshold' | 'min_volume'>, reading: SignalReading): boolean {
  if (reading.value === null) return false;
  if (reading.volume !== null && reading.volume < rule.min_volume) return false;
  return holds(rule.comparison, reading.value, rule.threshold);
}

async function withSavepoint<T>(tx: Queryable, fn: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT guardian_rule');
  try {
    const result = await fn();
    await tx.query('RELEASE SAVEPOINT guardian_rule');
    return result;
  } catch (error) {
    await tx.query('ROLLBACK TO SAVEPOINT guardian_rule');
    throw error;
  }
}

export class GuardianEvaluator {
  readonly options: EvaluatorOptions;
  constructor(
    private readonly deps: EvaluatorDeps,
    options: Partial<EvaluatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_EVALUATOR_OPTIONS, ...options };
  }

  /** Claims and evaluates one batch of due rules in one transaction. */
  async runBatch(): Promise<BatchOutcome> {
    const now = this.deps.clock.now();
    const next = new Date(now.getTime() + this.options.intervalMs);
    // Closed hours of sends are added up first (cheap when up to date: one row read).
    try {
      await rollUpSends(this.deps.db, now);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'guardian send rollup failed; long windows read messages this time');
    }
    return this.deps.db.transaction(async (tx) => {
      const outcome: BatchOutcome = { evaluated: 0, fired: 0, refired: 0, resolved: 0, failed: 0, signalMs: {} };
      // name: guardian-claim-rules — guardian_rules_due_idx (partial on enabled, by next_eval_at).
      const claimed = await tx.query<RuleRow>(
        `SELECT ${RULE_COLUMNS} FROM guardian_rules WHERE enabled AND next_eval_at <= $1 ORDER BY next_eval_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, this.options.batchSize],
      );
      const rules = claimed.rows;
      if (rules.length === 0) return outcome;

      const bySignal = new Map<SignalKey, RuleRow[]>();
      const readings = new Map<string, SignalReading>();
      for (const rule of rules) {
        if (!isSignalKey(rule.signal)) {
          this.deps.logger.warn({ ruleId: rule.id, signal: rule.signal }, 'guardian rule has an unknown signal; skipped');
          outcome.failed += 1;
          continue;
        }
        const list = bySignal.get(rule.signal);
        if (list) list.push(rule);
        else bySignal.set(rule.signal, [rule]);
      }
      for (const [signal, group] of bySignal) {
        const started = performance.now();
        try {
          const values = await withSavepoint(tx, () =>
            readSignal(tx, signal, now, group.map((r) => ({ workspaceId: r.workspace_id, windowSeconds: r.window_seconds, scope: r.scope, minVolume: r.min_volume }))),
          );
          group.forEach((rule, i) => readings.set(rule.id, values[i]!));
        } catch (error) {
          this.deps.logger.error({ err: error, signal, rules: group.length }, 'guardian signal failed; its rules are skipped this interval');
          outcome.failed += group.length;
        }
        outcome.signalMs[signal] = performance.now() - started;
      }

      // name: guardian-open-alerts — guardian_alerts_open_rule (unique, partial on open).
      const open = await tx.query<OpenAlert>(
        `SELECT id, rule_id, status, peak_value, last_notified_at FROM guardian_alerts WHERE rule_id = ANY($1::uuid[]) AND status <> 'resolved' FOR UPDATE`,
        [[...readings.keys()]],
      );
      const openByRule = new Map(open.rows.map((a) => [a.rule_id, a]));

      for (const rule of rules) {
        const reading = readings.get(rule.id);
        if (!reading) continue;
        outcome.evaluated += 1;
        const alert = openByRule.get(rule.id);
        const fires = firing(rule, reading);
        if (!fires && !alert) continue;
        try {
          await withSavepoint(tx, async () => {
            if (fires && !alert) {
              await this.open(tx, rule, reading, now);
              outcome.fired += 1;
            } else if (fires && alert) {
              await this.fold(tx, rule, alert, reading, now);
              outcome.refired += 1;
            } else if (alert) {
              await this.autoResolve(tx, rule, alert, reading, now);
              outcome.resolved += 1;
            }
          });
        } catch (error) {
          this.deps.logger.error({ err: error, ruleId: rule.id }, 'guardian rule evaluation failed; skipped this interval');
          outcome.failed += 1;
        }
      }

      // Every claimed rule moves on, evaluated or not, so a bad one never spins.
      await tx.query(
        `UPDATE guardian_rules r SET next_eval_at = $2, last_evaluated_at = CASE WHEN u.evaluated THEN $1 ELSE r.last_evaluated_at END,
                last_value = CASE WHEN u.evaluated THEN u.value ELSE r.last_value END, last_volume = CASE WHEN u.evaluated THEN u.volume ELSE r.last_volume END
           FROM unnest($3::uuid[], $4::float8[], $5::float8[], $6::boolean[]) AS u(id, value, volume, evaluated)
          WHERE r.id = u.id`,
        [now, next, rules.map((r) => r.id), rules.map((r) => readings.get(r.id)?.value ?? null), rules.map((r) => readings.get(r.id)?.volume ?? null), rules.map((r) => readings.has(r.id))],
      );
      return outcome;
    });
  }

  /** Evaluates batches until no rule is due (one full evaluation round). */
  async runRound(): Promise<BatchOutcome> {
    const total: BatchOutcome = { evaluated: 0, fired: 0, refired: 0, resolved: 0, failed: 0, signalMs: {} };
    for (;;) {
      const batch = await this.runBatch();
      total.evaluated += batch.evaluated;
      total.fired += batch.fired;
      total.refired += batch.refired;
      total.resolved += batch.resolved;
      total.failed += batch.failed;
      for (const [signal, ms] of Object.entries(batch.signalMs)) total.signalMs[signal] = (total.signalMs[signal] ?? 0) + ms;
      if (batch.evaluated + batch.failed === 0) return total;
    }
  }

  private async open(tx: Queryable, rule: RuleRow, reading: SignalReading, now: Date): Promise<void> {
    const value = reading.value!;
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, scope, severity, status, comparison, threshold, value, volume, peak_value,
                                    fire_count, opened_at, last_fired_at, last_notified_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, $9, 1, $11, $11, $11) RETURNING id`,
      [rule.workspace_id, rule.id, rule.name, rule.signal, JSON.stringify(rule.scope), rule.severity, rule.comparison, rule.threshold, value, reading.volume, now],
    );
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: rows[0]!.id, kind: 'fired', value, volume: reading.volume, actorId: null, at: now, fanOut: true });
  }

  private async fold(tx: Queryable, rule: RuleRow, alert: OpenAlert, reading: SignalReading, now: Date): Promise<void> {
    const value = reading.value!;
    // "Worse" follows the comparison: the highest value for > and >=, the lowest for < and <=.
    const peak = rule.comparison === '>' || rule.comparison === '>=' ? Math.max(alert.peak_value, value) : Math.min(alert.peak_value, value);
    const cooledDown = alert.last_notified_at === null || now.getTime() - alert.last_notified_at.getTime() >= rule.cooldown_seconds * 1000;
    const notify = alert.status === 'firing' && cooledDown;
    await tx.query(
      `UPDATE guardian_alerts SET fire_count = fire_count + 1, value = $2, volume = $3, peak_value = $4, last_fired_at = $5,
              last_notified_at = CASE WHEN $6 THEN $5 ELSE last_notified_at END
        WHERE id = $1`,
      [alert.id, value, reading.volume, peak, now, notify],
    );
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: alert.id, kind: 'refired', value, volume: reading.volume, actorId: null, at: now, fanOut: notify });
  }

  private async autoResolve(tx: Queryable, rule: RuleRow, alert: OpenAlert, reading: SignalReading, now: Date): Promise<void> {
    await tx.query(`UPDATE guardian_alerts SET status = 'resolved', resolved_at = $2, resolved_by = NULL WHERE id = $1`, [alert.id, now]);
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: alert.id, kind: 'auto_resolved', value: reading.value, volume: reading.volume, actorId: null, at: now, fanOut: true });
  }
}

/** The evaluator as a background worker: a batch whenever rules are due, else a nap of `pollMs`. */
export function createEvaluatorWorker(evaluator: GuardianEvaluator, deps: { db: Database; logger: Logger }, pollMs: number): BackgroundWorker {
  const loop = createWorkerLoop({
    name: 'guardian evaluator',
    db: deps.db,
    logger: deps.logger,
    // Nobody notifies this channel: rules fall due by time, so the loop polls.
    channel: 'guardian_eval',
    pollMs,
    runBatch: async () => {
      const outcome = await evaluator.runBatch();
      return outcome.evaluated + outcome.failed;
    },
  });
  return { name: 'guardian_evaluator', start: () => loop.start(), stop: () => loop.stop() };
}
