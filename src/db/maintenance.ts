/**
 * Vacuuming and analyzing as PostgreSQL's autovacuum would, where it does not run.
 *
 * The embedded database (PGlite) is PostgreSQL in single-user mode, which has no autovacuum
 * launcher: without this, its tables are never analyzed and never vacuumed. With no statistics the
 * planner takes a queue table for nearly empty, and a claim (`ORDER BY next_attempt_at LIMIT 200
 * FOR UPDATE SKIP LOCKED`) becomes a bitmap scan and sort of every due row instead of an ordered
 * index scan that stops at the batch: sending a large campaign slowed with the square of its size
 * (docs/benchmarks.md). Dead row versions of the queue tables (messages, enrollments, event work)
 * were never reclaimed either.
 *
 * The thresholds are the server's own `autovacuum_*` settings read from `pg_settings` (a table is
 * vacuumed once its dead or newly inserted rows pass `threshold + scale_factor × rows`, analyzed
 * once its changes since the last analysis do), applied to `pg_stat_user_tables`' counters.
 * `npm run load` uses the same function for a PostgreSQL server whose autovacuum is off.
 */
import type { BackgroundWorker } from '../init.js';
import type { Logger } from '../platform/logger.js';
import type { Database, Queryable } from './database.js';

export interface MaintenanceRun {
  vacuumed: string[];
  analyzed: string[];
}

const SETTINGS = [
  'autovacuum_vacuum_threshold',
  'autovacuum_vacuum_scale_factor',
  'autovacuum_vacuum_insert_threshold',
  'autovacuum_vacuum_insert_scale_factor',
  'autovacuum_analyze_threshold',
  'autovacuum_analyze_scale_factor',
  'autovacuum_vacuum_cost_delay',
  'autovacuum_vacuum_cost_limit',
] as const;

/**
 * Vacuums (and analyzes) the tables past autovacuum's thresholds, and analyzes those past only its
 * analyze threshold. `throttle`: with autovacuum's cost delay and limit (for a server shared with
 * other sessions; a session setting, so give it a connection of its own). Runs outside any
 * transaction (VACUUM cannot run in one).
 */
export async function vacuumAsAutovacuumWould(q: Queryable, options: { throttle: boolean }): Promise<MaintenanceRun> {
  const settings = await q.query<{ name: (typeof SETTINGS)[number]; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])`, [[...SETTINGS]]);
  const value = (name: (typeof SETTINGS)[number]) => Number(settings.rows.find((s) => s.name === name)?.setting);
  const due = await q.query<{ name: string; vacuum: boolean; analyze: boolean }>(
    `SELECT format('%I.%I', s.schemaname, s.relname) AS name,
            s.n_dead_tup > $1 + $2 * greatest(c.reltuples, 0) OR s.n_ins_since_vacuum > $3 + $4 * greatest(c.reltuples, 0) AS vacuum,
            s.n_mod_since_analyze > $5 + $6 * greatest(c.reltuples, 0) AS analyze
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      ORDER BY s.relname`,
    [
      value('autovacuum_vacuum_threshold'),
      value('autovacuum_vacuum_scale_factor'),
      value('autovacuum_vacuum_insert_threshold'),
      value('autovacuum_vacuum_insert_scale_factor'),
      value('autovacuum_analyze_threshold'),
      value('autovacuum_analyze_scale_factor'),
    ],
  );
  if (options.throttle) {
    // -1: the plain vacuum settings apply, as for autovacuum itself.
    const costDelay = value('autovacuum_vacuum_cost_delay');
    const costLimit = value('autovacuum_vacuum_cost_limit');
    if (costDelay >= 0) await q.query(`SET vacuum_cost_delay = ${costDelay}`);
    if (costLimit > 0) await q.query(`SET vacuum_cost_limit = ${costLimit}`);
  }
  const run: MaintenanceRun = { vacuumed: [], analyzed: [] };
  for (const table of due.rows) {
    if (table.vacuum) {
      await q.query(`VACUUM ${table.analyze ? '(ANALYZE) ' : ''}${table.name}`);
      run.vacuumed.push(table.name);
      if (table.analyze) run.analyzed.push(table.name);
    } else if (table.analyze) {
      await q.query(`ANALYZE ${table.name}`);
      run.analyzed.push(table.name);
    }
  }
  return run;
}

/**
 * The embedded database's autovacuum: checks the thresholds every `intervalMs` (autovacuum's own
 * nap is a minute; the check is one catalog query) and vacuums what is due. PGlite runs one
 * statement at a time, so a VACUUM holds the app's other statements back while it runs: unthrottled,
 * it is over as soon as possible.
 */
export function createEmbeddedAutovacuum(deps: { db: Database; logger: Logger }, intervalMs = 10_000): BackgroundWorker {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running.then(async () => {
      try {
        const run = await vacuumAsAutovacuumWould(deps.db, { throttle: false });
        if (run.vacuumed.length + run.analyzed.length > 0) deps.logger.debug({ ...run }, 'embedded database vacuumed and analyzed');
      } catch (error) {
        deps.logger.warn({ err: error }, 'embedded database maintenance failed; retrying at the next check');
      }
    });
  };
  return {
    name: 'embedded-autovacuum',
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
