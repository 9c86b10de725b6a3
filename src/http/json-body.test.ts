import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_KEYS } from './json-body.js';

/** `{"a":{"a":…1…}}` nested `levels` deep (10,000 levels is 60 KB). */
const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const wide = (keys: number) => `{${Array.from({ length: keys }, (_, i) => `"k${i}":${i}`).join(',')}}`;

describe('jsonShapeProblem', () => {
  it('counts nesting and keys per object, and ignores brackets, colons and escaped quotes inside strings', () => {
    expect(jsonShapeProblem(deep(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonShapeProblem(deep(MAX_JSON_DEPTH + 1))?.code).toBe('JSON_TOO_DEEP');
    expect(jsonShapeProblem(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)?.code).toBe('JSON_TOO_DEEP');
    expect(jsonShapeProblem(JSON.stringify({ s: '{'.repeat(500) + '"\\' + ':'.repeat(5000) }))).toBeNull();
    expect(jsonShapeProblem(JSON.stringify({ s: 'a\\"{{{{' }), 3)).toBeNull();
    expect(jsonShapeProblem(wide(MAX_JSON_KEYS))).toBeNull();
    expect(jsonShapeProblem(wide(MAX_JSON_KEYS + 1))?.code).toBe('JSON_TOO_MANY_KEYS');
    // Many objects of fewer keys each are fine: the limit is per object.
    expect(jsonShapeProblem(JSON.stringify(Array.from({ length: 50 }, () => JSON.parse(wide(900)))))).toBeNull();
    // Siblings at one depth do not add up.
    expect(jsonShapeProblem(JSON.stringify({ a: JSON.parse(wide(900)), b: JSON.parse(wide(900)) }))).toBeNull();
  });
});

describe('deeply nested or huge-keyed JSON bodies are refused before any handler', () => {
  let t: TestApp;
  let caller: Caller;
  let writeKey: string;
  beforeAll(async () => {
    t = await createTestApp();
    caller = await signUp(t.app);
    writeKey = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: caller.session, payload: { name: 'web' } })).json().key;
  });
  afterAll(async () => {
    await t.close();
  });

  const nested = deep(10_000);
  const id = '00000000-0000-4000-8000-000000000000';
  const basic = () => ({ authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });
  const cases: Array<[string, string, string, () => Record<string, string>, string?]> = [
    ['POST', '/api/contacts', `{"email":"deep@example.com","customFields":${nested}}`, () => caller.bearer],
    ['POST', '/api/events', `{"email":"deep@example.com","name":"x","properties":${nested}}`, () => caller.bearer],
    ['POST', '/v1/track', `{"userId":"u1","event":"x","properties":${nested}}`, basic],
    ['POST', '/v1/batch', `{"batch":[{"type":"track","userId":"u1","event":"x","properties":${nested}}]}`, basic],
    ['POST', '/v1/track', `{"userId":"u1","event":"x","properties":${nested}}`, basic, 'text/plain'],
    ['POST', `/hooks/campaigns/${id}`, `{"email":"deep@example.com","data":${nested}}`, () => ({ authorization: 'Bearer whatever' })],
    ['POST', '/api/campaigns', `{"name":"c","definition":${nested}}`, () => caller.bearer],
    ['PUT', `/api/campaigns/${id}`, `{"name":"c","definition":${nested}}`, () => caller.bearer],
    ['POST', '/api/campaigns/simulate', `{"definition":${nested}}`, () => caller.bearer],
    ['POST', `/webhooks/email/${id}`, nested, () => ({})],
  ];

  it.each(cases)('%s %s answers 400 JSON_TOO_DEEP (%#)', async (method, url, payload, headers, contentType) => {
    const response = await t.app.inject({ method: method as 'POST', url, headers: { ...headers(), 'content-type': contentType ?? 'application/json' }, payload });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'JSON_TOO_DEEP', details: { limit: MAX_JSON_DEPTH } });
  });

  it('refuses an object with too many keys, and still takes ordinary bodies and refuses prototype poisoning', async () => {
    const many = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: { ...caller.bearer, 'content-type': 'application/json' }, payload: `{"email":"wide@example.com","customFields":${wide(MAX_JSON_KEYS + 1)}}` });
    expect(many.statusCode).toBe(400);
    expect(many.json().error.code).toBe('JSON_TOO_MANY_KEYS');
    const ok = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email: 'fine@example.com', customFields: { plan: 'pro' } } });
    expect(ok.statusCode).toBe(201);
    const poisoned = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: { ...caller.bearer, 'content-type': 'application/json' }, payload: '{"email":"p@example.com","__proto__":{"x":1}}' });
    expect(poisoned.statusCode).toBe(400);
    const beacon = await t.app.inject({ method: 'POST', url: '/v1/track', headers: { ...basic(), 'content-type': 'text/plain' }, payload: JSON.stringify({ userId: 'u1', event: 'Beacon' }) });
    expect(beacon.statusCode).toBe(200);
  });
});
