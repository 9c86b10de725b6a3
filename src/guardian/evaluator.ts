/**
 * The Guardian evaluator: a worker that evaluates every due rule once per interval, set-based, in
 * one transaction per batch of up to `batchSize` rules:
 *
 *   1. claim: one statement locks the due rules' state rows (`enabled AND next_eval_at <= now`,
 *      oldest first) FOR UPDATE SKIP LOCKED and returns their definitions, so any number of
 *      processes share the work and none sees a rule another holds; a process that dies rolls back
 *      and the rules stay due (survives restarts);
 *   2. signals: one statement per signal for every workspace of the batch (signals.ts);
 *   3. alerts: the open alerts of the batch in one statement, then every move in a fixed number of
 *      statements (transitions.ts):
 *        condition holds, no open alert  → open one (firing) + a 'fired' event with fan_out
 *        condition holds, alert open     → fold into it (fire_count, value, peak) + a 'refired'
 *                                          event, with fan_out only when the alert is firing (not
 *                                          acknowledged) and the rule's cooldown has passed
 *        condition clear, alert open     → resolve it by itself + an 'auto_resolved' event, fan_out
 *   4. write-back: one UPDATE … FROM unnest moves every claimed rule on (next_eval_at = now +
 *      interval) and stores its reading — one new row version per rule and round.
 * The per-rule state lives in guardian_rule_state (migration 112), a narrow table of its own.
 *
 * A rule holds when its volume reaches the minimum and its value compares true with the
 * threshold; no data (value null) never holds. A signal whose statement fails is logged and its
 * rules are skipped until the next interval (a savepoint keeps the rest of the batch); when the
 * set-based alert statements fail, the moves are retried one by one, each in its own savepoint, so
 * the worker never stops on a bad rule. At most one open alert per rule is also enforced by a
 * unique index (migration 097). Time comes from the injected clock.
 */
import type { Database, Queryable } from '../db/database.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createWorkerLoop } from '../platform/worker-loop.js';
import { floorHour, ROLLUP_DELAY_MS, rollUpSends } from './rollup.js';
import { isSignalKey, type SignalKey } from './signal-catalog.schemas.js';
import { readSignal, type SignalReading } from './signals.js';
import { applyMoves, applyOne, decide, EVAL_RULE_COLUMNS, type EvalRule, type Move, type OpenAlert } from './transitions.js';

export { firing, holds } from './transitions.js';

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

export const DEFAULT_EVALUATOR_OPTIONS: EvaluatorOptions = { intervalMs: 60_000, batchSize: 10_000 };

export interface BatchOutcome {
  evaluated: number;
  fired: number;
  refired: number;
  resolved: number;
  failed: number;
  /** Milliseconds spent reading each signal (for the benchmark's breakdown). */
  signalMs: Record<string, number>;
  /** Milliseconds per step: rollup, claim, signals, alerts, write-back, commit. */
  phaseMs: Record<string, number>;
}

