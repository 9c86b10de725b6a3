import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';
import { CircuitBreaker } from '../email/failover.js';
import { ManualClock } from '../platform/clock.js';
import { checkGenerated } from './checks.js';
import { personalizeOffline, subjectVariantsOffline } from './offline.js';
import { AiCallError, type ContactFacts } from './provider.js';
import { Redactor } from './redaction.js';
import { withRetries } from './resilience.js';

const NOBODY: ContactFacts = { firstName: null, lastName: null, email: null, phone: null, company: null, jobTitle: null, status: null, scoreBand: null, daysSinceActivity: null, custom: {} };
const HTML = '<p>Our <a href="https://shop.example.com/spring">spring offer</a> ends Friday.</p>';
const DRAFT = { subject: 'Spring offer ends Friday', preheader: '', html: HTML };

describe('offline personalizer', () => {
  const cases: Array<[string, Partial<ContactFacts>, { subject: string; preheader: string; opening: string | null }]> = [
    ['no data: unchanged', {}, { subject: 'Spring offer ends Friday', preheader: '', opening: null }],
    ['first name only', { firstName: 'Ada' }, { subject: 'Ada, spring offer ends Friday', preheader: '', opening: '<p>Hi Ada,</p>' }],
    ['inactive for 90 days', { firstName: 'Ada', daysSinceActivity: 90, scoreBand: 'hot' }, { subject: 'Ada, spring offer ends Friday', preheader: 'It has been a while, so here is what is new.', opening: '<p>Hi Ada,</p><p>It has been a while, so here is what is new.</p>' }],
    ['hot lead', { scoreBand: 'hot', status: 'customer' }, { subject: 'Spring offer ends Friday', preheader: 'Thanks for your interest lately; here is the next step.', opening: '<p>Thanks for your interest lately; here is the next step.</p>' }],
    ['customer with company', { status: 'customer', company: 'Acme' }, { subject: 'Spring offer ends Friday', preheader: 'Thank you for being a customer at Acme.', opening: '<p>Thank you for being a customer at Acme.</p>' }],
    ['role and company', { jobTitle: 'CTO', company: 'Acme' }, { subject: 'Spring offer ends Friday', preheader: 'Picked for your role as CTO at Acme.', opening: '<p>Picked for your role as CTO at Acme.</p>' }],
    ['interest custom field', { custom: { interest: 'automation' } }, { subject: 'Spring offer ends Friday', preheader: 'With your interest in automation in mind.', opening: '<p>With your interest in automation in mind.</p>' }],
    ['company that is a domain is not used', { company: 'acme.com', firstName: '{{ evil }}' }, { subject: 'Spring offer ends Friday', preheader: '', opening: null }],
    ['values are escaped', { company: 'Smith & Sons' }, { subject: 'Spring offer ends Friday', preheader: 'Picked for the team at Smith & Sons.', opening: '<p>Picked for the team at Smith &amp; Sons.</p>' }],
  ];
  it.each(cases)('%s', async (_name, facts, expected) => {
    const contact = { ...NOBODY, ...facts };
    const result = personalizeOffline(DRAFT, contact);
    expect(result.draft.subject).toBe(expected.subject);
    expect(result.draft.preheader).toBe(expected.preheader);
    expect(result.draft.html).toBe(expected.opening ? expected.opening + HTML : HTML);
    expect(result.changes.length > 0).toBe(expected.opening !== null || expected.subject !== DRAFT.subject);
    // Stable, and it keeps the intent and the link: it passes the same checks as a model's output.
    expect(personalizeOffline(DRAFT, contact)).toEqual(result);
    expect((await checkGenerated(DRAFT, result.draft)).ok).toBe(true);
  });

  it('keeps Liquid, inserts into MJML and after <body>, and does not greet twice', () => {
    const liquid = personalizeOffline({ subject: 'Hi {{ contact.first_name }}', preheader: 'Kept', html: '<p>Hello {{ contact.first_name }}</p>' }, { ...NOBODY, firstName: 'Ada', company: 'Acme' });
    expect(liquid.draft.subject).toBe('Hi {{ contact.first_name }}');
    expect(liquid.draft.preheader).toBe('Kept');
    expect(liquid.draft.html).toBe('<p>Picked for the team at Acme.</p><p>Hello {{ contact.first_name }}</p>');
    const mjml = personalizeOffline({ subject: 'S', preheader: '', html: '<mjml><mj-body><mj-section><mj-column><mj-text align="left">Body</mj-text></mj-column></mj-section></mj-body></mjml>' }, { ...NOBODY, firstName: 'Ada' });
    expect(mjml.draft.html).toContain('<mj-text align="left"><p>Hi Ada,</p>Body</mj-text>');
    const body = personalizeOffline({ subject: 'S', preheader: '', html: '<html><body class="x"><p>Body</p></body></html>' }, { ...NOBODY, firstName: 'Ada' });
    expect(body.draft.html).toBe('<html><body class="x"><p>Hi Ada,</p><p>Body</p></body></html>');
  });

  it('writes distinct subject variants that keep the words', () => {
    const variants = subjectVariantsOffline('Spring offer', 3);
    expect(variants).toHaveLength(3);
    expect(new Set(variants).size).toBe(3);
    for (const v of variants) expect(v.toLowerCase()).toContain('spring offer');
  });
});

