/**
 * AI benchmark, on real PostgreSQL in a fresh database that is dropped afterwards:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:ai
 *
 * - ai_offline_emails_per_s: campaign messages marked for offline personalization, personalized,
 *   rendered and delivered by the real sender (one worker) over SMTP to a local sink (a child process).
 * - ai_provider_emails_per_s: the same through the OpenAI-compatible provider (the `openai` SDK)
 *   against a local server that answers every request after 300 ms; the sender's concurrency
 *   (50 messages at once) bounds it, so the goal is 0.8 x 50 / 0.3 s.
 * - ai_log_overhead_us: governance per call, measured alone, as the sender runs it: batches of 200
 *   calls (a sender batch) through AiService.governedMany with a provider answer that costs nothing
 *   to make — the context read (policy, prices, settings), PII redaction of each email and contact,
 *   the budget reservation and settlement, and the log rows.
 *
 * Beside them, for reading the figures on a busy machine: the plain email baseline (the same
 * campaign messages without personalization, same sender, same sink), and for each phase the
 * bench process's CPU per email, the CPU of the database's PostgreSQL backends per email (from
 * /proc, when the server is local) and the SQL statements per email (counted on the pool); the
 * baseline's and offline's CPU per email are BENCH lines too, and the load average is printed.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import pg from 'pg';
import { startSmtpSink } from './smtp-sink.js';
import { backendCpuMs, countedDatabase } from './support.js';
import { loadAiContext } from '../src/ai/context.js';
import { personalizePrompt } from '../src/ai/chat.js';
import type { GovernedItem } from '../src/ai/personalize.js';
import type { AiProvider } from '../src/ai/provider.js';
import { loadConfig } from '../src/config.js';
import { createPostgresDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';
import { MESSAGES_CHANNEL } from '../src/email/outbox.js';

const OFFLINE_EMAILS = Number(process.env.BENCH_AI_OFFLINE_EMAILS ?? 5000);
const PROVIDER_EMAILS = Number(process.env.BENCH_AI_PROVIDER_EMAILS ?? 1000);
const GOVERNANCE_CALLS = Number(process.env.BENCH_AI_GOVERNANCE_CALLS ?? 2000);
const BASELINE_EMAILS = Number(process.env.BENCH_AI_BASELINE_EMAILS ?? OFFLINE_EMAILS);
const GOVERNANCE_BATCH = 200;
const PROVIDER_DELAY_MS = 300;
const SENDER_CONCURRENCY = 50;

/** An OpenAI-compatible chat completions endpoint that answers after PROVIDER_DELAY_MS. */
async function slowModel(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const request = JSON.parse(body) as { messages: Array<{ content: string }> };
      const email = JSON.parse(/<email>\n(.*)\n<\/email>/s.exec(request.messages[1]!.content)![1]!) as { subject: string; html: string };
      const content = JSON.stringify({ subject: `Hello, ${email.subject}`, preheader: '', html: `<p>Hello,</p>${email.html}`, changes: ['greeting'] });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'bench-model', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 300, completion_tokens: 80, total_tokens: 380 } }));
      }, PROVIDER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => server.close() };
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

const HTML = '<p>Our <a href="https://shop.example.com/spring">spring collection</a> is here, with a garden chair and a parasol for your terrace.</p>';

/** CPU of this process and of the database's backends (µs), and statements, from a start mark. */
async function meter(db: Database, statements: () => number): Promise<() => Promise<Cost>> {
  const cpu = process.cpuUsage();
  const s0 = statements();
  const b0 = await backendCpuMs(db);
  return async () => {
    const d = process.cpuUsage(cpu);
    const b1 = await backendCpuMs(db);
    return { cpuUs: d.user + d.system, dbCpuUs: b0 === null || b1 === null ? null : (b1 - b0) * 1000, statements: statements() - s0 };
  };
}

interface Cost {
  cpuUs: number;
  /** null where /proc does not show the backends (a remote server). */
  dbCpuUs: number | null;
  statements: number;
}

async function enqueue(db: Database, workspaceId: string, mode: 'offline' | 'provider' | null, prefix: string): Promise<number> {
  const result = await db.query(
    `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, next_attempt_at, ai_mode)
     SELECT $1, c.id, $3 || c.id, 'campaign', 'Bench <bench@example.com>', c.email, 'Spring picks', $4, 'Our spring collection is here.', now() - interval '1 second', $2
       FROM contacts c WHERE c.workspace_id = $1 AND c.email LIKE $5`,
    [workspaceId, mode, prefix, HTML, `${prefix}%`],
  );
  // As the outbox does for every message it queues: a running sender wakes at once instead of at
  // its next poll (up to a second later, which the phase's time would otherwise include).
  await db.query('SELECT pg_notify($1, $2)', [MESSAGES_CHANNEL, workspaceId]);
  return result.rowCount;
}