const emptyOutcome = (): BatchOutcome => ({ evaluated: 0, fired: 0, refired: 0, resolved: 0, failed: 0, signalMs: {}, phaseMs: {} });

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
  /** The hour the send rollup is known to have reached (skips the rollup's transaction until the next hour closes). */
  private rolledUntil = 0;
  constructor(
    private readonly deps: EvaluatorDeps,
    options: Partial<EvaluatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_EVALUATOR_OPTIONS, ...options };
  }

  /** Closed hours of sends are added up first (once per closed hour; another process may do it). */
  private async rollUp(now: Date): Promise<void> {
    if (floorHour(now.getTime() - ROLLUP_DELAY_MS) <= this.rolledUntil) return;
    try {
      const reached = await rollUpSends(this.deps.db, now);
      this.rolledUntil = reached ? reached.getTime() : 0;
    } catch (error) {
      this.deps.logger.error({ err: error }, 'guardian send rollup failed; long windows read messages this time');
    }
  }

  /** Claims and evaluates one batch of due rules in one transaction. */
  async runBatch(): Promise<BatchOutcome> {
    const now = this.deps.clock.now();
    const next = new Date(now.getTime() + this.options.intervalMs);
    const outcome = emptyOutcome();
    let mark = performance.now();
    const lap = (phase: string) => {
      const at = performance.now();
      outcome.phaseMs[phase] = (outcome.phaseMs[phase] ?? 0) + (at - mark);
      mark = at;
    };
    await this.rollUp(now);
    lap('rollup');
    const claimedAny = await this.deps.db.transaction(async (tx) => {
      // name: guardian-claim-rules — one statement: guardian_rule_state_due_idx (partial on enabled, by
      // next_eval_at) gives the due rows, locked SKIP LOCKED (a row lock, no new row version), the
      // rules' definitions joined by primary key.
      const claimed = await tx.query<EvalRule>(
        `SELECT ${EVAL_RULE_COLUMNS} FROM guardian_rule_state s JOIN guardian_rules r ON r.id = s.rule_id
          WHERE s.enabled AND s.next_eval_at <= $1 ORDER BY s.next_eval_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED`,
        [now, this.options.batchSize],
      );
      const rules = claimed.rows;
      lap('claim');
      if (rules.length === 0) return false;

      const readings = await this.readSignals(tx, rules, now, outcome);
      lap('signals');
      await this.moveAlerts(tx, rules, readings, now, outcome);
      lap('alerts');

      // One write per rule and round: every claimed rule moves on, evaluated or not (so a bad one
      // never spins), with its reading when it has one.
      await tx.query(
        `UPDATE guardian_rule_state s SET next_eval_at = $2, last_evaluated_at = CASE WHEN u.evaluated THEN $1 ELSE s.last_evaluated_at END,
                last_value = CASE WHEN u.evaluated THEN u.value ELSE s.last_value END, last_volume = CASE WHEN u.evaluated THEN u.volume ELSE s.last_volume END
           FROM unnest($3::uuid[], $4::float8[], $5::float8[], $6::boolean[]) AS u(id, value, volume, evaluated)
          WHERE s.rule_id = u.id`,
        [now, next, rules.map((r) => r.id), rules.map((r) => readings.get(r.id)?.value ?? null), rules.map((r) => readings.get(r.id)?.volume ?? null), rules.map((r) => readings.has(r.id))],
      );
      lap('write');
      return true;
    });
    if (claimedAny) lap('commit');
    return outcome;
  }

  /** Each claimed rule's reading, one statement per signal; rules of an unknown or failing signal get none. */
  private async readSignals(tx: Queryable, rules: EvalRule[], now: Date, outcome: BatchOutcome): Promise<Map<string, SignalReading>> {
    const bySignal = new Map<SignalKey, EvalRule[]>();
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
    return readings;
  }

  private async moveAlerts(tx: Queryable, rules: EvalRule[], readings: Map<string, SignalReading>, now: Date, outcome: BatchOutcome): Promise<void> {
    // name: guardian-open-alerts — guardian_alerts_open_rule (unique, partial on open).
    const open = await tx.query<OpenAlert>(
      `SELECT id, rule_id, status, peak_value, last_notified_at FROM guardian_alerts WHERE rule_id = ANY($1::uuid[]) AND status <> 'resolved' FOR UPDATE`,
      [[...readings.keys()]],
    );
    const openByRule = new Map(open.rows.map((a) => [a.rule_id, a]));
    const moves: Move[] = [];
    for (const rule of rules) {
      const reading = readings.get(rule.id);
      if (!reading) continue;
      outcome.evaluated += 1;
      const move = decide(rule, reading, openByRule.get(rule.id), now);
      if (move) moves.push(move);
    }
    const count = (m: Move) => {
      if (m.kind === 'open') outcome.fired += 1;
      else if (m.kind === 'fold') outcome.refired += 1;
      else outcome.resolved += 1;
    };
    try {
      await withSavepoint(tx, () => applyMoves(tx, moves, now));
      moves.forEach(count);
      return;
    } catch (error) {
      this.deps.logger.warn({ err: error, moves: moves.length }, 'guardian alert moves failed as a batch; applied one by one');
    }
    for (const move of moves) {
      try {
        await withSavepoint(tx, () => applyOne(tx, move, now));
        count(move);
      } catch (error) {
        this.deps.logger.error({ err: error, ruleId: move.rule.id }, 'guardian rule evaluation failed; skipped this interval');
        outcome.failed += 1;
      }
    }
  }

  /** Evaluates batches until no rule is due (one full evaluation round). */
  async runRound(): Promise<BatchOutcome> {
    const total = emptyOutcome();
    for (;;) {
      const batch = await this.runBatch();
      total.evaluated += batch.evaluated;
      total.fired += batch.fired;
      total.refired += batch.refired;
      total.resolved += batch.resolved;
      total.failed += batch.failed;
      for (const [signal, ms] of Object.entries(batch.signalMs)) total.signalMs[signal] = (total.signalMs[signal] ?? 0) + ms;
      for (const [phase, ms] of Object.entries(batch.phaseMs)) total.phaseMs[phase] = (total.phaseMs[phase] ?? 0) + ms;
      if (batch.evaluated + batch.failed === 0) return total;
    }
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
