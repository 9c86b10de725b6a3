/**
 * One narrow database interface over two engines: node-postgres (a pool, for production and for
 * several processes) and PGlite (embedded PostgreSQL in `./data`, for a fresh machine). The same
 * SQL and migrations run on both; domain code only sees `Queryable` and `Database`.
 */
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { createNotifications } from './listener.js';
import { pgQuery, rowsAsArrays } from './statements.js';

export { arrayRows, preparedStatement } from './statements.js';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: commit when it resolves, rollback when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Subscribes to NOTIFY on `channel`; returns the unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Takes the session-level advisory lock (`space`, `key`) without waiting, on a connection of its
   * own (PostgreSQL) so that it lasts exactly as long as this process: PostgreSQL drops it when
   * the process dies. Null when another session holds it.
   */
  tryAdvisoryLock(space: number, key: number): Promise<SessionLock | null>;
  close(): Promise<void>;
}

export interface SessionLock {
  /** True once the lock's connection was lost: the lock may be held by nobody, or by another. */
  readonly lost: boolean;
  release(): Promise<void>;
}

// int8 (count(*), sums) as JS numbers on both engines; PGlite already does this.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

function pgliteOptions(sql: string): { rowMode: 'array' } | undefined {
  return rowsAsArrays(sql) ? { rowMode: 'array' } : undefined;
}

/** What a PostgreSQL database reports about its connections (for logs). */
export interface ConnectionLog {
  warn(message: string, error: Error): void;
  info(message: string): void;
}

/**
 * Thrown instead of waiting on: every pooled connection stayed busy for the whole wait bound
 * (DATABASE_POOL_WAIT_MS). The server is over capacity; the HTTP layer answers 503
 * SERVICE_UNAVAILABLE with Retry-After, so an overload is refused fast instead of queued forever.
 */
export class DatabaseBusyError extends Error {
  readonly code = 'DATABASE_BUSY';
  constructor(waitMs: number) {
    super(`every database connection stayed busy for ${waitMs} ms`);
    this.name = 'DatabaseBusyError';
  }
}

export interface PoolOptions {
  /** The longest a statement waits for a free pooled connection (ms); 0: no bound. */
  connectionWaitMs?: number;
}

export function createPostgresDatabase(connectionString: string, poolSize: number, log?: ConnectionLog, options: PoolOptions = {}): Database {
  const waitMs = options.connectionWaitMs ?? 0;
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: 30_000, ...(waitMs > 0 ? { connectionTimeoutMillis: waitMs } : {}) });
  /** A wait that timed out while every connection was checked out means overload, not an outage. */
  const saturated = () => pool.totalCount >= poolSize && pool.idleCount === 0;
  const busyOr = (error: unknown, wasSaturated: boolean): unknown =>
    wasSaturated && error instanceof Error && /^timeout exceeded when trying to connect/.test(error.message) ? new DatabaseBusyError(waitMs) : error;
  // An idle client losing its connection (PostgreSQL restarted) must not end the process; the
  // pool drops it and opens a new one for the next query.
  pool.on('error', () => undefined);
  const notifications = createNotifications(connectionString, {
    lost: (error) => log?.warn('LISTEN connection lost; reconnecting', error),
    restored: () => log?.info('LISTEN connection restored'),
  });

  return {
    kind: 'postgres',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const statement = pgQuery(sql, params);
      const wasSaturated = saturated();
      try {
        const result = typeof statement === 'string' ? await pool.query(statement, params as unknown[] | undefined) : await pool.query(statement);
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        throw busyOr(error, wasSaturated);
      }
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const wasSaturated = saturated();
      const client = await pool.connect().catch((error: unknown) => {
        throw busyOr(error, wasSaturated);
      });
      // A checked-out client has no listener of the pool's: the server ending the connection
      // between two statements (while `fn` awaits something else) would otherwise be an
      // unhandled 'error' that ends the process. The next statement fails instead.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          async query<R>(sql: string, params?: readonly unknown[]) {
            const statement = pgQuery(sql, params);
            const result = typeof statement === 'string' ? await client.query(statement, params as unknown[] | undefined) : await client.query(statement);
            return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
          },
        };
        const value = await fn(tx);
        await client.query('COMMIT');
        return value;
      } catch (error) {
        if (!lost) await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.removeListener('error', onError);
        // A client whose connection was lost is destroyed, not returned to the pool.
        client.release(lost);
      }
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    listen: (channel, onNotify) => notifications.listen(channel, onNotify),
    async tryAdvisoryLock(space, key) {
      const client = new pg.Client({ connectionString, keepAlive: true });
      let lost = false;
      client.on('error', () => (lost = true));
      client.on('end', () => (lost = true));
      await client.connect();
      try {
        // Over TCP, the server notices a vanished host within ~25 s instead of the kernel's hours
        // (a killed process closes its socket at once and needs none of this).
        await client.query(`SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`).catch(() => undefined);
        const taken = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [space, key]);
        if (!taken.rows[0]?.ok) {
          await client.end();
          return null;
        }
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      return {
        get lost() {
          return lost;
        },
        async release() {
          lost = true;
          await client.end().catch(() => undefined);
        },
      };
    },
    async close() {
      await notifications.close();
      await pool.end();
    },
  };
}

/**
 * Whether an error means the database cannot be reached right now (refused or lost connection,
 * PostgreSQL shutting down or starting up) rather than a problem with the statement.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseBusyError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect now).
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /^Connection terminated|not queryable|timeout exceeded when trying to connect/.test(message);
}

export async function createPgliteDatabase(dataDir: string | undefined): Promise<Database> {
  const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  return {
    kind: 'pglite',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const result = await db.query<R>(sql, params as unknown[] | undefined, pgliteOptions(sql));
      return { rows: result.rows, rowCount: result.rows.length || (result.affectedRows ?? 0) };
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return db.transaction(async (inner) =>
        fn({
          async query<R>(sql: string, params?: readonly unknown[]) {
            const result = await inner.query<R>(sql, params as unknown[] | undefined, pgliteOptions(sql));
            return { rows: result.rows, rowCount: result.rows.length || (result.affectedRows ?? 0) };
          },
        }),
      );
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async listen(channel, onNotify) {
      const unsubscribe = await db.listen(channel, onNotify);
      return async () => {
        await unsubscribe();
      };
    },
    async tryAdvisoryLock(space, key) {
      // One process, one session: the lock lives until it is released or the database is closed.
      const taken = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [space, key]);
      if (!taken.rows[0]?.ok) return null;
      let released = false;
      return {
        get lost() {
          return released || db.closed;
        },
        async release() {
          if (released) return;
          released = true;
          if (!db.closed) await db.query('SELECT pg_advisory_unlock($1, $2)', [space, key]).catch(() => undefined);
        },
      };
    },
    async close() {
      await db.close();
    },
  };
}
