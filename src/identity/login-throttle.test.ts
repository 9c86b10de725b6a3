import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { ManualClock } from '../platform/clock.js';
import { createTestApp, createTestDatabase, signUp, type TestApp, type TestDatabase } from '../../test/helpers.js';
import { BASE_DELAY_MS, FREE_ATTEMPTS, lockDelayMs, MAX_DELAY_MS } from './login-throttle.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

const login = (t: TestApp, email: string, password: string, headers: Record<string, string> = {}, remoteAddress?: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, headers, ...(remoteAddress ? { remoteAddress } : {}) });

describe('client address and forwarded headers', () => {
  it('ignores X-Forwarded-For by default: a new forged address per attempt is still rate-limited, and the audit log keeps the socket address', async () => {
    const t = await createTestApp({ testDb, config: { LOGIN_RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await login(t, `nobody-${i}@example.com`, 'wrong password', { 'x-forwarded-for': `203.0.113.${i + 1}` })).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
    const fresh = await createTestApp({ testDb });
    try {
      const signup = await fresh.app.inject({ method: 'POST', url: '/api/auth/signup', headers: { 'x-forwarded-for': '198.51.100.7' }, payload: { email: `xff-${Date.now()}@example.com`, password: 'long enough password', name: 'X', organizationName: 'X' } });
      expect(signup.statusCode).toBe(201);
      const audit = await fresh.db.query<{ ip: string }>(`SELECT ip::text AS ip FROM audit_log WHERE workspace_id = $1`, [signup.json().workspace.id]);
      expect(audit.rows[0]!.ip).toMatch(/^127\.0\.0\.1/);
    } finally {
      await fresh.close();
    }
  });

  it('refuses a TRUST_PROXY entry that is neither an address nor a CIDR, and trusts no proxy by default', () => {
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/8,proxy.internal' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 2001:db8::/32' }).trustProxy).toEqual(['loopback', '2001:db8::/32']);
  });

  it('believes X-Forwarded-For only from a proxy TRUST_PROXY lists (address or CIDR)', async () => {
    const t = await createTestApp({ testDb, config: { TRUST_PROXY: '10.0.0.0/8, 192.0.2.1' } });
    try {
      const ipSeen = async (remoteAddress: string) => {
        const r = await t.app.inject({ method: 'POST', url: '/api/auth/signup', remoteAddress, headers: { 'x-forwarded-for': '198.51.100.7' }, payload: { email: `p-${Date.now()}-${remoteAddress}@example.com`, password: 'long enough password', name: 'P', organizationName: 'P' } });
        const audit = await t.db.query<{ ip: string }>(`SELECT ip::text AS ip FROM audit_log WHERE workspace_id = $1`, [r.json().workspace.id]);
        return audit.rows[0]!.ip.replace(/\/32$/, '');
      };
      expect(await ipSeen('10.1.2.3')).toBe('198.51.100.7');
      expect(await ipSeen('192.0.2.1')).toBe('198.51.100.7');
      expect(await ipSeen('192.0.2.2')).toBe('192.0.2.2');
    } finally {
      await t.close();
    }
  });
});

describe('per-account login throttling', () => {
  let t: TestApp;
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await createTestApp({ testDb, clock });
  });
  afterAll(async () => {
    await t.close();
  });

  it('grows the delay after the free attempts and caps it', () => {
    expect(lockDelayMs(FREE_ATTEMPTS)).toBe(0);
    expect(lockDelayMs(FREE_ATTEMPTS + 1)).toBe(BASE_DELAY_MS);
    expect(lockDelayMs(FREE_ATTEMPTS + 2)).toBe(2 * BASE_DELAY_MS);
    expect(lockDelayMs(FREE_ATTEMPTS + 500)).toBe(MAX_DELAY_MS);
  });

  it('locks an email after repeated failures from changing addresses, refuses even the right password during the lock, and lets it in after the delay', async () => {
    const owner = await signUp(t.app);
    for (let i = 0; i <= FREE_ATTEMPTS; i++) {
      const r = await login(t, owner.email, 'wrong password', {}, `203.0.113.${i + 1}`);
      expect(r.statusCode).toBe(401);
    }
    const locked = await login(t, owner.email, owner.password, {}, '198.51.100.1');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('LOGIN_THROTTLED');
    expect(Number(locked.headers['retry-after'])).toBe(BASE_DELAY_MS / 1000);
    // Attempts during the lock are not counted: they never extend it.
    for (let i = 0; i < 20; i++) expect((await login(t, owner.email, 'wrong password')).statusCode).toBe(429);
    clock.advance(BASE_DELAY_MS + 1000);
    const ok = await login(t, owner.email, owner.password);
    expect(ok.statusCode).toBe(200);
    // A success starts afresh: the free attempts are back.
    for (let i = 0; i < FREE_ATTEMPTS; i++) expect((await login(t, owner.email, 'wrong password')).statusCode).toBe(401);
  });

  it('answers an unknown email the same way (no hint of which emails have accounts)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= FREE_ATTEMPTS + 1; i++) statuses.push((await login(t, 'ghost@example.com', 'wrong password')).statusCode);
    expect(statuses).toEqual([...Array.from({ length: FREE_ATTEMPTS + 1 }, () => 401), 429]);
  });

  it('counts every attempt before checking it: a burst of parallel guesses gets only the free ones and one more checked', async () => {
    const owner = await signUp(t.app);
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(t, owner.email, 'wrong password')));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(FREE_ATTEMPTS + 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - FREE_ATTEMPTS - 1);
  });

  it('does not hold a browser that logged in to the account before, so an attacker cannot keep its owner out', async () => {
    const owner = await signUp(t.app);
    const first = await login(t, owner.email, owner.password);
    const device = first.cookies.find((c) => c.name === 'uh_device');
    expect(device?.httpOnly).toBe(true);
    for (let i = 0; i <= FREE_ATTEMPTS + 3; i++) await login(t, owner.email, 'wrong password', {}, `203.0.113.${i + 1}`);
    expect((await login(t, owner.email, owner.password)).statusCode).toBe(429);
    const fromKnownBrowser = await login(t, owner.email, owner.password, { cookie: `uh_device=${device!.value}` });
    expect(fromKnownBrowser.statusCode).toBe(200);
    // The cookie is bound to its email: it does not unlock another account.
    const other = await signUp(t.app);
    for (let i = 0; i <= FREE_ATTEMPTS; i++) await login(t, other.email, 'wrong password');
    expect((await login(t, other.email, other.password, { cookie: `uh_device=${device!.value}` })).statusCode).toBe(429);
  });
});
