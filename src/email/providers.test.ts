import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmailTestApp, enqueueTestEmail, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { CircuitBreaker, RateLimiter, createFailoverProvider } from './failover.js';
import { ProviderError, type EmailProvider, type ProviderMessage } from './provider.js';
import { fetchHttp, type HttpClient } from './providers/http.js';
import { EmailSender } from './sender.js';
import { createPostmarkProvider } from './providers/postmark.js';
import { createResendProvider } from './providers/resend.js';
import { createSendGridProvider } from './providers/sendgrid.js';
import { createSesProvider, signAwsRequest } from './providers/ses.js';

type Mode = 'ok' | 'reject' | 'throttle' | 'down' | 'slow' | 'slow-once' | 'drop';
interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One local server answering each provider's documented contract; behaviour set per path. */
const modes: Record<string, Mode> = {};
const seen: Seen[] = [];
const stored = new Map<string, string>();
let server: Server;
let port = 0;

function answer(path: string, body: string, headers: IncomingMessage['headers']): { status: number; headers?: Record<string, string>; body: string } {
  switch (path) {
    case '/emails': {
      const key = String(headers['idempotency-key'] ?? '');
      const id = stored.get(key) ?? `re_${stored.size + 1}`;
      stored.set(key, id);
      return { status: 200, body: JSON.stringify({ id }) };
    }
    case '/email':
      return { status: 200, body: JSON.stringify({ To: JSON.parse(body).To, MessageID: 'pm-0001', ErrorCode: 0, Message: 'OK' }) };
    case '/v3/mail/send':
      return { status: 202, headers: { 'x-message-id': 'sg-0001' }, body: '' };
    case '/v2/email/outbound-emails':
      return { status: 200, body: JSON.stringify({ MessageId: 'ses-0001' }) };
    default:
      return { status: 200, body: '{}' };
  }
}

function errorFor(path: string, mode: Mode): { status: number; headers?: Record<string, string>; body: string } {
  const message = (text: string) => (path === '/email' ? JSON.stringify({ ErrorCode: 300, Message: text }) : path === '/v3/mail/send' ? JSON.stringify({ errors: [{ message: text }] }) : JSON.stringify({ message: text }));
  if (mode === 'reject') return { status: path === '/email' ? 422 : 400, body: message('Invalid To address') };
  if (mode === 'throttle') return { status: 429, headers: { 'retry-after': '7' }, body: message('Too many requests') };
  return { status: 503, body: message('Service unavailable') };
}

/** The injected HTTP function: the real fetch, pointed at the local server instead of the provider's host (or at a closed port). */
let refuseConnections = false;
let closedPort = 0;
const localHttp: HttpClient = (request) => fetchHttp({ ...request, url: request.url.replace(/^https:\/\/[^/]+/, `http://127.0.0.1:${refuseConnections ? closedPort : port}`) });

const message: ProviderMessage = {
  workspaceId: 'ws-1',
  messageId: 'msg-1',
  from: 'Acme News <news@acme.test>',
  to: 'ada@example.com',
  subject: 'Spring',
  html: '<p>Hello</p>',
  text: 'Hello',
  headers: { 'List-Unsubscribe': '<https://x/u/1>' },
  rfcMessageId: '<abc@acme.test>',
};

const clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0));
const contracts: Array<{ name: string; path: string; make: (timeoutMs?: number) => EmailProvider; id: string; check: (seen: Seen) => void }> = [
  {
    name: 'resend',
    path: '/emails',
    make: (timeoutMs) => createResendProvider({ apiKey: 're_key' }, localHttp, { timeoutMs: timeoutMs ?? 2000 }),
    id: 're_1',
    check: (s) => {
      expect(s.headers.authorization).toBe('Bearer re_key');
      expect(s.headers['idempotency-key']).toBe('ws-1:key-1');
      expect(JSON.parse(s.body)).toMatchObject({ from: 'Acme News <news@acme.test>', to: ['ada@example.com'], subject: 'Spring', html: '<p>Hello</p>', text: 'Hello', headers: { 'List-Unsubscribe': '<https://x/u/1>', 'Message-ID': '<abc@acme.test>' } });
    },
  },
  {
    name: 'postmark',
    path: '/email',
    make: (timeoutMs) => createPostmarkProvider({ serverToken: 'pm-token' }, localHttp, { timeoutMs: timeoutMs ?? 2000 }),
    id: 'pm-0001',
    check: (s) => {
      expect(s.headers['x-postmark-server-token']).toBe('pm-token');
      expect(s.headers.accept).toBe('application/json');
      expect(JSON.parse(s.body)).toMatchObject({ From: 'Acme News <news@acme.test>', To: 'ada@example.com', Subject: 'Spring', HtmlBody: '<p>Hello</p>', TextBody: 'Hello', MessageStream: 'outbound', Headers: expect.arrayContaining([{ Name: 'Message-ID', Value: '<abc@acme.test>' }]) });
    },
  },
  {
    name: 'sendgrid',
    path: '/v3/mail/send',
    make: (timeoutMs) => createSendGridProvider({ apiKey: 'SG.key' }, localHttp, { timeoutMs: timeoutMs ?? 2000 }),
    id: 'sg-0001',
    check: (s) => {
      expect(s.headers.authorization).toBe('Bearer SG.key');
      expect(JSON.parse(s.body)).toMatchObject({
        personalizations: [{ to: [{ email: 'ada@example.com' }] }],
        from: { email: 'news@acme.test', name: 'Acme News' },
        subject: 'Spring',
        content: [
          { type: 'text/plain', value: 'Hello' },
          { type: 'text/html', value: '<p>Hello</p>' },
        ],
        custom_args: { message_id: 'msg-1', workspace_id: 'ws-1' },
      });
    },
  },
  {
    name: 'ses',
    path: '/v2/email/outbound-emails',
    make: (timeoutMs) => createSesProvider({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', region: 'eu-west-1' }, localHttp, clock, { timeoutMs: timeoutMs ?? 2000 }),
    id: 'ses-0001',
    check: (s) => {
      expect(s.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260105\/eu-west-1\/ses\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/);
      expect(s.headers['x-amz-date']).toBe('20260105T090000Z');
      expect(JSON.parse(s.body)).toMatchObject({ FromEmailAddress: 'Acme News <news@acme.test>', Destination: { ToAddresses: ['ada@example.com'] }, Content: { Simple: { Subject: { Data: 'Spring' }, Body: { Html: { Data: '<p>Hello</p>' }, Text: { Data: 'Hello' } } } } });
    },
  },
];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0]!;
      seen.push({ path, headers: req.headers, body });
      const mode = modes[path] ?? 'ok';
      const reply = (r: { status: number; headers?: Record<string, string>; body: string }) => {
        if (res.destroyed) return;
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(r.body);
      };
      if (mode === 'drop') {
        // Reads the whole request, then the connection dies before any answer.
        req.socket.destroy();
        return;
      }
      if (mode === 'slow' || mode === 'slow-once') {
        // Accepts (and stores) the email but answers too late for the caller's timeout.
        const accepted = answer(path, body, req.headers);
        if (mode === 'slow-once') modes[path] = 'ok';
        setTimeout(() => reply(accepted), 1500);
        return;
      }
      reply(mode === 'ok' ? answer(path, body, req.headers) : errorFor(path, mode));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // A port that was just free: connecting to it is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  refuseConnections = false;
  for (const key of Object.keys(modes)) delete modes[key];
  seen.length = 0;
});

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    return error as ProviderError;
  }
  throw new Error('expected the send to fail');
}

describe.each(contracts)('$name contract', (contract) => {
  it('sends with its auth header and documented request shape, and returns the provider id', async () => {
    const result = await contract.make().send(message, { idempotencyKey: 'ws-1:key-1' });
    expect(result.providerMessageId).toBe(contract.id);
    const request = seen.find((s) => s.path === contract.path)!;
    contract.check(request);
  });

  it('classifies 4xx as permanent; 429 (with Retry-After), 5xx and a refused connection as transient; a timeout or a dropped connection after the request as ambiguous', async () => {
    const provider = contract.make(300);
    modes[contract.path] = 'reject';
    const rejected = await failureOf(provider.send(message, { idempotencyKey: 'k' }));
    expect(rejected).toBeInstanceOf(ProviderError);
    expect(rejected.kind).toBe('permanent');
    expect(rejected.message).toContain('Invalid To address');
    modes[contract.path] = 'throttle';
    const throttled = await failureOf(provider.send(message, { idempotencyKey: 'k' }));
    expect([throttled.kind, throttled.retryAfterMs]).toEqual(['transient', 7000]);
    modes[contract.path] = 'down';
    expect((await failureOf(provider.send(message, { idempotencyKey: 'k' }))).kind).toBe('transient');
    modes[contract.path] = 'slow';
    const timedOut = await failureOf(provider.send(message, { idempotencyKey: 'k' }));
    expect(timedOut.kind).toBe('ambiguous');
    expect(timedOut.message).toContain('within 300 ms');
    modes[contract.path] = 'drop';
    const before = seen.length;
    const dropped = await failureOf(provider.send(message, { idempotencyKey: 'k' }));
    expect(seen.length).toBe(before + 1);
    expect(dropped.kind).toBe('ambiguous');
    refuseConnections = true;
    const refused = await failureOf(provider.send(message, { idempotencyKey: 'k' }));
    expect(refused.kind).toBe('transient');
    expect(refused.message).toContain('ECONNREFUSED');
    expect(provider.idempotent ?? false).toBe(contract.name === 'resend');
  });

  it('tests the connection', async () => {
    expect(await contract.make().check!()).toMatchObject({ ok: true });
  });
});