describe('output checks', () => {
  const refused: Array<[string, string]> = [
    ['<p>Go to <a href="https://evil.example.net">x</a></p>' + HTML, 'links'],
    [HTML + '<p>Visit evil-shop.io today</p>', 'domains'],
    [HTML + '<p>{{ contact.email }}</p>', 'Liquid'],
    [HTML + '<script>alert(1)</script>', 'HTML'],
    [HTML + 'x'.repeat(3000), 'length'],
  ];
  it.each(refused)('refuses %s (%s)', async (html, word) => {
    const result = await checkGenerated(DRAFT, { ...DRAFT, html });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(word);
  });
  it('refuses an empty or enormous subject and broken Liquid', async () => {
    expect((await checkGenerated(DRAFT, { ...DRAFT, subject: ' ' })).ok).toBe(false);
    expect((await checkGenerated(DRAFT, { ...DRAFT, subject: 'x'.repeat(300) })).ok).toBe(false);
    const liquid = { ...DRAFT, html: '<p>{% if contact.first_name %}Hi{% endif %}</p>' };
    expect((await checkGenerated(liquid, { ...liquid, html: '<p>{% if contact.first_name %}Hi</p>' })).ok).toBe(false);
  });
});

describe('redaction', () => {
  it('replaces emails, phones, street addresses and marked values, and restores them escaped in HTML', () => {
    const r = new Redactor(['ZEBRA-7731']);
    const sent = r.redact('Mail a.b@x.example, call (020) 7946-0958, visit 221 Baker Street, code ZEBRA-7731, order 42.');
    expect(sent).toBe('Mail [[PII_2]], call [[PII_4]], visit [[PII_3]], code [[PII_1]], order 42.');
    expect(r.restore(sent)).toBe('Mail a.b@x.example, call (020) 7946-0958, visit 221 Baker Street, code ZEBRA-7731, order 42.');
    expect(r.unknownStandIns('[[PII_9]] [[PII_1]]')).toEqual(['[[PII_9]]']);
    const html = new Redactor(['<b>&']);
    expect(html.restore(html.redact('x <b>& y'), true)).toBe('x &lt;b&gt;&amp; y');
    expect(new Redactor(['secret'], false).redact('a@b.example secret')).toBe('a@b.example secret');
  });
});

describe('retries and circuit breaker', () => {
  it('opens the circuit after repeated failures and refuses calls without reaching the provider', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker(clock, { consecutiveFailures: 2, failureRate: 1, minimumCalls: 100, windowSize: 10, cooldownMs: 1000 });
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new AiCallError('server', '500');
    };
    const options = { maxRetries: 0, baseBackoffMs: 1, maxBackoffMs: 10, random: () => 0, sleep: async () => undefined };
    await expect(withRetries(failing, breaker, options)).rejects.toMatchObject({ kind: 'server' });
    await expect(withRetries(failing, breaker, options)).rejects.toMatchObject({ kind: 'server' });
    await expect(withRetries(failing, breaker, options)).rejects.toMatchObject({ kind: 'circuit_open' });
    expect(calls).toBe(2);
    clock.advance(1000);
    const ok = await withRetries(async () => ({ value: 1, usage: { tokensIn: 0, tokensOut: 0 } }), breaker, options);
    expect(ok.value).toBe(1);
  });

  it('gives up at once when Retry-After is longer than it waits', async () => {
    const breaker = new CircuitBreaker(new ManualClock());
    const slept: number[] = [];
    const throttled = async () => {
      throw new AiCallError('rate_limited', '429', 60_000);
    };
    await expect(withRetries(throttled, breaker, { maxRetries: 3, baseBackoffMs: 1, maxBackoffMs: 5000, random: () => 0, sleep: async (ms) => void slept.push(ms) })).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(slept).toEqual([]);
  });
});

