import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { API_KEY, startFakeAiServer, type Behaviour, type FakeAiServer } from '../../test/ai-helpers.js';
import { createPostgresDatabase } from '../db/database.js';
import { enqueueEmail } from '../email/outbox.js';
import { createLogger } from '../platform/logger.js';
import { systemClock } from '../platform/clock.js';
import { createAiServices, type AiServices } from './ai.js';
import { createMessagePersonalizer } from './send-time.js';
import { DEFAULT_CIRCUIT } from '../email/failover.js';

let t: TestApp;
let owner: Caller;
let fake: FakeAiServer;
let ai: AiServices;
const sleeps: number[] = [];
let contactId: string;

const DRAFT = { subject: 'Our spring offer', preheader: '', html: '<p>See the <a href="https://shop.example.com/spring">spring offer</a>, {{ contact.first_name }}.</p>' };

async function api(method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown, headers = owner.bearer) {
  return t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

async function useProvider(provider: 'openai' | 'anthropic') {
  const r = await api('PUT', '/api/ai/settings', { provider, model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-latest', baseUrl: provider === 'openai' ? `${fake.url}/v1` : fake.url, apiKey: API_KEY, timeoutMs: 500, maxRetries: 1 });
  expect(r.statusCode, r.body).toBe(200);
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signUp(t.app);
  fake = await startFakeAiServer();
  ai = createAiServices({ db: t.db, clock: systemClock, logger: createLogger('silent') }, { appSecret: t.runtime.appSecret, random: () => 0.5, baseBackoffMs: 10, maxBackoffMs: 2000, sleep: async (ms) => void sleeps.push(ms), circuit: { ...DEFAULT_CIRCUIT, consecutiveFailures: 1000, minimumCalls: 1000 } });
  const c = await api('POST', '/api/contacts', { email: 'ada@lovelace.example', firstName: 'Ada', company: 'Analytical Engines', jobTitle: 'Engineer', phone: '+44 20 7946 0958', customFields: { secret_code: 'ZEBRA-7731', interest: 'automation' } });
  expect(c.statusCode, c.body).toBe(201);
  contactId = (c.json() as { id: string }).id;
});

afterAll(async () => {
  await fake.close();
  await t.close();
});

beforeEach(() => {
  fake.seen.length = 0;
  fake.behaviours = ['ok'];
  fake.usage = { input: 120, output: 40 };
  sleeps.length = 0;
  fake.content = (req) => {
    // Echo the email it was given, with a greeting added: a well-behaved model.
    const user = JSON.stringify(req);
    const match = /<email>\\n(.*?)\\n<\/email>/.exec(user);
    const email = match ? (JSON.parse(JSON.parse(`"${match[1]}"`)) as typeof DRAFT) : DRAFT;
    return JSON.stringify({ subject: `Ada, ${email.subject}`, preheader: 'For you', html: `<p>Hi Ada,</p>${email.html}`, changes: ['added a greeting'] });
  };
});

async function lastCall() {
  const r = await api('GET', '/api/ai/calls?limit=1');
  return (r.json() as { calls: Array<Record<string, unknown>> }).calls[0]!;
}

describe.each(['openai', 'anthropic'] as const)('%s provider against a local server', (provider) => {
  beforeAll(async () => {
    await useProvider(provider);
  });

  it('personalizes through the API contract and logs the call with tokens and cost', async () => {
    const result = await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft: DRAFT, contactId, mode: 'provider' });
    expect(result.outcome, result.reason ?? '').toBe('ok');
    expect(result.draft.subject).toBe('Ada, Our spring offer');
    expect(result.draft.html).toContain('https://shop.example.com/spring');
    expect(result.draft.html).toContain('{{ contact.first_name }}');
    const request = fake.seen[0]!;
    const body = JSON.parse(request.body) as Record<string, unknown>;
    if (provider === 'openai') {
      expect(request.path).toBe('/v1/chat/completions');
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(body.model).toBe('gpt-4o-mini');
      expect((body.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(['system', 'user']);
    } else {
      expect(request.path).toBe('/v1/messages');
      expect([request.headers['x-api-key'], request.headers.authorization]).toContain(provider === 'anthropic' ? `Bearer ${API_KEY}` : API_KEY);
      expect(request.headers['anthropic-version']).toBeTruthy();
      expect(body.model).toBe('claude-3-5-haiku-latest');
      expect(typeof body.system).toBe('string');
    }
    expect(body.stream).toBe(false);
    const call = await lastCall();
    expect(call).toMatchObject({ operation: 'personalize', provider, outcome: 'ok', tokensIn: 120, tokensOut: 40, contactId });
    expect(call.cost as number).toBeGreaterThan(0);
  });

  const failures: Array<[Behaviour[], string]> = [
    [['unauthorized'], 'PROVIDER_AUTH'],
    [['rate_limited'], 'PROVIDER_RATE_LIMITED'],
    [['server_error'], 'PROVIDER_SERVER_ERROR'],
    [['slow'], 'PROVIDER_TIMEOUT'],
    [['malformed'], 'MALFORMED_OUTPUT'],
    [['adds_link'], 'OUTPUT_REFUSED'],
  ];
  it.each(failures)('%s falls back to the original and logs %s', async (behaviours, reasonCode) => {
    fake.behaviours = behaviours;
    const result = await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft: DRAFT, contactId, mode: 'provider' });
    expect(result.outcome).toBe('fallback');
    expect(result.reasonCode).toBe(reasonCode);
    expect(result.draft).toEqual(DRAFT);
    expect(await lastCall()).toMatchObject({ outcome: 'fallback', reasonCode, provider });
  });

  it('retries a 429 after its Retry-After, with jitter, then succeeds', async () => {
    fake.behaviours = ['rate_limited', 'ok'];
    const result = await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft: DRAFT, contactId, mode: 'provider' });
    expect(result.outcome).toBe('ok');
    expect(fake.seen).toHaveLength(2);
    expect(sleeps).toEqual([1000]);
  });

  it('retries a 500 with backoff and does not retry a 401', async () => {
    fake.behaviours = ['server_error', 'ok'];
    expect((await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft: DRAFT, contactId, mode: 'provider' })).outcome).toBe('ok');
    expect(sleeps).toEqual([7.5]);
    fake.seen.length = 0;
    fake.behaviours = ['unauthorized', 'ok'];
    expect((await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft: DRAFT, contactId, mode: 'provider' })).reasonCode).toBe('PROVIDER_AUTH');
    expect(fake.seen).toHaveLength(1);
  });
});

