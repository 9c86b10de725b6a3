/**
 * Workspace SMTP providers follow the webhooks' address policy: a private, loopback or link-local
 * host is refused at save and never connected to by "test connection", unless the operator
 * allows private hosts (SMTP_ALLOW_PRIVATE_HOSTS).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestDatabase, signUp, type TestApp, type TestDatabase } from '../../test/helpers.js';
import type { ResolvedAddress } from '../campaigns/webhooks.js';

const answers: Record<string, string> = { 'relay.internal': '10.0.0.7', 'smtp.example.com': '93.184.216.34', 'metadata.google.internal': '169.254.169.254' };
const dns = {
  async resolve(host: string): Promise<ResolvedAddress[]> {
    if (!answers[host]) throw Object.assign(new Error(`lookup ${host} failed`), { code: 'ENOTFOUND' });
    return [{ address: answers[host]!, family: 4 }];
  },
};

let testDb: TestDatabase;
let strict: TestApp;
let relaxed: TestApp;
let server: net.Server;
let connections = 0;
let port: number;
beforeAll(async () => {
  testDb = await createTestDatabase();
  strict = await createTestApp({ testDb, dns });
  relaxed = await createTestApp({ testDb, dns, config: { SMTP_ALLOW_PRIVATE_HOSTS: 'true' } });
  // A local "SMTP server" that only counts who connects.
  server = net.createServer((socket) => {
    connections += 1;
    socket.end('554 go away\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.close();
  await strict.close();
  await relaxed.close();
  await testDb.drop();
});

const smtp = (url: string) => ({ name: 'Relay', kind: 'smtp', credentials: { url } });

describe('SMTP provider hosts', () => {
  it('refuses private, loopback, link-local, localhost and unresolvable hosts at save, saying why, and takes public ones', async () => {
    const caller = await signUp(strict.app);
    for (const [url, reason] of [
      ['smtp://relay.internal:25', /relay\.internal resolves to a non-public address \(10\.0\.0\.7\)/],
      [`smtp://127.0.0.1:${port}`, /127\.0\.0\.1 resolves to a non-public address/],
      ['smtp://[::1]:25', /non-public address \(::1\)/],
      ['smtp://metadata.google.internal:25', /169\.254\.169\.254/],
      ['smtps://LOCALHOST.:465', /localhost is not allowed/],
      ['smtp://nowhere.example.com:25', /does not resolve/],
    ] as const) {
      const r = await strict.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: smtp(url) });
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'PROVIDER_HOST_NOT_ALLOWED', message: expect.stringMatching(reason), details: { field: 'url' } });
    }
    const ok = await strict.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: smtp('smtp://smtp.example.com:587') });
    expect(ok.statusCode).toBe(201);
    const changed = await strict.app.inject({ method: 'PUT', url: `/api/providers/${ok.json().id}`, headers: caller.bearer, payload: smtp('smtp://relay.internal:25') });
    expect(changed.statusCode).toBe(400);
    expect(changed.json().error.code).toBe('PROVIDER_HOST_NOT_ALLOWED');
  });

  it('"test connection" never connects to a private host unless the operator allows private hosts', async () => {
    const caller = await signUp(relaxed.app);
    const saved = await relaxed.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: smtp(`smtp://127.0.0.1:${port}`) });
    expect(saved.statusCode).toBe(201);
    const id = saved.json().id;
    const refused = await strict.app.inject({ method: 'POST', url: `/api/providers/${id}/test`, headers: caller.bearer });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('PROVIDER_HOST_NOT_ALLOWED');
    expect(connections).toBe(0);
    const allowed = await relaxed.app.inject({ method: 'POST', url: `/api/providers/${id}/test`, headers: caller.bearer });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().ok).toBe(false);
    expect(connections).toBeGreaterThan(0);
  });
});
