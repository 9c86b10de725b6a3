/** Test support for the email domain: an app whose runtime uses a chosen provider and clock. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { enqueueEmail, type OutboundEmail } from '../src/email/outbox.js';
import type { EmailProvider } from '../src/email/provider.js';
import type { HttpClient } from '../src/email/providers/http.js';
import { createRuntime, type Runtime } from '../src/init.js';
import type { Clock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';
import { createTestDatabase, testConfig, type TestDatabase } from './helpers.js';

export interface EmailTestApp {
  app: FastifyInstance;
  runtime: Runtime;
  db: Database;
  testDb: TestDatabase;
  close(): Promise<void>;
}

export async function createEmailTestApp(options: { clock?: Clock; config?: Record<string, string>; provider?: EmailProvider; http?: HttpClient } = {}): Promise<EmailTestApp> {
  const testDb = await createTestDatabase();
  const runtime = await createRuntime(testConfig(options.config), {
    db: testDb.db,
    logger: createLogger('silent'),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.provider ? { emailProvider: options.provider } : {}),
    ...(options.http ? { emailHttp: options.http } : {}),
  });
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
      await testDb.drop();
    },
  };
}

let sequence = 0;
/** Enqueues a simple email; `overrides` change any field. */
export async function enqueueTestEmail(db: Database, workspaceId: string, overrides: Partial<OutboundEmail> = {}): Promise<string> {
  sequence += 1;
  const { id } = await enqueueEmail(db, {
    workspaceId,
    contactId: null,
    idempotencyKey: `test:${Date.now()}:${sequence}`,
    sourceType: 'test',
    sourceId: null,
    from: 'Acme <news@acme.test>',
    to: `person${sequence}@example.com`,
    subject: `Hello ${sequence}`,
    html: `<html><body><p>Hello number ${sequence}</p><a href="https://example.com/offer?a=1&amp;b=2">Offer</a></body></html>`,
    text: `Hello number ${sequence}`,
    ...overrides,
  });
  return id;
}

export async function createContact(db: Database, workspaceId: string, email: string): Promise<string> {
  const result = await db.query<{ id: string }>('INSERT INTO contacts (workspace_id, email, first_name) VALUES ($1, $2, $3) RETURNING id', [workspaceId, email, 'Ada']);
  return result.rows[0]!.id;
}

export async function messageRow(db: Database, id: string): Promise<{ status: string; attempts: number; provider: string | null; provider_message_id: string | null; last_error: string | null; next_attempt_at: Date; sent_at: Date | null }> {
  const result = await db.query<{ status: string; attempts: number; provider: string | null; provider_message_id: string | null; last_error: string | null; next_attempt_at: Date; sent_at: Date | null }>(
    'SELECT status, attempts, provider, provider_message_id, last_error, next_attempt_at, sent_at FROM messages WHERE id = $1',
    [id],
  );
  return result.rows[0]!;
}
