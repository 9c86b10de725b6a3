/**
 * Email benchmark: renders campaign emails (Liquid + MJML + tracking) and delivers them through
 * the real sender (one worker) over SMTP to a local smtp-server sink running in a child process,
 * on real PostgreSQL in a fresh database that is dropped afterwards.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:email
 *
 * Prints BENCH email_per_s, email_render_per_s, the worker's CPU time per email (delivery and
 * render, steadier than wall time on a shared machine) and email_worker_peak_rss_mb; beside them,
 * for the delivery: SQL statements per email (counted on the pool), and the CPU per email of this
 * database's PostgreSQL backends and of the SMTP sink (from /proc, when the server is local), so
 * that the whole machine's cost of an email can be read on a busy machine.
 *
 * BENCH_WARMUP (default 1,000) emails are delivered first, untimed, so that the timed ones meet a
 * sender as a running server has it: its pool's connections open with their statements prepared
 * and the event triggers compiled, its code optimized by V8. The timed emails are then committed
 * in one transaction with the wake-up notification, and the clock starts at the commit.
 * BENCH_WARMUP=0 measures a cold start instead, as before 2026-12-04: the sender starts with the
 * timed emails queued, and their time includes every new connection's first use (about 20 ms of
 * PostgreSQL CPU each for the analytics triggers) and the JIT's warm-up, in a run of 4–5 s.
 *
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the delivery alone (email-delivery.cpuprofile).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startSmtpSink } from './smtp-sink.js';
import { backendCpuMs, countedDatabase, processCpuMs } from './support.js';
import { loadConfig } from '../src/config.js';
import { createPostgresDatabase, type Queryable } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { addTracking } from '../src/email/links.js';
import { MESSAGES_CHANNEL } from '../src/email/outbox.js';
import { renderContent, type MessageContent } from '../src/email/render.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 10_000);
/** Emails delivered before the timed ones (0: none, the sender starts cold with the timed ones). */
const WARMUP = Math.min(EMAILS, Number(process.env.BENCH_WARMUP ?? 1000));

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