describe('a campaign with offline personalization, end to end', () => {
  let t: TestApp;
  let caller: Caller;
  beforeAll(async () => {
    t = await createTestApp();
    caller = await signUp(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it('personalizes in the dev inbox with no configuration, logs the call, and sends the original when the node is off', async () => {
    const definition = {
      entryNodeId: 'start',
      nodes: [
        { id: 'start', type: 'trigger', config: { kind: 'manual' } },
        { id: 'mail', type: 'email', config: { subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>', personalization: 'offline' } },
        { id: 'plain', type: 'email', config: { subject: 'Plain news', html: '<p>News</p>', personalization: 'off' } },
        { id: 'end', type: 'exit', config: {} },
      ],
      edges: [
        { from: 'start', to: 'mail' },
        { from: 'mail', to: 'plain' },
        { from: 'plain', to: 'end' },
      ],
    };
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Spring', definition } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Grace', email: 'grace@example.com' });
    await t.db.query("UPDATE contacts SET company = 'Navy', job_title = 'Admiral' WHERE id = $1", [contactId]);
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } })).statusCode).toBe(200);
    await engineOf(t).runDue();
    await t.runtime.deps.email.sender.runOnce();
    const inbox = await t.db.query<{ subject: string; html: string; text_body: string }>('SELECT subject, html, text_body FROM dev_inbox WHERE workspace_id = $1 ORDER BY subject', [caller.workspaceId]);
    expect(inbox.rows.map((r) => r.subject)).toEqual(['Grace, spring offer', 'Plain news']);
    expect(inbox.rows[0]!.html).toContain('Hi Grace,');
    expect(inbox.rows[0]!.html).toContain('Picked for your role as Admiral at Navy.');
    expect(inbox.rows[0]!.text_body).toContain('Hi Grace,');
    const messages = await t.db.query<{ subject: string; ai_mode: string | null; ai_outcome: string | null }>('SELECT subject, ai_mode, ai_outcome FROM messages WHERE contact_id = $1 ORDER BY subject', [contactId]);
    expect(messages.rows).toEqual([
      { subject: 'Grace, spring offer', ai_mode: 'offline', ai_outcome: 'personalized' },
      { subject: 'Plain news', ai_mode: null, ai_outcome: null },
    ]);
    const calls = (await t.app.inject({ method: 'GET', url: `/api/ai/calls?campaignId=${id}`, headers: caller.bearer })).json() as { calls: Array<Record<string, unknown>> };
    expect(calls.calls).toHaveLength(1);
    expect(calls.calls[0]).toMatchObject({ operation: 'personalize', provider: 'offline', outcome: 'ok', cost: 0, contactId, campaignId: id });
    const usage = (await t.app.inject({ method: 'GET', url: '/api/ai/usage', headers: caller.bearer })).json() as { days: Array<{ model: string; calls: number }> };
    expect(usage.days).toEqual([expect.objectContaining({ model: 'rules-v1', calls: 1 })]);
  });

  it('sends the original and records why when the provider is not usable', async () => {
    // A provider whose model is then forbidden by policy: refused before any network call.
    await t.app.inject({ method: 'PUT', url: '/api/ai/prices', headers: caller.bearer, payload: { provider: 'openai', model: 'local-model', inputPerMTok: 1, outputPerMTok: 1 } });
    const set = await t.app.inject({ method: 'PUT', url: '/api/ai/settings', headers: caller.bearer, payload: { provider: 'openai', model: 'local-model', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'k' } });
    expect(set.statusCode, set.body).toBe(200);
    await t.app.inject({ method: 'PUT', url: '/api/ai/policy', headers: caller.bearer, payload: { allowedProviders: ['offline', 'openai'], allowedModels: ['gpt-4o-mini'], maxTokens: 500, redactPii: true, personalFields: [], requireApproval: false } });
    const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Linus' });
    const { enqueueEmail } = await import('../email/outbox.js');
    await enqueueEmail(t.db, { workspaceId: caller.workspaceId, contactId, idempotencyKey: 'policy-refused', sourceType: 'campaign', sourceId: null, from: 'a@unitehub.local', to: 'linus@example.com', subject: 'Kernel news', html: '<p>News</p>', text: 'News', aiMode: 'provider' });
    await t.runtime.deps.email.sender.runOnce();
    const row = await t.db.query<{ status: string; subject: string; ai_outcome: string; ai_reason: string }>("SELECT status, subject, ai_outcome, ai_reason FROM messages WHERE idempotency_key = 'policy-refused'");
    expect(row.rows[0]).toMatchObject({ status: 'sent', subject: 'Kernel news', ai_outcome: 'fallback' });
    expect(row.rows[0]!.ai_reason).toMatch(/^AI_POLICY_FORBIDS/);
  });
});
