/**
 * The analytics rollups (migration 109): the folder that moves the writers' ledger
 * (`analytics_delta`) into the quarter-hour and all-time tables, and the one reader every report
 * uses, which adds the rollups and what is still in the ledger — so a committed event counts at
 * once, whether or not it was folded yet. docs/analytics.md explains the choice (measured in
 * bench/analytics.ts).
 */
import type { Database, Queryable } from '../db/database.js';
import type { Logger } from '../platform/logger.js';
import { createWorkerLoop } from '../platform/worker-loop.js';

/** Ledger rows moved per fold transaction. */
const FOLD_ROWS = 50_000;
/** pg_try_advisory_xact_lock key of the folder: one fold at a time, across processes (and a time zone's rebuild, migration 109). */
const FOLD_LOCK = 7_109_001;
/** Nobody notifies it: the folder runs on its interval (readers never wait for it). */
const FOLD_CHANNEL = 'analytics_fold';

const DIMS = 'workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric';
const DAY_DIMS = 'workspace_id, day, campaign_id, version, node_id, split_node_id, variant, metric';
const TOTAL_DIMS = 'workspace_id, campaign_id, version, node_id, split_node_id, variant, metric';

/**
 * Moves up to FOLD_ROWS ledger rows into the rollups in one statement: the detailed rows, the
 * workspace's sum (campaign '*') and each campaign's sum over versions and nodes (version -1,
 * node '*') per quarter hour and per day of the workspace's zone, and the detailed rows all-time. Returns the rows moved (0 when
 * another process is folding).
 */
export async function foldAnalytics(db: Database, maxRows = FOLD_ROWS): Promise<number> {
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [FOLD_LOCK]);
    if (!lock.rows[0]?.ok) return 0;
    // name: analytics-fold — keys sorted so two statements touching the same rows lock them in one order.
    const { rows } = await tx.query<{ n: number }>(
      `WITH moved AS (
         DELETE FROM analytics_delta WHERE id IN (SELECT id FROM analytics_delta ORDER BY id LIMIT $1)
         RETURNING ${DIMS}, n),
       levels AS (
         SELECT workspace_id, bucket,
                CASE WHEN grouping(campaign_id) = 1 THEN '*' ELSE campaign_id END AS campaign_id,
                CASE WHEN grouping(campaign_id) = 1 THEN 0 WHEN grouping(version) = 1 THEN -1 ELSE version END AS version,
                CASE WHEN grouping(campaign_id) = 1 THEN '' WHEN grouping(node_id) = 1 THEN '*' ELSE node_id END AS node_id,
                coalesce(split_node_id, '') AS split_node_id, coalesce(variant, '') AS variant, metric, sum(n) AS n
           FROM moved
          GROUP BY GROUPING SETS ((${DIMS}), (workspace_id, bucket, metric), (workspace_id, bucket, campaign_id, metric))
         HAVING grouping(version) = 0 OR grouping(campaign_id) = 1 OR campaign_id <> ''),
       counts AS (
         INSERT INTO analytics_counts (${DIMS}, n)
         SELECT ${DIMS}, n FROM levels ORDER BY ${DIMS}
         ON CONFLICT (${DIMS}) DO UPDATE SET n = analytics_counts.n + EXCLUDED.n),
       zones AS (
         SELECT workspace_id, analytics_zone(workspace_id) AS zone FROM (SELECT DISTINCT workspace_id FROM moved) w),
       days AS (
         INSERT INTO analytics_days (${DAY_DIMS}, n)
         SELECT l.workspace_id, (l.bucket AT TIME ZONE z.zone)::date AS day, l.campaign_id, l.version, l.node_id, l.split_node_id, l.variant, l.metric, sum(l.n)
           FROM levels l JOIN zones z USING (workspace_id)
          GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
         ON CONFLICT (${DAY_DIMS}) DO UPDATE SET n = analytics_days.n + EXCLUDED.n),
       totals AS (
         INSERT INTO analytics_totals (${TOTAL_DIMS}, n)
         SELECT ${TOTAL_DIMS}, sum(n) FROM moved GROUP BY ${TOTAL_DIMS} ORDER BY ${TOTAL_DIMS}
         ON CONFLICT (${TOTAL_DIMS}) DO UPDATE SET n = analytics_totals.n + EXCLUDED.n)
       SELECT count(*)::int AS n FROM moved`,
      [maxRows],
    );
    return rows[0]?.n ?? 0;
  });
}

export interface AnalyticsFolder {
  name: string;
  start(): void;
  stop(): Promise<void>;
  /** Folds until the ledger is empty (tests, benchmarks). */
  drain(): Promise<void>;
}

export function createAnalyticsFolder(deps: { db: Database; logger: Logger }, intervalMs: number): AnalyticsFolder {
  const runBatch = () => foldAnalytics(deps.db);
  const loop = createWorkerLoop({ name: 'analytics folder', db: deps.db, logger: deps.logger, channel: FOLD_CHANNEL, pollMs: intervalMs, runBatch });
  return {
    name: 'analytics-folder',
    start: () => loop.start(),
    stop: () => loop.stop(),
    async drain() {
      while ((await runBatch()) > 0);
    },
  };
}