describe('redaction', () => {
  it('sends no email address, phone number or marked field, and restores stand-ins in the output', async () => {
    await useProvider('openai');
    const policy = await api('PUT', '/api/ai/policy', { allowedProviders: ['offline', 'openai', 'anthropic'], allowedModels: [], maxTokens: 800, redactPii: true, personalFields: ['secret_code'], requireApproval: false });
    expect(policy.statusCode, policy.body).toBe(200);
    const draft = { subject: 'Your code', preheader: '', html: '<p>Write to ada@lovelace.example or call +44 20 7946 0958. Code ZEBRA-7731. Visit us at 221 Baker Street.</p>' };
    fake.content = (req) => {
      const sent = JSON.stringify(req);
      const standIn = /\[\[PII_\d+\]\]/.exec(sent)![0];
      return JSON.stringify({ subject: 'Your code, Ada', preheader: '', html: `<p>Hi Ada, write to ${standIn}.</p>`, changes: ['shorter'] });
    };
    const result = await ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'user', id: owner.userId }, draft, contactId, mode: 'provider' });
    const body = fake.seen[0]!.body;
    for (const secret of ['ada@lovelace.example', '7946', 'ZEBRA-7731', 'Baker Street']) expect(body).not.toContain(secret);
    expect(body).toContain('[[PII_');
    expect(result.outcome, result.reason ?? '').toBe('ok');
    expect(result.draft.html).toMatch(/write to (ada@lovelace\.example|ZEBRA-7731|\+44 20 7946 0958|221 Baker Street)\./);
    expect(result.draft.html).not.toContain('[[PII_');
  });
});

