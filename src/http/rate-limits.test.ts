/**
 * Rate limits by tier on real PostgreSQL: per API key and per workspace on /api, per write key on
 * /v1, per client address on public tracking links; RateLimit-* headers on every limited route,
 * 429 RATE_LIMITED with Retry-After past a limit. Then two app instances sharing one limit through
 * the real Redis on this machine (REDIS_URL, default redis://127.0.0.1:6379).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestDatabase, signUp, type TestApp, type TestDatabase } from '../../test/helpers.js';
import { clientAddressKey } from './rate-limits.js';

const LIMITS = { RATE_LIMIT_API_KEY_PER_MINUTE: '3', RATE_LIMIT_WORKSPACE_PER_MINUTE: '5', RATE_LIMIT_WRITE_KEY_PER_MINUTE: '2', RATE_LIMIT_PUBLIC_IP_PER_MINUTE: '2' };

describe('rate limits by tier (in memory)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: LIMITS });
  });
  afterAll(async () => t?.close());

  it('limits each API key, and the workspace across its keys, with RateLimit headers and Retry-After', async () => {
    const caller = await signUp(t.app);
    const get = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/contacts?limit=1', headers });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const ok = await get(caller.bearer);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['ratelimit-limit']).toBe('3');
      remaining.push(String(ok.headers['ratelimit-remaining']));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await get(caller.bearer);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ code: 'RATE_LIMITED', details: { tier: 'api_key', limit: 3 } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-remaining']).toBe('0');

    // The workspace has 5 in all across its keys and sessions: creating the key (session) and the
    // 3 answered requests used 4 (the refused one counted for the key only). Creating a second key
    // uses the 5th; the second key's first request is then refused for the workspace.
    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'second', role: 'admin' } });
    expect(key.statusCode).toBe(201);
    const second = await get({ authorization: `Bearer ${key.json().key as string}` });
    expect(second.statusCode).toBe(429);
    expect(second.json().error.details.tier).toBe('workspace');
  });

  it('counts sessions toward the workspace, and another workspace is not affected', async () => {
    const other = await signUp(t.app, 'Other');
    const response = await t.app.inject({ method: 'GET', url: '/api/contacts?limit=1', headers: other.bearer });
    expect(response.statusCode).toBe(200);
    // signUp used 1 of the workspace (creating the key), this request 1 of the key and 2 of the workspace.
    expect(response.headers['ratelimit-remaining']).toBe('2');
  });

  it('limits each write key on /v1', async () => {
    const caller = await signUp(t.app, 'Tracker');
    const writeKey = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: caller.session, payload: { name: 'web' } })).json().key as string;
    const track = (key: string) =>
      t.app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }, payload: { userId: 'u1', event: 'Viewed' } });
    expect((await track(writeKey)).statusCode).toBe(200);
    const second = await track(writeKey);
    expect(second.statusCode).toBe(200);
    expect(second.headers['ratelimit-remaining']).toBe('0');
    const third = await track(writeKey);
    expect(third.statusCode).toBe(429);
    expect(third.json().error.details.tier).toBe('write_key');
    // Another key (here an unknown one) is counted apart.
    expect((await track('wk_unknown')).statusCode).toBe(401);
  });

  it('limits public tracking links per client address', async () => {
    const hit = (remoteAddress: string) => t.app.inject({ method: 'GET', url: '/t/o/not-a-token.gif', remoteAddress });
    expect((await hit('198.51.100.7')).statusCode).toBe(404);
    expect((await hit('198.51.100.7')).headers['ratelimit-limit']).toBe('2');
    const refused = await hit('198.51.100.7');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.details.tier).toBe('public_ip');
    expect((await hit('198.51.100.8')).statusCode).toBe(404);
  });

  it('leaves routes outside the tiers alone', async () => {
    const live = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.headers['ratelimit-limit']).toBeUndefined();
  });
});

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port || 6379), hostname, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('rate limits shared through Redis', () => {
  let testDb: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // This machine runs Redis (as CI does); without it this suite fails rather than skipping.
    expect(await reachable(redisUrl), `Redis at ${redisUrl}`).toBe(true);
    testDb = await createTestDatabase();
    a = await createTestApp({ testDb, config: { ...LIMITS, RATE_LIMIT_WORKSPACE_PER_MINUTE: '0', REDIS_URL: redisUrl } });
    b = await createTestApp({ testDb, config: { ...LIMITS, RATE_LIMIT_WORKSPACE_PER_MINUTE: '0', REDIS_URL: redisUrl } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await testDb?.drop();
  });

  it('two instances share one API key limit', async () => {
    const caller = await signUp(a.app);
    const get = (app: TestApp) => app.app.inject({ method: 'GET', url: '/api/contacts?limit=1', headers: caller.bearer });
    expect((await get(a)).statusCode).toBe(200);
    expect((await get(b)).statusCode).toBe(200);
    const third = await get(a);
    expect(third.statusCode).toBe(200);
    expect(third.headers['ratelimit-remaining']).toBe('0');
    const refused = await get(b);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.details.tier).toBe('api_key');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('client address key', () => {
  it('groups IPv6 by /64, maps IPv4-mapped addresses to IPv4, and tolerates a client that already left', () => {
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe(clientAddressKey('2001:db8:1:2:bbbb::9'));
    expect(clientAddressKey('2001:db8:1:2::1')).not.toBe(clientAddressKey('2001:db8:1:3::1'));
    expect(clientAddressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddressKey(undefined)).toBe('no-address');
  });
});