describe('AWS Signature Version 4', () => {
  it('matches the AWS test suite vector get-vanilla', () => {
    const headers = signAwsRequest(
      { method: 'GET', url: 'https://example.amazonaws.com/', headers: {}, body: '' },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', service: 'service' },
      new Date('2015-08-30T12:36:00Z'),
    );
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
});

describe('failover after an ambiguous failure', () => {
  const message = { workspaceId: 'w', messageId: 'm', from: 'a@example.com', to: 'b@example.com', subject: 's', html: '<p>x</p>', text: 'x', headers: {}, rfcMessageId: '<x@example.com>' } as ProviderMessage;
  function fake(name: string, idempotent: boolean, outcome: () => Promise<void>): EmailProvider & { calls: number } {
    const provider = {
      name,
      idempotent,
      calls: 0,
      async send() {
        provider.calls += 1;
        await outcome();
        return { providerMessageId: `${name}-id` };
      },
    };
    return provider;
  }

  it('never sends a message another provider may hold: the retry goes to that provider alone, or nowhere', async () => {
    const c = new ManualClock();
    let resendTimesOut = true;
    const resend = fake('resend', true, async () => {
      if (resendTimesOut) throw new ProviderError('ambiguous', 'timed out after the request');
    });
    const postmark = fake('postmark', false, async () => undefined);
    const breaker = new CircuitBreaker(c, { consecutiveFailures: 1, failureRate: 1, minimumCalls: 100, windowSize: 100, cooldownMs: 30_000 });
    const router = createFailoverProvider([
      { provider: resend, breaker, limiter: null },
      { provider: postmark, breaker: new CircuitBreaker(c), limiter: null },
    ]);

    // Resend may have accepted it: no failover, a transient error pinned to Resend (its key makes a retry safe).
    const first = await router.send(message, { idempotencyKey: 'k' }).catch((error: unknown) => error as ProviderError);
    expect([first instanceof ProviderError && first.kind, first instanceof ProviderError && first.pinTo, postmark.calls]).toEqual(['transient', 'resend', 0]);

    // Resend's circuit is open now: the pinned retry waits rather than going to Postmark.
    const second = await router.send(message, { idempotencyKey: 'k', onlyProvider: 'resend' }).catch((error: unknown) => error as ProviderError);
    expect([second instanceof ProviderError && second.kind, second instanceof ProviderError && second.pinTo, postmark.calls]).toEqual(['transient', 'resend', 0]);

    // After the cool-down Resend answers, with the same key.
    c.advance(30_000);
    resendTimesOut = false;
    expect(await router.send(message, { idempotencyKey: 'k', onlyProvider: 'resend' })).toMatchObject({ provider: 'resend' });
    expect([resend.calls, postmark.calls]).toEqual([2, 0]);

    // A provider that is no longer configured cannot be asked: nobody knows, so it is ambiguous (parked).
    const gone = await router.send(message, { idempotencyKey: 'k2', onlyProvider: 'sendgrid' }).catch((error: unknown) => error as ProviderError);
    expect(gone instanceof ProviderError && gone.kind).toBe('ambiguous');
    expect(postmark.calls).toBe(0);
  });
});

describe('circuit breaker and rate limit', () => {
  it('opens after consecutive failures, half-opens after the cool-down for one trial, and closes on success', () => {
    const c = new ManualClock();
    const breaker = new CircuitBreaker(c, { consecutiveFailures: 3, failureRate: 0.5, minimumCalls: 100, windowSize: 100, cooldownMs: 30_000 });
    for (let i = 0; i < 3; i += 1) {
      expect(breaker.tryAcquire()).toBe(true);
      breaker.onFailure();
    }
    expect(breaker.current).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    c.advance(30_000);
    expect(breaker.current).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.onFailure();
    expect(breaker.current).toBe('open');
    c.advance(30_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess();
    expect(breaker.current).toBe('closed');
  });

  it('opens on the failure rate even without a run of consecutive failures', () => {
    const breaker = new CircuitBreaker(new ManualClock(), { consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 10, windowSize: 10, cooldownMs: 1000 });
    for (let i = 0; i < 10; i += 1) {
      if (i % 2 === 0) breaker.onSuccess();
      else breaker.onFailure();
    }
    expect(breaker.current).toBe('open');
  });

  it('limits sends per second with a token bucket on the injected clock', () => {
    const c = new ManualClock();
    const limiter = new RateLimiter(c, 2);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([true, true, false]);
    expect(limiter.waitMs()).toBe(500);
    c.advance(500);
    expect(limiter.tryTake()).toBe(true);
  });
});

describe('workspace providers with failover', () => {
  let t: EmailTestApp;
  let caller: Caller;
  const appClock = new ManualClock();

  beforeAll(async () => {
    t = await createEmailTestApp({ clock: appClock, http: localHttp });
    caller = await signUp(t.app);
    appClock.set(new Date(Date.now() + 5 * 60_000));
  });
  afterAll(async () => {
    await t.close();
  });

  it('validates credentials, encrypts them at rest and masks them in answers', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'SES', kind: 'ses', credentials: { accessKeyId: 'AKID' } } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: 'PROVIDER_CREDENTIALS_INVALID', details: { missing: ['secretAccessKey', 'region'] } });
    const badSmtp = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'Relay', kind: 'smtp', credentials: { url: 'smtp://relay.test?require_tls=maybe' } } });
    expect(badSmtp.statusCode).toBe(400);
    expect(badSmtp.json().error).toMatchObject({ code: 'PROVIDER_CREDENTIALS_INVALID', message: expect.stringMatching(/require_tls must be true or false/) });
    const created = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'Resend', kind: 'resend', priority: 1, credentials: { apiKey: 're_live_secret_1234' } } });
    expect(created.statusCode).toBe(201);
    expect(created.json().credentials).toEqual({ apiKey: '****1234' });
    const raw = await t.db.query<{ credentials_encrypted: string }>('SELECT credentials_encrypted FROM email_providers WHERE id = $1', [created.json().id]);
    expect(raw.rows[0]!.credentials_encrypted).not.toContain('re_live_secret');
    expect(raw.rows[0]!.credentials_encrypted).toMatch(/^v1\./);
    const tested = await t.app.inject({ method: 'POST', url: `/api/providers/${created.json().id}/test`, headers: caller.bearer });
    expect(tested.json()).toMatchObject({ ok: true });
    const auditRows = await t.db.query<{ after: { credentials: Record<string, string> } }>(`SELECT after FROM audit_log WHERE resource_type = 'email_provider' AND resource_id = $1`, [created.json().id]);
    expect(JSON.stringify(auditRows.rows)).not.toContain('re_live_secret');
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/providers/${created.json().id}`, headers: caller.bearer });
    expect(removed.statusCode).toBe(204);
  });

  it('fails over to the next provider when the first is down, opens its circuit, and recovers after the cool-down', async () => {
    const resend = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'Resend', kind: 'resend', priority: 1, credentials: { apiKey: 're_key' } } });
    const postmark = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'Postmark', kind: 'postmark', priority: 2, credentials: { serverToken: 'pm' } } });
    expect([resend.statusCode, postmark.statusCode]).toEqual([201, 201]);
    modes['/emails'] = 'down';
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) ids.push(await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: `failover:${i}` }));
    // One at a time, so each send sees the breaker state the previous one left.
    const deps = t.runtime.deps;
    const oneByOne = new EmailSender({ db: t.db, holder: t.runtime.holder, clock: appClock, logger: deps.logger, eventSink: () => deps.eventSink, provider: deps.email.sender.provider, providerFor: (w) => deps.email.providers.routerFor(w), signer: deps.email.signer, publicUrl: deps.config.publicUrl, concurrency: 1 });
    await oneByOne.runOnce();
    for (const id of ids) {
      const row = await messageRow(t.db, id);
      expect(row.status).toBe('sent');
      expect(row.provider).toBe('postmark');
    }
    // Five consecutive failures opened Resend's circuit: later sends skip it.
    expect(seen.filter((s) => s.path === '/emails')).toHaveLength(5);
    // Every call is in the delivery log: Resend's failures, then Postmark's acceptance.
    const attemptsOf = async (id: string) => (await t.db.query<{ provider: string; result: string }>('SELECT provider, result FROM send_attempts WHERE message_id = $1 ORDER BY id', [id])).rows.map((r) => `${r.provider}:${r.result}`);
    expect(await attemptsOf(ids[0]!)).toEqual(['resend:transient_error', 'postmark:sent']);
    expect(await attemptsOf(ids[7]!)).toEqual(['postmark:sent']);
    expect(t.runtime.deps.email.providers.circuitStates().find((c) => c.providerId === resend.json().id)?.state).toBe('open');

    modes['/emails'] = 'ok';
    appClock.advance(30_000);
    const after = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'failover:after' });
    await t.runtime.deps.email.sender.runOnce();
    expect((await messageRow(t.db, after)).provider).toBe('resend');
    expect(t.runtime.deps.email.providers.circuitStates().find((c) => c.providerId === resend.json().id)?.state).toBe('closed');
  });

  it('does not fail over a message the provider refused, and never reports it sent', async () => {
    modes['/emails'] = 'reject';
    const id = await enqueueTestEmail(t.db, caller.workspaceId);
    const before = seen.length;
    await t.runtime.deps.email.sender.runOnce();
    const row = await messageRow(t.db, id);
    expect(row.status).toBe('failed');
    expect(row.last_error).toContain('Invalid To address');
    expect(seen.slice(before).map((s) => s.path)).toEqual(['/emails']);
  });

  it('retries a timed-out send with the same idempotency key, so the provider stores it once', async () => {
    modes['/emails'] = 'slow-once';
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'timeout:1' });
    const deps = t.runtime.deps;
    const quickResend = createResendProvider({ apiKey: 're_key' }, localHttp, { timeoutMs: 300 });
    const sender = new EmailSender({ db: t.db, holder: t.runtime.holder, clock: appClock, logger: deps.logger, eventSink: () => deps.eventSink, provider: quickResend, signer: deps.email.signer, publicUrl: deps.config.publicUrl, baseBackoffMs: 1000, random: () => 1 });
    // Only this workspace's default provider is used: remove its configured ones first.
    for (const p of await deps.email.providers.list(caller.workspaceId)) await deps.email.providers.remove(caller.workspaceId, { type: 'system', id: null }, p.id);
    await sender.runOnce();
    let row = await messageRow(t.db, id);
    expect(row.status).toBe('queued');
    expect(row.last_error).toContain('within 300 ms');
    // Pinned: the retry may only go to the provider that may hold it.
    expect((await t.db.query<{ pinned_provider: string | null }>('SELECT pinned_provider FROM messages WHERE id = $1', [id])).rows[0]!.pinned_provider).toBe('resend');
    appClock.advance(1000);
    await sender.runOnce();
    row = await messageRow(t.db, id);
    expect(row.status).toBe('sent');
    const key = `${caller.workspaceId}:timeout:1`;
    const requests = seen.filter((s) => s.path === '/emails');
    expect(requests.map((s) => s.headers['idempotency-key'])).toEqual([key, key]);
    expect(row.provider_message_id).toBe(stored.get(key));
    const attempts = await t.db.query<{ result: string }>('SELECT result FROM send_attempts WHERE message_id = $1 ORDER BY id', [id]);
    expect(attempts.rows.map((r) => r.result)).toEqual(['transient_error', 'sent']);
  });

  it('parks a timed-out send on a provider without idempotency keys as uncertain: no retry, no failover', async () => {
    for (const p of await t.runtime.deps.email.providers.list(caller.workspaceId)) await t.runtime.deps.email.providers.remove(caller.workspaceId, { type: 'system', id: null }, p.id);
    for (const [name, kind, priority, credentials] of [
      ['Postmark', 'postmark', 1, { serverToken: 'pm' }],
      ['SendGrid', 'sendgrid', 2, { apiKey: 'SG.key' }],
    ] as const) {
      const created = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name, kind, priority, credentials } });
      expect(created.statusCode).toBe(201);
    }
    modes['/email'] = 'drop';
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'uncertain:1' });
    await t.runtime.deps.email.sender.runOnce();
    const row = await messageRow(t.db, id);
    expect(row.status).toBe('uncertain');
    expect(row.last_error).toContain('may have accepted');
    // SendGrid was healthy, but a failover could have delivered a second copy.
    expect(seen.map((s) => s.path)).toEqual(['/email']);
    appClock.advance(24 * 3_600_000);
    await t.runtime.deps.email.sender.runOnce();
    expect(seen.map((s) => s.path)).toEqual(['/email']);
    const listed = await t.app.inject({ method: 'GET', url: '/api/messages?status=uncertain', headers: caller.bearer });
    expect(listed.json().messages.map((m: { id: string }) => m.id)).toContain(id);
    const detail = await t.app.inject({ method: 'GET', url: `/api/messages/${id}`, headers: caller.bearer });
    expect(detail.json().attempts.map((a: { result: string }) => a.result)).toEqual(['ambiguous']);

    // A certain failure (503) on the same provider still fails over.
    modes['/email'] = 'down';
    const other = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'uncertain:certain' });
    await t.runtime.deps.email.sender.runOnce();
    expect(await messageRow(t.db, other)).toMatchObject({ status: 'sent', provider: 'sendgrid' });

    // The operator resends: queued again, delivered once, both attempts kept.
    modes['/email'] = 'ok';
    const resent = await t.app.inject({ method: 'POST', url: `/api/messages/${id}/resend`, headers: caller.bearer });
    expect(resent.statusCode).toBe(200);
    expect(resent.json()).toMatchObject({ id, status: 'queued' });
    await t.runtime.deps.email.sender.runOnce();
    expect(await messageRow(t.db, id)).toMatchObject({ status: 'sent', provider: 'postmark' });
    const attempts = await t.db.query<{ result: string }>('SELECT result FROM send_attempts WHERE message_id = $1 ORDER BY id', [id]);
    expect(attempts.rows.map((r) => r.result)).toEqual(['ambiguous', 'sent']);
    const again = await t.app.inject({ method: 'POST', url: `/api/messages/${id}/resend`, headers: caller.bearer });
    expect([again.statusCode, again.json().error.code, again.json().error.details]).toEqual([409, 'MESSAGE_STATE_CONFLICT', { status: 'sent' }]);
  });

  it('lets an operator mark an uncertain message sent: a marked_sent attempt, the sent event and an audit entry', async () => {
    modes['/email'] = 'drop';
    const contactId = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email: 'uncertain@example.com' } })).json().id as string;
    const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: 'uncertain:2', contactId, to: 'uncertain@example.com' });
    await t.runtime.deps.email.sender.runOnce();
    expect((await messageRow(t.db, id)).status).toBe('uncertain');
    const marked = await t.app.inject({ method: 'POST', url: `/api/messages/${id}/mark-sent`, headers: caller.bearer });
    expect(marked.statusCode).toBe(200);
    expect(marked.json()).toMatchObject({ id, status: 'sent' });
    const detail = (await t.app.inject({ method: 'GET', url: `/api/messages/${id}`, headers: caller.bearer })).json();
    expect(detail.attempts.map((a: { result: string; provider: string }) => [a.result, a.provider])).toEqual([
      // The attempt names the provider that was called, not the router.
      ['ambiguous', 'postmark'],
      ['marked_sent', 'postmark'],
    ]);
    expect(detail.events.map((e: { name: string }) => e.name)).toEqual(['sent']);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_type = 'message' AND resource_id = $2`, [caller.workspaceId, id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['message.mark_sent']);
    const twice = await t.app.inject({ method: 'POST', url: `/api/messages/${id}/mark-sent`, headers: caller.bearer });
    expect([twice.statusCode, twice.json().error.code]).toEqual([409, 'MESSAGE_STATE_CONFLICT']);
    const missing = await t.app.inject({ method: 'POST', url: '/api/messages/00000000-0000-4000-8000-000000000000/mark-sent', headers: caller.bearer });
    expect(missing.statusCode).toBe(404);
    // Only the sender's own kind of failure is parked: nothing was sent twice.
    expect(seen.filter((s) => s.path === '/email')).toHaveLength(1);
  });
});
