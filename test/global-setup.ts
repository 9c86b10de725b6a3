/**
 * With DATABASE_URL set, tests run on real PostgreSQL: this setup migrates a template database
 * once, and every test file clones it (CREATE DATABASE … TEMPLATE) so files never share rows.
 * Without DATABASE_URL, each test file runs the migrations on its own embedded PGlite.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string | null;
  }
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    project.provide('templateDatabase', null);
    return async () => undefined;
  }
  const runId = randomBytes(4).toString('hex');
  const template = `uh_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  const db = createPostgresDatabase(withDatabase(adminUrl, template), 2);
  await migrate(db);
  await db.close();
  await admin.end();
  project.provide('templateDatabase', template);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const leftovers = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`, [`uh_t_${runId}_%`, template]);
    for (const { datname } of leftovers.rows) {
      await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await client.end();
  };
}
