import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { API_KEY, startFakeAiServer, type FakeAiServer } from '../../test/ai-helpers.js';
import type { Database } from '../db/database.js';
import { enqueueEmail } from '../email/outbox.js';
import { recordEvents } from '../core/events.js';
import { createLogger } from '../platform/logger.js';
import { systemClock } from '../platform/clock.js';
import { ModelReplyClassifier } from './classify.js';
import { sentContentOf } from './offline-compiled.js';
import { createMessagePersonalizer, type PersonalizableMessage } from './send-time.js';

let t: TestApp;
let owner: Caller;
let fake: FakeAiServer;
const contactIds: string[] = [];

async function api(method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url, headers: owner.bearer, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

async function useOpenAi(maxRetries = 1) {
  const r = await api('PUT', '/api/ai/settings', { provider: 'openai', model: 'gpt-4o-mini', baseUrl: `${fake.url}/v1`, apiKey: API_KEY, timeoutMs: 2000, maxRetries });
  expect(r.statusCode, r.body).toBe(200);
}

async function useOffline() {
  expect((await api('PUT', '/api/ai/settings', { provider: 'offline' })).statusCode).toBe(200);
}

/** The database with its statements counted. */
function counting(db: Database): { db: Database; count: () => number } {
  let n = 0;
  const wrapped = Object.create(db) as Database;
  wrapped.query = ((sql: string, params?: readonly unknown[]) => ((n += 1), db.query(sql, params))) as Database['query'];
  return { db: wrapped, count: () => n };
}

async function messages(n: number, mode: 'offline' | 'provider', key: string): Promise<PersonalizableMessage[]> {
  const out: PersonalizableMessage[] = [];
  for (let i = 0; i < n; i++) {
    const contactId = contactIds[i % contactIds.length]!;
    const html = `<p>See <a href="https://shop.example.com/spring">the offer</a> (${key} ${i}).</p>`;
    const { id } = await enqueueEmail(t.db, { workspaceId: owner.workspaceId, contactId, idempotencyKey: `${key}-${i}`, sourceType: 'campaign', sourceId: null, from: 'a@unitehub.local', to: `c${i}@example.com`, subject: 'Spring offer', html, text: 'See the offer.', aiMode: mode });
    out.push({ id, workspaceId: owner.workspaceId, contactId, sourceType: 'campaign', sourceId: null, subject: 'Spring offer', html, text: 'See the offer.', aiMode: mode });
  }
  return out;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signUp(t.app);
  fake = await startFakeAiServer();
  for (const [email, firstName] of [['ada@lovelace.example', 'Ada'], ['grace@hopper.example', 'Grace'], ['alan@turing.example', 'Alan']] as const) {
    const c = await api('POST', '/api/contacts', { email, firstName, company: 'Engines', jobTitle: 'Engineer' });
    expect(c.statusCode, c.body).toBe(201);
    contactIds.push((c.json() as { id: string }).id);
  }
});

afterAll(async () => {
  await fake.close();
  await t.close();
});

beforeEach(() => {
  fake.seen.length = 0;
  fake.behaviours = ['ok'];
  // A well-behaved model: the email it was given, with a greeting added.
  fake.content = (req) => {
    const match = /<email>\\n(.*?)\\n<\/email>/.exec(JSON.stringify(req));
    if (!match) return JSON.stringify({ sentiment: 0, intent: 0, reason: 'not an email' });
    const email = JSON.parse(JSON.parse(`"${match[1]}"`)) as { subject: string; html: string };
    return JSON.stringify({ subject: `Hello, ${email.subject}`, preheader: '', html: `<p>Hello,</p>${email.html}`, changes: ['added a greeting'] });
  };
});