async function drain(db: Database, workspaceId: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const left = await db.query<{ n: number }>(`SELECT count(*) AS n FROM messages WHERE workspace_id = $1 AND status IN ('queued', 'sending')`, [workspaceId]);
    if (left.rows[0]!.n === 0) return (performance.now() - started) / 1000;
  }
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required (postgres://…)');
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const name = `uh_bench_ai_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  const sink = await startSmtpSink();
  const { port } = sink;
  const model = await slowModel();
  const raw = createPostgresDatabase(url, 20);
  const { db, statements } = countedDatabase(raw);
  try {
    await migrate(db);
    const config = loadConfig({ NODE_ENV: 'production', APP_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: url, SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL: 'https://app.example.com', LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '20' });
    const runtime = await createRuntime(config, { db, logger: createLogger('silent') });
    const org = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Bench') RETURNING id`);
    const ws = await db.query<{ id: string }>(`INSERT INTO workspaces (organization_id, name) VALUES ($1, 'Bench') RETURNING id`, [org.rows[0]!.id]);
    const workspaceId = ws.rows[0]!.id;
    for (const [prefix, n] of [['plain', BASELINE_EMAILS], ['off', OFFLINE_EMAILS], ['prov', PROVIDER_EMAILS]] as const) {
      await db.query(
        `INSERT INTO contacts (workspace_id, email, first_name, company, job_title, phone, custom_fields)
         SELECT $1, $3 || i || '@example.com', 'First' || i, 'Company ' || (i % 97), 'Gardener', '+44 20 7946 ' || lpad((i % 10000)::text, 4, '0'), '{"interest":"terraces"}'::jsonb
           FROM generate_series(1, $2) AS i`,
        [workspaceId, n, prefix],
      );
    }
    const sender = runtime.deps.email.sender;
    const actor = { type: 'system' as const, id: null };

    // 0. The plain email baseline: the same messages, not personalized.
    await enqueue(db, workspaceId, null, 'plain');
    let mark = await meter(db, statements);
    sender.start();
    const plainSeconds = await drain(db, workspaceId);
    const plain = await mark();

    // 1. Offline personalization through the sender.
    // Each phase's messages are queued before its mark, as the baseline's are: the marks count
    // sending them, not inserting them.
    await enqueue(db, workspaceId, 'offline', 'off');
    mark = await meter(db, statements);
    const offlineSeconds = await drain(db, workspaceId);
    const offline = await mark();

    // 2. The OpenAI-compatible provider, 300 ms per answer.
    await runtime.deps.ai.settings.put(workspaceId, actor, { provider: 'openai', model: 'gpt-4o-mini', baseUrl: model.url, apiKey: 'bench-key', timeoutMs: 5000, maxRetries: 0 });
    await enqueue(db, workspaceId, 'provider', 'prov');
    mark = await meter(db, statements);
    const providerSeconds = await drain(db, workspaceId);
    const provider = await mark();
    await runtime.close();

    // 3. Governance alone, with a budget set so the reservation runs: sender-sized batches whose
    // provider answer costs nothing to make.
    await db.query('INSERT INTO ai_budgets (workspace_id, monthly_limit) VALUES ($1, 1000000)', [workspaceId]);
    const facts = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0958', company: 'Engines', jobTitle: 'Engineer', status: 'lead', scoreBand: 'warm' as const, daysSinceActivity: 3, custom: { interest: 'terraces' } };
    const draft = { subject: 'Spring picks', preheader: '', html: HTML };
    const service = runtime.deps.ai.service;
    const answering = { ...(await runtime.deps.ai.settings.providerFor(workspaceId)), kind: 'openai' as const, model: 'gpt-4o-mini' } as AiProvider;
    const item: GovernedItem<string> = {
      links: {},
      personalValues: [],
      worstCaseIn: (r) => Buffer.byteLength(JSON.stringify(personalizePrompt(r.redactDraft(draft), r.redactFacts(facts), 0))),
      call: async (_p, r) => {
        r.redactDraft(draft);
        r.redactFacts(facts);
        return { value: 'ok', usage: { tokensIn: 300, tokensOut: 80 } };
      },
    };
    mark = await meter(db, statements);
    const governanceStart = performance.now();
    for (let done = 0; done < GOVERNANCE_CALLS; done += GOVERNANCE_BATCH) {
      const context = await loadAiContext(db, workspaceId);
      await service.governedMany(db, workspaceId, actor, 'personalize', context, answering, Array.from({ length: Math.min(GOVERNANCE_BATCH, GOVERNANCE_CALLS - done) }, () => item));
    }
    const governanceUs = ((performance.now() - governanceStart) * 1000) / GOVERNANCE_CALLS;
    const governance = await mark();

    const outcomes = await db.query<{ ai_mode: string; ai_outcome: string; status: string; n: number }>('SELECT ai_mode, ai_outcome, status, count(*)::int AS n FROM messages WHERE workspace_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3', [workspaceId]);
    const received = await sink.received();
    console.log(`messages: ${outcomes.rows.map((r) => `${r.ai_mode}/${r.ai_outcome}/${r.status}=${r.n}`).join(', ')}; sink received ${received}`);
    const personalized = outcomes.rows.filter((r) => r.ai_outcome === 'personalized' && r.status === 'sent').reduce((s, r) => s + r.n, 0);
    const incomplete = received !== BASELINE_EMAILS + OFFLINE_EMAILS + PROVIDER_EMAILS || personalized !== OFFLINE_EMAILS + PROVIDER_EMAILS;
    if (incomplete) {
      const reasons = await db.query<{ reason: string; n: number }>(`SELECT split_part(ai_reason, ':', 1) AS reason, count(*)::int AS n FROM messages WHERE workspace_id = $1 AND ai_outcome = 'fallback' GROUP BY 1`, [workspaceId]);
      console.log(`NOT VALID: not every message was personalized and delivered (fallbacks: ${reasons.rows.map((r) => `${r.reason}=${r.n}`).join(', ')})`);
      process.exitCode = 1;
    }
    const dbUs = (m: Cost, n: number) => (m.dbCpuUs === null ? 'unknown' : (m.dbCpuUs / n).toFixed(0));
    const per = (m: Cost, n: number) => `${(m.cpuUs / n).toFixed(0)} µs CPU here, ${dbUs(m, n)} µs in PostgreSQL and ${(m.statements / n).toFixed(3)} statements per email`;
    console.log(`plain ${plainSeconds.toFixed(2)} s for ${BASELINE_EMAILS} (${per(plain, BASELINE_EMAILS)}); offline ${offlineSeconds.toFixed(2)} s for ${OFFLINE_EMAILS} (${per(offline, OFFLINE_EMAILS)}); provider ${providerSeconds.toFixed(2)} s for ${PROVIDER_EMAILS} (${per(provider, PROVIDER_EMAILS)})`);
    console.log(`governance: ${(governance.cpuUs / GOVERNANCE_CALLS).toFixed(0)} µs CPU and ${(governance.statements / GOVERNANCE_CALLS).toFixed(3)} statements per call`);
    console.log(`load average ${loadStart} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`);
    console.log(`BENCH ai_baseline_cpu_us_per_email ${(plain.cpuUs / BASELINE_EMAILS).toFixed(0)} us (PostgreSQL ${dbUs(plain, BASELINE_EMAILS)} us)`);
    console.log(`BENCH ai_offline_cpu_us_per_email ${(offline.cpuUs / OFFLINE_EMAILS).toFixed(0)} us (PostgreSQL ${dbUs(offline, OFFLINE_EMAILS)} us)`);
    console.log(`BENCH ai_baseline_email_per_s ${(BASELINE_EMAILS / plainSeconds).toFixed(0)} emails/s`);
    console.log(`BENCH ai_offline_emails_per_s ${(OFFLINE_EMAILS / offlineSeconds).toFixed(0)} emails/s`);
    console.log(`BENCH ai_provider_emails_per_s ${(PROVIDER_EMAILS / providerSeconds).toFixed(0)} emails/s (bound: ${SENDER_CONCURRENCY} / ${PROVIDER_DELAY_MS / 1000} s = ${(SENDER_CONCURRENCY / (PROVIDER_DELAY_MS / 1000)).toFixed(0)})`);
    console.log(`BENCH ai_log_overhead_us ${governanceUs.toFixed(0)} us`);
  } finally {
    model.close();
    sink.stop();
    await raw.close().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
