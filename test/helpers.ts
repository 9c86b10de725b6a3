/**
 * Test support: a fresh database per test file (a clone of the migrated template on PostgreSQL,
 * or a migrated in-memory PGlite), the app built on it with inject(), and a signed-up workspace.
 * Only side effects (clock, providers) are replaced; the database is always real.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../src/app.js';
import type { DnsResolver } from '../src/campaigns/webhooks.js';
import { loadConfig, type Config } from '../src/config.js';
import { createPgliteDatabase, createPostgresDatabase, type Database, type Queryable } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createRuntime, type Runtime } from '../src/init.js';
import type { Clock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';
import { withDatabase } from './global-setup.js';

export interface TestDatabase {
  db: Database;
  /** Connection string of this file's own database (PostgreSQL only), e.g. for child processes. */
  url: string | null;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('templateDatabase');
  const adminUrl = process.env.DATABASE_URL;
  if (!template || !adminUrl) {
    const db = await createPgliteDatabase(undefined);
    await migrate(db);
    return { db, url: null, drop: () => db.close() };
  }
  const name = `${template.replace('uh_tpl_', 'uh_t_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const db = createPostgresDatabase(url, 5);
  return {
    db,
    url,
    async drop() {
      await db.close();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * Workspaces inserted straight into the database (no owner, no sign-up), under one new
 * organization; their ids in the order of `names`.
 */
export async function insertWorkspaces(q: Queryable, organization: string, names: string[]): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `WITH o AS (INSERT INTO organizations (name) VALUES ($1) RETURNING id)
     INSERT INTO workspaces (organization_id, name)
     SELECT o.id, n.name FROM o, unnest($2::text[]) WITH ORDINALITY AS n(name, i) ORDER BY n.i
     RETURNING id`,
    [organization, names],
  );
  return rows.rows.map((r) => r.id);
}

/** One workspace inserted straight into the database, in an organization of the same name. */
export async function insertWorkspace(q: Queryable, name: string): Promise<string> {
  return (await insertWorkspaces(q, name, [name]))[0]!;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', APP_SECRET: 'test-secret-that-is-at-least-32-characters', PUBLIC_URL: 'http://localhost:3008', DATA_DIR: '/tmp/unite-hub-test-data', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', ...overrides });
}

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  db: Database;
  testDb: TestDatabase;
  close(): Promise<void>;
}

export async function createTestApp(options: { clock?: Clock; config?: Record<string, string>; testDb?: TestDatabase; dns?: DnsResolver } = {}): Promise<TestApp> {
  const testDb = options.testDb ?? (await createTestDatabase());
  const config = testConfig(options.config);
  const runtime = await createRuntime(config, { db: testDb.db, logger: createLogger('silent'), ...(options.clock ? { clock: options.clock } : {}), ...(options.dns ? { dns: options.dns } : {}) });
  const app = await buildApp(runtime.deps);
  await app.ready();
  return {
    app,
    runtime,
    db: testDb.db,
    testDb,
    async close() {
      await app.close();
      await runtime.close();
      if (!options.testDb) await testDb.drop();
    },
  };
}

export interface Caller {
  workspaceId: string;
  userId: string;
  email: string;
  password: string;
  /** Headers for a cookie-authenticated unsafe request (session + CSRF). */
  session: Record<string, string>;
  /** Headers for an API-key request (an admin key). */
  bearer: Record<string, string>;
  apiKey: string;
}

function cookiesOf(response: LightMyRequestResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of response.cookies) out[c.name] = c.value;
  return out;
}

export function sessionHeaders(response: LightMyRequestResponse): Record<string, string> {
  const cookies = cookiesOf(response);
  return {
    cookie: Object.entries(cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; '),
    'x-csrf-token': cookies.uh_csrf ?? '',
  };
}

let counter = 0;
/** Signs up a brand-new organization and workspace, and creates an admin API key in it. */
export async function signUp(app: FastifyInstance, name = 'Owner'): Promise<Caller> {
  counter += 1;
  const email = `owner-${Date.now()}-${counter}-${randomBytes(3).toString('hex')}@example.com`;
  const password = 'correct horse battery';
  const response = await app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email, password, name, organizationName: `Org ${counter}` } });
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
  const body = response.json() as { user: { id: string }; workspace: { id: string } };
  const session = sessionHeaders(response);
  const key = await app.inject({ method: 'POST', url: '/api/api-keys', headers: session, payload: { name: 'test key', role: 'admin' } });
  if (key.statusCode !== 201) throw new Error(`api key failed: ${key.statusCode} ${key.body}`);
  const apiKey = (key.json() as { key: string }).key;
  return { workspaceId: body.workspace.id, userId: body.user.id, email, password, session, bearer: { authorization: `Bearer ${apiKey}` }, apiKey };
}

/**
 * The link token of the newest invitation email to `email` from the workspace, read from the outbox
 * as the invitee would read it from their mailbox.
 */
export async function invitationToken(db: Database, workspaceId: string, email: string): Promise<string> {
  const sent = await db.query<{ text_body: string }>(
    `SELECT text_body FROM messages WHERE workspace_id = $1 AND to_address = $2 AND source_type = 'invitation' ORDER BY created_at DESC, idempotency_key DESC LIMIT 1`,
    [workspaceId, email.toLowerCase()],
  );
  const match = /\/invite#token=([A-Za-z0-9_-]+)/.exec(sent.rows[0]?.text_body ?? '');
  if (!match) throw new Error(`no invitation email to ${email}`);
  return match[1]!;
}

/** The owner invites `email` with `role`; the invitee signs up through the link. Returns the new member. */
export async function joinByInvitation(
  app: FastifyInstance,
  db: Database,
  owner: Caller,
  input: { email: string; role: 'owner' | 'admin' | 'member' | 'viewer'; name?: string; password?: string },
): Promise<{ userId: string; email: string; password: string; session: Record<string, string> }> {
  const invited = await app.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email: input.email, role: input.role } });
  if (invited.statusCode !== 201) throw new Error(`invitation failed: ${invited.statusCode} ${invited.body}`);
  const token = await invitationToken(db, owner.workspaceId, input.email);
  const password = input.password ?? 'member password 1';
  const joined = await app.inject({ method: 'POST', url: '/api/invitations/signup', payload: { token, name: input.name ?? 'Invitee', password } });
  if (joined.statusCode !== 201) throw new Error(`sign-up through invitation failed: ${joined.statusCode} ${joined.body}`);
  return { userId: (joined.json() as { user: { id: string } }).user.id, email: input.email.toLowerCase(), password, session: sessionHeaders(joined) };
}

/** `db` behind a Queryable that counts the statements sent through it (cache tests: "no query the second time"). */
export function countingQueryable(db: Queryable): { q: Queryable; count: () => number } {
  let queries = 0;
  return {
    q: {
      query: (sql, params) => {
        queries += 1;
        return db.query(sql, params);
      },
    },
    count: () => queries,
  };
}
