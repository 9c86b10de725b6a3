/** Bench support: a fresh PostgreSQL database per run (created, migrated, dropped) and an app on it. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPostgresDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createRuntime, type Runtime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

export interface BenchEnv {
  db: Database;
  runtime: Runtime;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function requireDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is required (a PostgreSQL server the bench can create a database on)');
    process.exit(1);
  }
  return url;
}

/** A fresh, empty database on the admin URL's server (`<prefix>_<random>`): its name, its URL, and its drop. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${name}`;
  return {
    name,
    url: parsed.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function createBenchEnv(adminUrl: string, poolSize: number, env: Record<string, string> = {}): Promise<BenchEnv> {
  const scratch = await createScratchDatabase(adminUrl, 'uh_bench');
  const url = scratch.url;
  const db = createPostgresDatabase(url, poolSize);
  await migrate(db);
  const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: url, DATABASE_POOL_SIZE: String(poolSize), APP_SECRET: randomBytes(32).toString('hex'), PUBLIC_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'warn', DATA_DIR: '/tmp/uh-bench', ...env });
  const runtime = await createRuntime(config, { db, logger: createLogger('warn') });
  const app = await buildApp(runtime.deps);
  await app.ready();
  return {
    db,
    runtime,
    app,
    async close() {
      await app.close();
      await runtime.close();
      await db.close();
      await scratch.drop();
    },
  };
}

/** Signs up an owner; returns the session headers and workspace id. */
export async function signUpOwner(app: FastifyInstance): Promise<{ workspaceId: string; session: Record<string, string> }> {
  const response = await app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email: `bench-${randomBytes(4).toString('hex')}@example.com`, password: 'bench password 123', name: 'Bench', organizationName: 'Bench' } });
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.body}`);
  const cookies = Object.fromEntries(response.cookies.map((c) => [c.name, c.value]));
  return {
    workspaceId: (response.json() as { workspace: { id: string } }).workspace.id,
    session: { cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': cookies.uh_csrf ?? '' },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * CPU time (utime + stime, ms) used so far by this database's PostgreSQL backends, from /proc, or
 * null when /proc does not show them (a remote server). Take it before and after the timed part.
 */
export async function backendCpuMs(db: Pick<Database, 'query'>): Promise<number | null> {
  const pids = await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  let ticks = 0;
  try {
    for (const { pid } of pids.rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  return ticks * 10; // USER_HZ = 100
}

/** CPU time (utime + stime, ms) of one process from /proc, or null where /proc does not show it. */
export function processCpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ = 100
  } catch {
    return null;
  }
}

/** The database with every statement counted (queries, and a transaction's statements with its BEGIN and COMMIT). */
export function countedDatabase(db: Database): { db: Database; statements: () => number; byKind: () => Map<string, number> } {
  let n = 0;
  const kinds = new Map<string, number>();
  // A statement's kind: its first words (a CTE's first table), enough to tell the sender's apart.
  const count = (sql: string, weight = 1) => {
    n += weight;
    const kind = sql.replace(/\s+/g, ' ').trim().slice(0, 60);
    kinds.set(kind, (kinds.get(kind) ?? 0) + weight);
  };
  const wrapped = Object.create(db) as Database;
  wrapped.query = ((sql: string, params?: readonly unknown[]) => {
    count(sql);
    return db.query(sql, params);
  }) as Database['query'];
  wrapped.transaction = ((fn: Parameters<Database['transaction']>[0]) =>
    db.transaction((tx) => {
      count('BEGIN … COMMIT', 2);
      return fn({ query: (sql, params) => (count(sql), tx.query(sql, params)) });
    })) as Database['transaction'];
  return { db: wrapped, statements: () => n, byKind: () => new Map(kinds) };
}
