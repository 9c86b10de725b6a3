/**
 * Error monitoring end to end: the runtime built with SENTRY_DSN pointing at a local HTTP server
 * that receives Sentry envelopes as sentry.io would. An unhandled route error (the error handler's
 * bare 500) and a worker's failed batch arrive as events with the request id, the release and the
 * role, and nothing personal or secret (emails, cookies, authorization, bodies) is in them.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { createRuntime, type Runtime } from '../init.js';
import { createTestDatabase, testConfig, type TestDatabase } from '../../test/helpers.js';
import { createWorkerLoop } from './worker-loop.js';
import { scrubEvent } from './sentry.js';
import type { FastifyInstance } from 'fastify';

interface Received {
  raw: string;
  event: {
    event_id: string;
    release?: string;
    environment?: string;
    tags?: Record<string, string>;
    extra?: Record<string, unknown>;
    request?: unknown;
    user?: unknown;
    exception?: { values?: Array<{ type?: string; value?: string }> };
  };
}

/** A stand-in for sentry.io: accepts envelopes at /api/<project>/envelope/ and keeps their events. */
function envelopeServer(): Promise<{ port: number; events: Received[]; close(): Promise<void> }> {
  const events: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const raw = body.toString('utf8');
      if (req.url?.startsWith('/api/42/envelope/')) {
        // header line, then (item header, item payload) pairs
        const lines = raw.split('\n').filter((l) => l !== '');
        for (let i = 1; i + 1 < lines.length; i += 2) {
          const item = JSON.parse(lines[i]!) as { type: string };
          if (item.type === 'event') events.push({ raw, event: JSON.parse(lines[i + 1]!) as Received['event'] });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ port, events, close: () => new Promise((done) => server.close(() => done())) });
    }),
  );
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('error monitoring (Sentry)', () => {
  let sink: Awaited<ReturnType<typeof envelopeServer>>;
  let testDb: TestDatabase;
  let runtime: Runtime;
  let app: FastifyInstance;

  beforeAll(async () => {
    sink = await envelopeServer();
    testDb = await createTestDatabase();
    const config = testConfig({ SENTRY_DSN: `http://publickey@127.0.0.1:${sink.port}/42`, SENTRY_RELEASE: 'unite-hub@test-1', LOG_LEVEL: 'error' });
    runtime = await createRuntime(config, { db: testDb.db });
    app = await buildApp(runtime.deps);
    // A route with a bug: what the error handler answers with a bare 500.
    app.post('/test/boom', async (request) => {
      throw new Error(`lookup failed for ${(request.body as { email: string }).email}`);
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await testDb?.drop();
    await sink?.close();
  });

  it('reports an unhandled route error with request id, release and role, scrubbed', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/test/boom?token=querysecret',
      headers: { 'x-request-id': 'req-sentry-1', cookie: 'uh_session=cookiesecret', authorization: 'Bearer uh_keysecret', 'content-type': 'application/json' },
      payload: { email: 'ada.lovelace@example.com', password: 'hunter2-password' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json().error.code).toBe('INTERNAL_ERROR');
    await runtime.errorReporter!.flush(5_000);
    await until('the route error event', () => sink.events.some((e) => e.event.tags?.request_id === 'req-sentry-1'));
    const received = sink.events.find((e) => e.event.tags?.request_id === 'req-sentry-1')!;
    expect(received.event.release).toBe('unite-hub@test-1');
    expect(received.event.tags?.role).toBe('all');
    expect(received.event.exception?.values?.[0]?.value).toBe('lookup failed for [email]');
    for (const secret of ['ada.lovelace', 'example.com', 'cookiesecret', 'uh_keysecret', 'hunter2', 'querysecret']) expect(received.raw).not.toContain(secret);
  });

  it('reports a worker whose batch fails, with release and role', async () => {
    let failures = 0;
    const loop = createWorkerLoop({
      name: 'probe worker',
      db: runtime.deps.db,
      logger: runtime.deps.logger,
      channel: 'sentry_probe',
      pollMs: 20,
      async runBatch() {
        failures += 1;
        if (failures === 1) throw new Error('probe batch crashed for grace@example.org');
        return 0;
      },
    });
    loop.start();
    await until('the failed batch', () => failures >= 2);
    await loop.stop();
    await runtime.errorReporter!.flush(5_000);
    await until('the worker event', () => sink.events.some((e) => e.event.extra?.log_message === 'probe worker batch failed'));
    const received = sink.events.find((e) => e.event.extra?.log_message === 'probe worker batch failed')!;
    expect(received.event.exception?.values?.[0]?.value).toBe('probe batch crashed for [email]');
    expect(received.event.release).toBe('unite-hub@test-1');
    expect(received.event.tags?.role).toBe('all');
    expect(received.event.tags?.request_id).toBeUndefined();
    expect(received.raw).not.toContain('grace@example.org');
  });

  it('scrubs request data, users and secret-named fields from any event', () => {
    const scrubbed = scrubEvent({
      type: undefined,
      user: { email: 'x@example.com', ip_address: '10.0.0.1' },
      request: { method: 'POST', url: 'http://h/api/contacts?email=x@example.com', data: '{"a":1}', cookies: { s: '1' }, headers: { authorization: 'Bearer k' } },
      extra: { apiKey: 'uh_1', nested: { password: 'p', note: 'mail bob@example.net' } },
    });
    expect(scrubbed.user).toBeUndefined();
    expect(scrubbed.request).toEqual({ method: 'POST', url: 'http://h/api/contacts' });
    expect(scrubbed.extra).toEqual({ apiKey: '[redacted]', nested: { password: '[redacted]', note: 'mail [email]' } });
  });
});