describe('budget', () => {
  it('refuses calls past the monthly budget under concurrent callers, and records the alerts', async () => {
    await useProvider('openai');
    // Each call reserves (prompt bytes x 0.15 + 800 x 0.6) per million; allow about three.
    const spentBefore = ((await api('GET', '/api/ai/budget')).json() as { spent: number }).spent;
    const put = await api('PUT', '/api/ai/budget', { monthlyLimit: spentBefore + 0.0022, warnRatio: 0.01 });
    expect(put.statusCode, put.body).toBe(200);
    // Every answer costs at least its reservation, so a settled call frees nothing and how many fit
    // does not depend on how the callers interleave.
    fake.usage = { input: 100_000, output: 100_000 };
    // On PostgreSQL the second caller has its own connection pool, as a second worker process would.
    const otherDb = t.testDb.url ? createPostgresDatabase(t.testDb.url, 4) : t.db;
    const other = createAiServices({ db: otherDb, clock: systemClock, logger: createLogger('silent') }, { appSecret: t.runtime.appSecret, random: () => 0.5, sleep: async () => undefined });
    const services = [ai.service, other.service];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => services[i % 2]!.personalize({ workspaceId: owner.workspaceId, actor: { type: 'system', id: null }, draft: DRAFT, contactId, mode: 'provider' })));
    const ok = results.filter((r) => r.outcome === 'ok').length;
    const refused = results.filter((r) => r.reasonCode === 'AI_BUDGET_EXCEEDED');
    expect(ok).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.draft === DRAFT || r.draft.subject === DRAFT.subject)).toBe(true);
    const budget = (await api('GET', '/api/ai/budget')).json() as { spent: number; reserved: number; monthlyLimit: number; alerts: Array<{ kind: string }> };
    expect(budget.spent).toBeLessThanOrEqual(budget.monthlyLimit);
    expect(budget.reserved).toBe(0);
    expect(budget.alerts.map((a) => a.kind).sort()).toEqual(['exceeded', 'warning']);
    await api('PUT', '/api/ai/budget', { monthlyLimit: budget.spent + 0.00001 });
    const variants = await api('POST', '/api/ai/subject-variants', { subject: 'Spring offer', count: 3 });
    expect(variants.statusCode).toBe(409);
    expect(variants.json().error.code).toBe('AI_BUDGET_EXCEEDED');
    await api('PUT', '/api/ai/budget', { monthlyLimit: null });
    if (otherDb !== t.db) await otherDb.close();
  });

  it('refuses a zero budget at configuration time', async () => {
    const r = await api('PUT', '/api/ai/budget', { monthlyLimit: 0 });
    expect(r.statusCode).toBe(400);
  });
});

describe('settings and policy', () => {
  it('never returns the key, refuses unknown models and forbidden ones, and audits changes', async () => {
    await useProvider('openai');
    const get = await api('GET', '/api/ai/settings');
    expect(get.body).not.toContain(API_KEY);
    expect(get.json()).toMatchObject({ provider: 'openai', hasApiKey: true });
    const unknown = await api('PUT', '/api/ai/settings', { provider: 'openai', model: 'gpt-nonexistent' });
    expect(unknown.json().error.code).toBe('AI_MODEL_UNKNOWN');
    const price = await api('PUT', '/api/ai/prices', { provider: 'openai', model: 'llama3.1', inputPerMTok: 0, outputPerMTok: 0 });
    expect(price.statusCode).toBe(200);
    await api('PUT', '/api/ai/policy', { allowedProviders: ['offline', 'openai'], allowedModels: ['gpt-4o-mini'], maxTokens: 800, redactPii: true, personalFields: [], requireApproval: false });
    const forbidden = await api('PUT', '/api/ai/settings', { provider: 'openai', model: 'llama3.1' });
    expect(forbidden.json().error.code).toBe('AI_POLICY_FORBIDS');
    const test = await api('POST', '/api/ai/settings/test');
    expect(test.json()).toMatchObject({ ok: true, provider: 'openai' });
    expect(await lastCall()).toMatchObject({ operation: 'test_connection', outcome: 'ok', provider: 'openai' });
    const audit = await api('GET', '/api/audit-log?limit=50');
    const actions = (audit.json() as { entries: Array<{ action: string }> }).entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['ai.settings.update', 'ai.policy.update', 'ai.price.update']));
    expect(audit.body).not.toContain(API_KEY);
    await api('PUT', '/api/ai/policy', { allowedProviders: ['offline', 'openai', 'anthropic'], allowedModels: [], maxTokens: 800, redactPii: true, personalFields: ['secret_code'], requireApproval: false });
  });
});