/** Which rows of the rollups a read adds up. */
export type Level =
  | { kind: 'workspace' }
  | { kind: 'campaigns' }
  | { kind: 'campaign'; campaignId: string }
  | { kind: 'detail'; campaignId: string };

export type Dim = 'campaign' | 'version' | 'node' | 'split' | 'variant' | 'day' | 'hour';

export interface CountsRead {
  level: Level;
  /** The UTC instants bounding the range; absent: all time. */
  from?: Date;
  to?: Date;
  /** With `by: ['day', …]`: the same range as local days (inclusive), read from the day rows. */
  days?: { from: string; to: string };
  timeZone: string;
  by: Dim[];
  metrics: readonly string[];
}

export interface CountRow {
  campaign: string;
  version: number;
  node: string;
  split: string;
  variant: string;
  at: string;
  metric: string;
  n: number;
}

const DIM_SQL: Record<Dim, { expr: (tz: string) => string; as: keyof CountRow }> = {
  campaign: { expr: () => 'campaign_id', as: 'campaign' },
  version: { expr: () => 'version', as: 'version' },
  node: { expr: () => 'node_id', as: 'node' },
  split: { expr: () => 'split_node_id', as: 'split' },
  variant: { expr: () => 'variant', as: 'variant' },
  day: { expr: (tz) => `coalesce(day::text, to_char(bucket AT TIME ZONE ${tz}, 'YYYY-MM-DD'))`, as: 'at' },
  hour: { expr: (tz) => `to_char(bucket AT TIME ZONE ${tz}, 'YYYY-MM-DD"T"HH24:00')`, as: 'at' },
};

/**
 * Counts by the requested dimensions. The rollup rows of the level plus the matching ledger rows
 * (which hold only detailed rows, so the workspace and campaign sums are rebuilt from them).
 * With a time range or a time dimension it reads the quarter hours, otherwise the all-time table.
 */
export async function readCounts(q: Queryable, workspaceId: string, read: CountsRead): Promise<CountRow[]> {
  const params: unknown[] = [workspaceId, read.metrics];
  const timed = read.from !== undefined || read.by.includes('day') || read.by.includes('hour');
  let rollupWhere = 'workspace_id = $1 AND metric = ANY($2::text[])';
  let deltaWhere = rollupWhere;
  const level = read.level;
  if (level.kind === 'workspace') {
    rollupWhere += ` AND campaign_id = '*'`;
  } else if (level.kind === 'campaigns') {
    rollupWhere += ` AND campaign_id NOT IN ('', '*') AND version = -1`;
    deltaWhere += ` AND campaign_id <> ''`;
  } else {
    params.push(level.campaignId);
    const p = `$${params.length}`;
    rollupWhere += level.kind === 'campaign' ? ` AND campaign_id = ${p} AND version = -1` : ` AND campaign_id = ${p} AND version >= 0`;
    deltaWhere += ` AND campaign_id = ${p}`;
  }
  if (timed && read.from && read.to) {
    params.push(read.from, read.to);
    const range = ` AND bucket >= $${params.length - 1} AND bucket < $${params.length}`;
    rollupWhere += range;
    deltaWhere += range;
  }
  // The all-time table has only detailed rows, like the ledger: the same filter sums them.
  let rollupTable = timed ? 'analytics_counts' : 'analytics_totals';
  if (!timed) rollupWhere = deltaWhere;
  // Whole local days: the day rows (same level filter) instead of the quarter hours.
  const byDays = read.days !== undefined && read.by.includes('day') && !read.by.includes('hour');
  if (byDays) {
    params.push(read.days!.from, read.days!.to);
    rollupTable = 'analytics_days';
    rollupWhere = rollupWhere.replace(/ AND bucket >= \$\d+ AND bucket < \$\d+/, '') + ` AND day >= $${params.length - 1}::date AND day <= $${params.length}::date`;
  }
  const bucketCol = byDays ? 'NULL::timestamptz AS bucket, day' : timed ? 'bucket, NULL::date AS day' : 'NULL::timestamptz AS bucket, NULL::date AS day';
  const cols = `campaign_id, version, node_id, split_node_id, variant, metric, n`;
  let zone = '';
  if (read.by.includes('day') || read.by.includes('hour')) {
    params.push(read.timeZone);
    zone = `$${params.length}::text`;
  }
  const dims = read.by.map((d) => DIM_SQL[d]);
  const select = dims.map((d) => `${d.expr(zone)} AS ${d.as}`).join(', ');
  const group = dims.map((_d, i) => String(i + 1)).join(', ');
  // name: analytics-read — one index range of the rollups plus the (small) ledger.
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT ${select}${select ? ', ' : ''}metric, sum(n)::bigint AS n FROM (
       SELECT ${bucketCol}, ${cols} FROM ${rollupTable} WHERE ${rollupWhere}
       UNION ALL
       SELECT bucket, NULL::date AS day, ${cols} FROM analytics_delta WHERE ${deltaWhere}
     ) x GROUP BY ${group}${group ? ', ' : ''}metric`,
    params,
  );
  return rows.map((r) => ({
    campaign: String(r.campaign ?? ''),
    version: Number(r.version ?? 0),
    node: String(r.node ?? ''),
    split: String(r.split ?? ''),
    variant: String(r.variant ?? ''),
    at: String(r.at ?? ''),
    metric: String(r.metric),
    n: Number(r.n),
  }));
}
