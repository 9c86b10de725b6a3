import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createPgliteDatabase } from '../src/db/database.js';
import { databaseCheck } from '../src/health/health.js';
import { createLogger } from '../src/platform/logger.js';
import { createTestApp, signUp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('health', () => {
  it('answers live, ready and deep; deep shows its details only to operators', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().database.status).toBe('ok');
    const anonymous = await t.app.inject({ method: 'GET', url: '/health/deep' });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ status: 'ok' });
    const owner = await signUp(t.app);
    const viewerKey = (await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.session, payload: { name: 'v', role: 'viewer' } })).json().key;
    expect((await t.app.inject({ method: 'GET', url: '/health/deep', headers: { authorization: `Bearer ${viewerKey}` } })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/health/deep', headers: { authorization: 'Bearer uh_nope_nope' } })).json()).toEqual({ status: 'ok' });
    for (const headers of [owner.bearer, { cookie: owner.session.cookie! }]) {
      const deep = await t.app.inject({ method: 'GET', url: '/health/deep', headers });
      expect(deep.statusCode).toBe(200);
      expect(deep.json().checks.database).toMatchObject({ status: 'ok' });
      expect(typeof deep.json().checks.database.latencyMs).toBe('number');
    }
  });

  it('reports the database unhealthy while migrations are pending', async () => {
    const bare = await createPgliteDatabase(undefined);
    try {
      const result = await databaseCheck(bare).check();
      expect(result.status).toBe('unhealthy');
      expect(result.detail).toMatch(/migrations pending/);
    } finally {
      await bare.close();
    }
  });
});

describe('bad input never yields a 500', () => {
  it('refuses malformed JSON with INVALID_JSON', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email": "a@b.c",' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('INVALID_JSON');
  });

  it('refuses an unsupported content type with UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'text/xml' }, payload: '<a/>' });
    expect(r.statusCode).toBe(415);
    expect(r.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses an oversized body with BODY_TOO_LARGE', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(2_000_000) }) });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('BODY_TOO_LARGE');
  });

  it('refuses wrong types without coercing them', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.co', password: 12345678901 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('VALIDATION_FAILED');
    expect(r.json().error.details[0].path).toBe('/password');
  });

  it('answers unknown routes with ROUTE_NOT_FOUND and unauthenticated calls with UNAUTHENTICATED', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ROUTE_NOT_FOUND');
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/auth/me' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHENTICATED');
    const badKey = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: 'Bearer uh_deadbeef_nope' } });
    expect(badKey.statusCode).toBe(401);
  });

  it('refuses malformed ids in the path with VALIDATION_FAILED', async () => {
    const caller = await signUp(t.app);
    const r = await t.app.inject({ method: 'DELETE', url: '/api/api-keys/not-a-uuid', headers: caller.session });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('platform', () => {
  it('echoes a request id and sends security headers with a CSP', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'req-123' } });
    expect(r.headers['x-request-id']).toBe('req-123');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    const generated = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/auth/signup', '/api/api-keys', '/health/ready']));
  });

  it('redacts secrets from log lines', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ password: 'hunter2hunter2', req: { headers: { authorization: 'Bearer uh_secret', cookie: 'uh_session=abc' } }, user: { apiKey: 'uh_x_y' } }, 'login');
    const line = lines.join('');
    expect(line).not.toContain('hunter2hunter2');
    expect(line).not.toContain('uh_secret');
    expect(line).not.toContain('uh_session=abc');
    expect(line).not.toContain('uh_x_y');
    expect(line).toContain('[redacted]');
  });
});

describe('config', () => {
  it('refuses bad values naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/APP_SECRET/);
    expect(() => loadConfig({ APP_SECRET: 'short' })).toThrow(/APP_SECRET/);
    expect(() => loadConfig({ UNITE_ROLE: 'both' })).toThrow(/UNITE_ROLE/);
    expect(() => loadConfig({ UNITE_ROLE: 'worker' })).toThrow(/UNITE_ROLE.*DATABASE_URL/);
    expect(loadConfig({ UNITE_ROLE: 'worker', DATABASE_URL: 'postgres://localhost/x' }).role).toBe('worker');
  });

  it('defaults to port 3008 and the embedded database, and freezes the result', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.port).toBe(3008);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe('/srv/app/data');
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('metrics', () => {
  it('exposes Prometheus metrics with request counts by route pattern', async () => {
    await t.app.inject({ method: 'GET', url: '/health/live' });
    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.body).toMatch(/http_requests_total\{method="GET",route="\/health\/live",status="200"\} \d+/);
    expect(r.body).toContain('process_resident_memory_bytes');
  });

  it('with METRICS_TOKEN, /metrics needs it as a Bearer token, which also shows /health/deep details', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await createTestApp({ testDb: t.testDb, config: { METRICS_TOKEN: token } });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`]) {
        const refused = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
        expect(refused.statusCode).toBe(401);
        expect(refused.json().error.code).toBe('UNAUTHENTICATED');
      }
      const ok = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('http_requests_total');
      const deep = await guarded.app.inject({ method: 'GET', url: '/health/deep', headers: { authorization: `Bearer ${token}` } });
      expect(deep.json().checks.database).toMatchObject({ status: 'ok' });
      expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    } finally {
      await guarded.close();
    }
  });
});