describe('send-time personalization of a sender batch', () => {
  it('costs the same four statements offline for 5 or 40 messages, and records every message and call', async () => {
    await useOffline();
    for (const n of [5, 40]) {
      const { db, count } = counting(t.db);
      const personalize = createMessagePersonalizer({ db, clock: systemClock, logger: createLogger('silent'), service: t.runtime.deps.ai.service });
      const batch = await messages(n, 'offline', `offline-${n}`);
      const contents = await personalize(batch);
      expect(count()).toBe(4);
      expect([...contents.values()].every((c) => /^(Ada|Grace|Alan), spring offer$/.test(c.subject))).toBe(true);
      const rows = await t.db.query<{ ai_outcome: string; subject: string }>('SELECT ai_outcome, subject FROM messages WHERE id = ANY($1::uuid[])', [batch.map((m) => m.id)]);
      expect(rows.rows).toHaveLength(n);
      expect(rows.rows.every((r) => r.ai_outcome === 'personalized' && r.subject !== 'Spring offer')).toBe(true);
      const calls = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_calls WHERE message_id = ANY($1::uuid[]) AND operation = 'personalize' AND outcome = 'ok'`, [batch.map((m) => m.id)]);
      expect(calls.rows[0]!.n).toBe(n);
    }
  });

  it('keeps offline variants per (content, contact) when approval is required, as the full rules make them, and reuses approved ones', async () => {
    await useOffline();
    const policy = { allowedProviders: ['offline', 'openai', 'anthropic'], allowedModels: [], maxTokens: 800, redactPii: true, personalFields: [], requireApproval: true };
    expect((await api('PUT', '/api/ai/policy', policy)).statusCode).toBe(200);
    const html = '<html><head><style>p { margin: 0 }</style></head><body><p>See <a href="https://shop.example.com/spring">the offer</a>, one for every contact.</p></body></html>';
    // Six emails of one content to three contacts: the compiled rules serve from the third on.
    const batch = async (key: string): Promise<PersonalizableMessage[]> => {
      const out: PersonalizableMessage[] = [];
      for (let i = 0; i < 6; i++) {
        const contactId = contactIds[i % contactIds.length]!;
        const { id } = await enqueueEmail(t.db, { workspaceId: owner.workspaceId, contactId, idempotencyKey: `${key}-${i}`, sourceType: 'campaign', sourceId: null, from: 'a@unitehub.local', to: `c${i}@example.com`, subject: 'Spring offer', html, text: 'See the offer.', aiMode: 'offline' });
        out.push({ id, workspaceId: owner.workspaceId, contactId, sourceType: 'campaign', sourceId: null, subject: 'Spring offer', html, text: 'See the offer.', aiMode: 'offline' });
      }
      return out;
    };
    const personalize = createMessagePersonalizer({ db: t.db, clock: systemClock, logger: createLogger('silent'), service: t.runtime.deps.ai.service });
    const first = await batch('approval-offline-1');
    const sent = await personalize(first);
    expect(first.every((m) => sent.get(m.id)!.subject === 'Spring offer')).toBe(true);
    const pending = ((await api('GET', '/api/ai/reviews?status=pending')).json() as { variants: Array<{ id: string; contactId: string; subject: string; html: string; text: string }> }).variants.filter((v) => v.html.includes('one for every contact'));
    expect(pending.map((v) => v.contactId).sort()).toEqual([...contactIds].sort());
    for (const v of pending) {
      // What the full pipeline (the API's preview, one call) makes for that contact.
      const preview = await t.runtime.deps.ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'system', id: null }, draft: { subject: 'Spring offer', preheader: '', html }, contactId: v.contactId, mode: 'offline' });
      expect({ subject: v.subject, html: v.html, text: v.text }).toEqual(sentContentOf(preview.draft));
      expect((await api('POST', `/api/ai/reviews/${v.id}/approve`)).statusCode).toBe(200);
    }
    const second = await batch('approval-offline-2');
    const again = await personalize(second);
    const rows = await t.db.query<{ id: string; ai_outcome: string; ai_reason: string }>('SELECT id, ai_outcome, ai_reason FROM messages WHERE id = ANY($1::uuid[])', [second.map((m) => m.id)]);
    expect(rows.rows.every((r) => r.ai_outcome === 'personalized' && r.ai_reason === 'cached variant')).toBe(true);
    for (const m of second) expect(again.get(m.id)!.subject).toBe(pending.find((v) => v.contactId === m.contactId)!.subject);
    expect((await api('PUT', '/api/ai/policy', { ...policy, requireApproval: false })).statusCode).toBe(200);
  });

  it('reserves a provider batch against the budget at once: the calls that fit run, the rest send the original', async () => {
    await useOpenAi();
    const spent = ((await api('GET', '/api/ai/budget')).json() as { spent: number }).spent;
    // Each call's worst case is about (prompt bytes x 0.15 + 1024 x 0.6) per million: room for about four.
    expect((await api('PUT', '/api/ai/budget', { monthlyLimit: spent + 0.0028 })).statusCode).toBe(200);
    const personalize = createMessagePersonalizer({ db: t.db, clock: systemClock, logger: createLogger('silent'), service: t.runtime.deps.ai.service });
    const batch = await messages(12, 'provider', 'budget');
    const contents = await personalize(batch, 4);
    const rows = await t.db.query<{ id: string; ai_outcome: string; ai_reason: string; subject: string }>('SELECT id, ai_outcome, ai_reason, subject FROM messages WHERE id = ANY($1::uuid[])', [batch.map((m) => m.id)]);
    const personalized = rows.rows.filter((r) => r.ai_outcome === 'personalized');
    const refused = rows.rows.filter((r) => r.ai_reason?.startsWith('AI_BUDGET_EXCEEDED'));
    expect(personalized.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(personalized.length + refused.length).toBe(12);
    expect(fake.seen).toHaveLength(personalized.length);
    for (const r of refused) expect(contents.get(r.id)!.subject).toBe('Spring offer');
    const budget = (await api('GET', '/api/ai/budget')).json() as { spent: number; reserved: number; monthlyLimit: number };
    expect(budget.spent).toBeLessThanOrEqual(budget.monthlyLimit);
    expect(budget.reserved).toBe(0);
    const calls = await t.db.query<{ outcome: string; n: number }>('SELECT outcome, count(*)::int AS n FROM ai_calls WHERE message_id = ANY($1::uuid[]) GROUP BY outcome ORDER BY outcome', [batch.map((m) => m.id)]);
    expect(calls.rows).toEqual([{ outcome: 'ok', n: personalized.length }, { outcome: 'refused', n: refused.length }]);
    await api('PUT', '/api/ai/budget', { monthlyLimit: null });
  });
});

describe('reply classification by the model', () => {
  const classifier = () => new ModelReplyClassifier({ service: t.runtime.deps.ai.service, logger: createLogger('silent') });
  const REPLY = 'Thanks! Could you send me pricing for 40 seats? Write to me at ada@lovelace.example or +44 20 7946 0958.';

  async function classifyCalls() {
    return (await t.db.query<{ outcome: string; reason_code: string | null; provider: string }>(`SELECT outcome, reason_code, provider FROM ai_calls WHERE workspace_id = $1 AND operation = 'classify' ORDER BY created_at`, [owner.workspaceId])).rows;
  }

  it('uses the rules and makes no call with no provider configured', async () => {
    await useOffline();
    const before = (await classifyCalls()).length;
    const verdict = await classifier().classify(REPLY, { q: t.db, workspaceId: owner.workspaceId, contactId: contactIds[0]! });
    expect(verdict).toEqual({ sentiment: 1, intent: 0.8, reason: 'asked about pricing' });
    expect(fake.seen).toHaveLength(0);
    expect(await classifyCalls()).toHaveLength(before);
  });

  it('asks the configured model inside the scoring transaction, redacted and logged as a classify call', async () => {
    await useOpenAi();
    fake.content = () => JSON.stringify({ sentiment: 0.6, intent: 0.9, reason: 'wants a quote for 40 seats' });
    const verdict = await t.db.transaction((tx) => classifier().classify(REPLY, { q: tx, workspaceId: owner.workspaceId, contactId: contactIds[0]! }));
    expect(verdict).toEqual({ sentiment: 0.6, intent: 0.9, reason: 'wants a quote for 40 seats' });
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]!.body).toContain('pricing for 40 seats');
    expect(fake.seen[0]!.body).not.toContain('ada@lovelace.example');
    expect(fake.seen[0]!.body).not.toContain('7946');
    expect((await classifyCalls()).at(-1)).toEqual({ outcome: 'ok', reason_code: null, provider: 'openai' });
  });

  it('falls back to the rules on a malformed or out-of-range answer and on a provider error, and logs why', async () => {
    await useOpenAi(0);
    const rules = { sentiment: 1, intent: 0.8, reason: 'asked about pricing' };
    const context = { q: t.db, workspaceId: owner.workspaceId, contactId: contactIds[1]! };
    fake.behaviours = ['malformed'];
    expect(await classifier().classify(REPLY, context)).toEqual(rules);
    expect((await classifyCalls()).at(-1)).toMatchObject({ outcome: 'fallback', reason_code: 'MALFORMED_OUTPUT' });
    fake.behaviours = ['ok'];
    fake.content = () => JSON.stringify({ sentiment: 3, intent: 0.5, reason: 'very happy' });
    expect(await classifier().classify(REPLY, context)).toEqual(rules);
    expect((await classifyCalls()).at(-1)).toMatchObject({ outcome: 'fallback', reason_code: 'MALFORMED_OUTPUT' });
    fake.behaviours = ['server_error'];
    expect(await classifier().classify(REPLY, context)).toEqual(rules);
    expect((await classifyCalls()).at(-1)).toMatchObject({ outcome: 'fallback', reason_code: 'PROVIDER_SERVER_ERROR' });
  });

  it('refuses when the policy forbids the model and classifies by the rules', async () => {
    await useOpenAi();
    const price = await api('PUT', '/api/ai/prices', { provider: 'openai', model: 'gpt-4.1', inputPerMTok: 2, outputPerMTok: 8 });
    expect(price.statusCode).toBe(200);
    // The settings were chosen under the old policy; a policy now limiting models to another one refuses the call.
    await t.db.query(`INSERT INTO ai_policies (workspace_id, allowed_providers, allowed_models, max_tokens, redact_pii, personal_fields, require_approval, updated_at)
                      VALUES ($1, '{offline,openai}', '{gpt-4.1}', 800, true, '{}', false, now())
                      ON CONFLICT (workspace_id) DO UPDATE SET allowed_models = '{gpt-4.1}'`, [owner.workspaceId]);
    expect(await classifier().classify(REPLY, { q: t.db, workspaceId: owner.workspaceId, contactId: null })).toEqual({ sentiment: 1, intent: 0.8, reason: 'asked about pricing' });
    expect(fake.seen).toHaveLength(0);
    expect((await classifyCalls()).at(-1)).toMatchObject({ outcome: 'refused', reason_code: 'AI_POLICY_FORBIDS' });
    await t.db.query('DELETE FROM ai_policies WHERE workspace_id = $1', [owner.workspaceId]);
  });
});

describe('reply classification in the lead score', () => {
  it('scores a reply with the model’s reading through the event processor, logged as a classify call', async () => {
    await useOpenAi(0);
    fake.content = () => JSON.stringify({ sentiment: 0.9, intent: 1, reason: 'wants to sign this week' });
    const created = (await api('POST', '/api/contacts', { email: 'buyer@example.com', firstName: 'Barbara' })).json() as { id: string };
    const reply = (text: string) => t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, owner.workspaceId, [{ contactId: created.id, type: 'email', name: 'replied', properties: { text } }], new Date()));
    const intent = async () => {
      await t.runtime.eventProcessor.drain();
      const c = (await api('GET', `/api/contacts/${created.id}`)).json() as { scoreBreakdown: Array<{ part: string; explanation: string }> };
      return c.scoreBreakdown.find((p) => p.part === 'intent')?.explanation ?? '';
    };
    await reply('Looks fine to me.');
    expect(await intent()).toContain('wants to sign this week');
    const calls = await t.db.query<{ outcome: string; contact_id: string }>(`SELECT outcome, contact_id FROM ai_calls WHERE operation = 'classify' AND contact_id = $1`, [created.id]);
    expect(calls.rows).toEqual([{ outcome: 'ok', contact_id: created.id }]);
  });
});

describe('AI in /health/deep', () => {
  it('reports the providers, circuits, last failure and budgets without secrets, and degrades on an open circuit', async () => {
    await useOpenAi(0);
    const ok = await t.app.inject({ method: 'GET', url: '/health/deep', headers: owner.bearer });
    const ai = (ok.json() as { checks: Record<string, { status: string; detail: string }> }).checks.ai!;
    expect(ai.status).toBe('ok');
    expect(ai.detail).toContain('providers configured: openai 1');
    // Five consecutive failures open the breaker (the email providers' defaults).
    fake.behaviours = ['unauthorized'];
    for (let i = 0; i < 3; i++) await t.runtime.deps.ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'system', id: null }, draft: { subject: 'Hi', preheader: '', html: '<p>Hi</p>' }, contactId: contactIds[0]!, mode: 'provider' });
    fake.behaviours = ['server_error'];
    for (let i = 0; i < 6; i++) await t.runtime.deps.ai.service.personalize({ workspaceId: owner.workspaceId, actor: { type: 'system', id: null }, draft: { subject: 'Hi', preheader: '', html: '<p>Hi</p>' }, contactId: contactIds[0]!, mode: 'provider' });
    const degraded = await t.app.inject({ method: 'GET', url: '/health/deep', headers: owner.bearer });
    const check = (degraded.json() as { checks: Record<string, { status: string; detail: string }> }).checks.ai!;
    expect(check.status).toBe('degraded');
    expect(check.detail).toMatch(/1 open/);
    expect(check.detail).toMatch(/last failure: server at \d{4}-/);
    for (const secret of [API_KEY, fake.url, '127.0.0.1', 'The server had an error', 'Incorrect API key', owner.workspaceId, 'gpt-4o-mini']) expect(degraded.body).not.toContain(secret);
    const anonymous = await t.app.inject({ method: 'GET', url: '/health/deep' });
    expect(anonymous.json()).toEqual({ status: 'degraded' });
  });
});