describe('campaign email at send time', () => {
  async function send(key: string) {
    const personalize = createMessagePersonalizer({ db: t.db, clock: systemClock, logger: createLogger('silent'), service: ai.service });
    const { id } = await enqueueEmail(t.db, { workspaceId: owner.workspaceId, contactId, idempotencyKey: key, sourceType: 'campaign', sourceId: null, from: 'a@unitehub.local', to: 'ada@lovelace.example', subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>', text: 'See the offer.', aiMode: 'offline' });
    const contents = await personalize([{ id, workspaceId: owner.workspaceId, contactId, sourceType: 'campaign', sourceId: null, subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>', text: 'See the offer.', aiMode: 'offline' }]);
    const content = contents.get(id)!;
    const row = await t.db.query<{ subject: string; ai_outcome: string; ai_reason: string }>('SELECT subject, ai_outcome, ai_reason FROM messages WHERE id = $1', [id]);
    return { content, row: row.rows[0]! };
  }

  it('sends the original until a variant is approved, then the approved one', async () => {
    await api('PUT', '/api/ai/policy', { allowedProviders: ['offline', 'openai', 'anthropic'], allowedModels: [], maxTokens: 800, redactPii: true, personalFields: [], requireApproval: true });
    const first = await send('approval-1');
    expect(first.content.subject).toBe('Spring offer');
    expect(first.row.ai_outcome).toBe('pending_approval');
    const again = await send('approval-2');
    expect(again.content.subject).toBe('Spring offer');
    const queue = (await api('GET', '/api/ai/reviews')).json() as { variants: Array<{ id: string; subject: string; original: { subject: string } }> };
    expect(queue.variants).toHaveLength(1);
    expect(queue.variants[0]!.subject).toBe('Ada, spring offer');
    const approve = await api('POST', `/api/ai/reviews/${queue.variants[0]!.id}/approve`);
    expect(approve.statusCode, approve.body).toBe(200);
    expect((await api('POST', `/api/ai/reviews/${queue.variants[0]!.id}/reject`)).json().error.code).toBe('AI_VARIANT_NOT_PENDING');
    const third = await send('approval-3');
    expect(third.content.subject).toBe('Ada, spring offer');
    expect(third.content.html).toContain('https://shop.example.com/spring');
    expect(third.content.text).toContain('Hi Ada,');
    expect(third.row).toMatchObject({ subject: 'Ada, spring offer', ai_outcome: 'personalized' });
    await api('PUT', '/api/ai/policy', { allowedProviders: ['offline', 'openai', 'anthropic'], allowedModels: [], maxTokens: 800, redactPii: true, personalFields: [], requireApproval: false });
  });
});

describe('routes', () => {
  it('previews a template personalized for a contact next to the original', async () => {
    const template = await api('POST', '/api/templates', { name: 'Spring', subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>' });
    expect(template.statusCode, template.body).toBe(201);
    const r = await api('POST', '/api/ai/personalize', { contactId, templateId: template.json().id, mode: 'offline' });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body.original.subject).toBe('Spring offer');
    expect(body).toMatchObject({ outcome: 'ok', provider: 'offline', model: 'rules-v1', cost: 0 });
    expect(body.draft.subject).toBe('Ada, spring offer');
    expect(body.changes).toContain('subject: added the first name');
    expect(body.rendered.original.subject).toBe('Spring offer');
    expect(body.rendered.personalized.subject).toBe('Ada, spring offer');
    expect(body.rendered.personalized.html).toContain('Hi Ada,');
    expect((await lastCall())).toMatchObject({ templateId: template.json().id, actorType: 'api_key' });
    expect((await api('POST', '/api/ai/personalize', { contactId: '00000000-0000-4000-8000-000000000000', draft: DRAFT })).statusCode).toBe(404);
    expect((await api('POST', '/api/ai/personalize', { contactId })).json().error.code).toBe('VALIDATION_FAILED');
  });

  it('lets members personalize and read usage but not change settings, policy, budget or prices', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.session, payload: { name: 'member', role: 'member' } });
    expect(key.statusCode, key.body).toBe(201);
    const member = { authorization: `Bearer ${key.json().key}` };
    expect((await api('GET', '/api/ai/calls', undefined, member)).statusCode).toBe(200);
    expect((await api('POST', '/api/ai/subject-variants', { subject: 'Spring offer', mode: 'offline' }, member)).json().variants).toHaveLength(3);
    for (const [url, payload] of [
      ['/api/ai/settings', { provider: 'offline' }],
      ['/api/ai/policy', { allowedProviders: ['offline'], allowedModels: [], maxTokens: 100, redactPii: true, personalFields: [], requireApproval: false }],
      ['/api/ai/budget', { monthlyLimit: 10 }],
      ['/api/ai/prices', { provider: 'openai', model: 'x', inputPerMTok: 1, outputPerMTok: 1 }],
    ] as const) {
      expect((await api('PUT', url, payload, member)).statusCode).toBe(403);
    }
  });
});
