/**
 * One look for every background worker of a process: "is anything due for you?", asked in a
 * single statement per poll interval instead of each worker running its own claim statements (and
 * transactions) on its own timer. Work that is inserted wakes its worker by NOTIFY at once; this
 * look only finds what comes due by time (a wait, a retry, a scheduled broadcast, a rule's next
 * evaluation) and what a dead process left (holder locks gone, src/db/holder.ts), with the same
 * latency as the workers' own polls had: each watcher is asked every `everyMs`, its own poll.
 *
 * A watcher's condition is a SQL boolean expression, `$1` the clock's now (timestamptz), that holds
 * whenever the worker's claim would find something (it may hold when the claim then finds nothing
 * — rows another process is working on — but never the other way round): each worker owns its
 * condition next to its claim. When the look fails (the database is down), every watcher asked is
 * woken, so each worker tries for itself and reports its own failure, as it did when it polled.
 *
 * Measured with `npm run bench:idle` (docs/benchmarks.md): an idle worker process went from 54
 * statements per second (claims, reclaims, BEGIN/COMMIT of empty transactions) to 2.2 — this look
 * twice a second and the heartbeat.
 */
import type { Database } from '../db/database.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface DueWatcher {
  /** For logs. */
  name: string;
  /** SQL boolean expression; `$1` is now (timestamptz). */
  condition: string;
  /** How often it is asked (the worker's poll interval). */
  everyMs: number;
  /** Called when the condition holds, or when the look failed. */
  wake(): void;
}

export interface DueCheck {
  /** Asks `watcher.condition` every `watcher.everyMs` from now on; returns the function that stops it. */
  watch(watcher: DueWatcher): () => void;
  /** Stops looking (once every watcher is gone) and waits for a look in flight. */
  close(): Promise<void>;
}

interface Entry {
  watcher: DueWatcher;
  /** When it is to be asked next (performance.now() ms). */
  nextAt: number;
}

/** The statement for a set of watchers: one boolean column per watcher, in order. */
export function dueCheckStatement(conditions: readonly string[]): string {
  // The cast types $1 even when no condition uses it.
  return `SELECT ${conditions.map((c, i) => `(${c}) AS w${i}`).join(', ')} FROM (SELECT $1::timestamptz AS now) AS look`;
}

export function createDueCheck(deps: { db: Pick<Database, 'query'>; clock: Clock; logger: Logger }): DueCheck {
  const entries = new Set<Entry>();
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let failing = false;
  let closed = false;

  function schedule(): void {
    if (timer || inFlight || closed || entries.size === 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const e of entries) next = Math.min(next, e.nextAt);
    timer = setTimeout(() => {
      timer = null;
      inFlight = look().finally(() => {
        inFlight = null;
        schedule();
      });
    }, Math.max(0, next - performance.now()));
  }

  async function look(): Promise<void> {
    const at = performance.now();
    // Watchers due within a quarter of their interval are asked now, so that watchers of one
    // interval share looks whatever the timer's lateness.
    const asked = [...entries].filter((e) => e.nextAt - at <= e.watcher.everyMs / 4);
    if (asked.length === 0) return;
    for (const e of asked) e.nextAt = at + e.watcher.everyMs;
    try {
      const result = await deps.db.query<Record<string, boolean>>(dueCheckStatement(asked.map((e) => e.watcher.condition)), [deps.clock.now()]);
      failing = false;
      const row = result.rows[0] ?? {};
      asked.forEach((e, i) => {
        if (row[`w${i}`] && entries.has(e)) e.watcher.wake();
      });
    } catch (error) {
      const still = asked.filter((e) => entries.has(e));
      if (still.length === 0) return;
      if (!failing) deps.logger.warn({ err: error, watchers: still.map((e) => e.watcher.name) }, 'the due-work look failed; each worker looks for itself until it succeeds');
      failing = true;
      for (const e of still) e.watcher.wake();
    }
  }

  return {
    watch(watcher) {
      const entry: Entry = { watcher, nextAt: performance.now() + watcher.everyMs };
      entries.add(entry);
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      schedule();
      return () => {
        entries.delete(entry);
        if (entries.size === 0 && timer) {
          clearTimeout(timer);
          timer = null;
        }
      };
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
  };
}
