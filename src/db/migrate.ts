/**
 * Forward-only migrations: `migrations/NNN_name.sql`, applied in order, each in its own
 * transaction, recorded in `schema_migrations`. A PostgreSQL advisory lock lets several processes
 * start at once without applying a migration twice.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
// Arbitrary constant shared by every process of this application.
const MIGRATION_LOCK_ID = 7_301_944_211;

/** Finds `migrations/` next to package.json, from source (src/db) or build (dist/server/db). */
export function findMigrationsDir(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'migrations');
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`migrations directory not found above ${from}`);
    dir = parent;
  }
}

export function loadMigrations(dir: string = findMigrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (!match) throw new Error(`migration file name must look like 001_name.sql: ${file}`);
      return { version: match[1]!, name: match[2]!, sql: readFileSync(path.join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version.localeCompare(b.version));
}

async function ensureTable(db: Database): Promise<void> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
}

export async function appliedVersions(db: Database): Promise<Set<string>> {
  const exists = await db.query<{ exists: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`);
  if (!exists.rows[0]?.exists) return new Set();
  const result = await db.query<{ version: string }>('SELECT version FROM schema_migrations');
  return new Set(result.rows.map((row) => row.version));
}

/** Versions present on disk but not yet applied; empty means the schema is current. */
export async function pendingMigrations(db: Database, migrations: Migration[] = loadMigrations()): Promise<Migration[]> {
  const applied = await appliedVersions(db);
  return migrations.filter((migration) => !applied.has(migration.version));
}

export async function migrate(db: Database, migrations: Migration[] = loadMigrations()): Promise<string[]> {
  await ensureTable(db);
  const done: string[] = [];
  for (const migration of migrations) {
    const applied = await db.transaction(async (tx) => {
      if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
      const seen = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (seen.rowCount > 0) return false;
      // Statements run one by one: node-postgres's extended protocol takes a single statement.
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (applied) done.push(`${migration.version}_${migration.name}`);
  }
  return done;
}

/**
 * Splits a migration into statements on semicolons at the end of a line, outside dollar-quoted
 * bodies. Migrations are written with that rule in mind (one statement ends per line).
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let inDollar = false;
  for (const line of sql.split('\n')) {
    const trimmed = line.trim();
    if (!inDollar && (trimmed.startsWith('--') || trimmed === '') && current.length === 0) continue;
    current.push(line);
    const dollars = line.match(/\$\$/g)?.length ?? 0;
    if (dollars % 2 === 1) inDollar = !inDollar;
    if (!inDollar && trimmed.endsWith(';')) {
      statements.push(current.join('\n'));
      current = [];
    }
  }
  if (current.some((line) => line.trim() !== '' && !line.trim().startsWith('--'))) statements.push(current.join('\n'));
  return statements;
}