const TEMPLATE: MessageContent = {
  subject: '{{ contact.first_name }}, your {{ campaign.name }} picks',
  html: `<mjml><mj-head><mj-title>Spring</mj-title></mj-head><mj-body>
  <mj-section><mj-column>
    <mj-text font-size="20px">Hello {{ contact.first_name }} {{ contact.last_name }}</mj-text>
    <mj-text>We picked these for {{ contact.company }}:</mj-text>
    <mj-text><a href="https://shop.example.com/p/1?utm_source=email&amp;c={{ contact.id }}">Garden chair</a></mj-text>
    <mj-text><a href="https://shop.example.com/p/2?utm_source=email&amp;c={{ contact.id }}">Parasol</a></mj-text>
    <mj-button href="https://shop.example.com/spring?c={{ contact.id }}">Shop the collection</mj-button>
  </mj-column></mj-section>
</mj-body></mjml>`,
};

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required (postgres://…)');
  const name = `uh_bench_email_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);

  const sink = await startSmtpSink();
  const { port } = sink;

  const raw = createPostgresDatabase(url, 10);
  const { db, statements, byKind } = countedDatabase(raw);
  try {
    await migrate(db);
    const config = loadConfig({ NODE_ENV: 'production', APP_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: url, SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL: 'https://app.example.com', LOG_LEVEL: 'silent' });
    const runtime = await createRuntime(config, { db, logger: createLogger('silent') });
    const org = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Bench') RETURNING id`);
    const ws = await db.query<{ id: string }>(`INSERT INTO workspaces (organization_id, name) VALUES ($1, 'Bench') RETURNING id`, [org.rows[0]!.id]);
    const workspaceId = ws.rows[0]!.id;
    await db.query(
      `INSERT INTO contacts (workspace_id, email, first_name, last_name, company)
       SELECT $1, 'person' || i || '@example.com', 'First' || i, 'Last' || i, 'Company ' || (i % 97) FROM generate_series(1, $2) AS i`,
      [workspaceId, EMAILS],
    );
    const contacts = (await db.query<{ id: string; email: string; first_name: string; last_name: string; company: string }>('SELECT id, email, first_name, last_name, company FROM contacts WHERE workspace_id = $1', [workspaceId])).rows;

    // Render: Liquid + MJML (compiled once per template) + sanitizing + text part + tracking links.
    const renderStart = performance.now();
    const renderCpu = process.cpuUsage();
    const rendered: Array<{ contact: (typeof contacts)[number] } & Awaited<ReturnType<typeof renderContent>>> = [];
    for (const contact of contacts) {
      const content = await renderContent(TEMPLATE, { contact, campaign: { name: 'Spring' } });
      const html = addTracking(content.html, { signer: runtime.deps.email.signer, baseUrl: config.publicUrl, workspaceId, messageId: contact.id, contactId: contact.id });
      // Tracking is added again by the sender at send time; the cost is measured here with the render.
      if (!html.includes('/t/o/')) throw new Error('tracking missing');
      rendered.push({ contact, ...content });
    }
    const renderSeconds = (performance.now() - renderStart) / 1000;
    const renderCpuUs = cpuMicros(process.cpuUsage(renderCpu));

    // Enqueue in chunks (set-based; the enqueue path is the campaign engine's, not measured here).
    const enqueue = async (q: Queryable, emails: typeof rendered, prefix: string) => {
      for (let i = 0; i < emails.length; i += 2000) {
        const chunk = emails.slice(i, i + 2000).map((r) => ({ contact_id: r.contact.id, key: `${prefix}:${r.contact.id}`, to: r.contact.email, subject: r.subject, html: r.html, text: r.text }));
        await q.query(
          `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, next_attempt_at)
           SELECT $1, r.contact_id, r.key, 'campaign', 'Bench <bench@example.com>', r.to, r.subject, r.html, r.text, now() - interval '1 second'
             FROM jsonb_to_recordset($2::jsonb) AS r(contact_id uuid, key text, "to" text, subject text, html text, text text)`,
          [workspaceId, JSON.stringify(chunk)],
        );
      }
    };
    const undelivered = async () =>
      (await db.query<{ n: number }>(`SELECT count(*) AS n FROM messages WHERE workspace_id = $1 AND status IN ('queued', 'sending')`, [workspaceId])).rows[0]!.n;
    const sender = runtime.deps.email.sender;
    if (WARMUP > 0) {
      // Warm-up, untimed: the sender delivers WARMUP emails first, so that the timed ones meet what
      // a running server has (the pool's connections open, their statements prepared, the event
      // triggers compiled) rather than a first send's start-up inside a run of a few seconds.
      await enqueue(db, rendered.slice(0, WARMUP), 'warmup');
      sender.start();
      while ((await undelivered()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      // The timed emails arrive at once, as one committed batch with its wake-up (as the campaign
      // engine's enqueue does); the clock starts at the commit.
      await db.transaction(async (tx) => {
        await enqueue(tx, rendered, 'bench');
        await tx.query('SELECT pg_notify($1, $2)', [MESSAGES_CHANNEL, workspaceId]);
      });
    } else {
      await enqueue(db, rendered, 'bench');
    }

    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 20);
    const pg0 = await backendCpuMs(raw);
    const sink0 = processCpuMs(sink.pid);
    const statements0 = statements();
    const kinds0 = byKind();
    const profiler = process.env.BENCH_CPU_PROF ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const deliverStart = performance.now();
    const deliverCpu = process.cpuUsage();
    if (WARMUP === 0) sender.start();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await undelivered()) === 0) break;
    }
    const deliverSeconds = (performance.now() - deliverStart) / 1000;
    // CPU time of this process (the worker; the sink runs in its own) per email: steadier than
    // wall time on a shared machine. It includes the bench's own 100 ms progress query.
    const deliverCpuUs = cpuMicros(process.cpuUsage(deliverCpu));
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(join(process.env.BENCH_CPU_PROF!, 'email-delivery.cpuprofile'), JSON.stringify(profile));
      profiler.disconnect();
    }
    // The progress queries above (one per 100 ms) are the bench's, not the sender's.
    const deliverStatements = statements() - statements0 - Math.ceil((deliverSeconds * 1000) / 100);
    const kinds = [...byKind()].map(([kind, n]) => [kind, n - (kinds0.get(kind) ?? 0)] as const).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    const pg1 = await backendCpuMs(raw);
    const sink1 = processCpuMs(sink.pid);
    clearInterval(sampler);
    await runtime.close();

    const counts = await db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM messages WHERE workspace_id = $1 GROUP BY status', [workspaceId]);
    const received = await sink.received();
    const sent = counts.rows.find((r) => r.status === 'sent')?.n ?? 0;
    console.log(`emails: ${EMAILS} timed after ${WARMUP} warm-up; statuses: ${counts.rows.map((r) => `${r.status}=${r.n}`).join(', ')}; sink received ${received}`);
    console.log(`render ${renderSeconds.toFixed(2)} s, delivery ${deliverSeconds.toFixed(2)} s`);
    if (sent !== EMAILS + WARMUP || received !== EMAILS + WARMUP) throw new Error(`expected ${EMAILS + WARMUP} sent and received, got ${sent} sent, ${received} received`);
    console.log(`BENCH email_per_s ${(EMAILS / deliverSeconds).toFixed(0)} emails/s`);
    console.log(`BENCH email_render_per_s ${(EMAILS / renderSeconds).toFixed(0)} emails/s`);
    console.log(`BENCH email_worker_cpu_us_per_email ${(deliverCpuUs / EMAILS).toFixed(0)} us`);
    console.log(`BENCH email_render_cpu_us_per_email ${(renderCpuUs / EMAILS).toFixed(0)} us`);
    console.log(`BENCH email_worker_peak_rss_mb ${(peakRss / 1_048_576).toFixed(0)} MB`);
    console.log(`delivery: ${(deliverStatements / EMAILS).toFixed(3)} statements per email; CPU per email: worker ${(deliverCpuUs / EMAILS).toFixed(0)} us, PostgreSQL backends ${pg0 === null || pg1 === null ? 'n/a' : `${(((pg1 - pg0) * 1000) / EMAILS).toFixed(0)} us`}, SMTP sink ${sink0 === null || sink1 === null ? 'n/a' : `${(((sink1 - sink0) * 1000) / EMAILS).toFixed(0)} us`}`);
    console.log(`delivery statements by kind (per 1,000 emails): ${kinds.slice(0, 8).map(([kind, n]) => `${((n * 1000) / EMAILS).toFixed(1)} × ${kind}`).join(' | ')}`);
  } finally {
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
