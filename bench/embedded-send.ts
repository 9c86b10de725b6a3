/**
 * A large send on the embedded database: `npm run bench:embedded-send` queues BENCH_EMAILS (40,000)
 * campaign emails at once on PGlite (DATABASE_URL unset: the embedded default, in a temporary
 * directory; set, a fresh PostgreSQL database) and delivers them with the real sender through an
 * in-process provider that accepts at once, so that what is measured is the sender's database work:
 * claims, hand-off journal and outcomes.
 *
 * BENCH_MAINTENANCE=0 leaves the database as PGlite leaves it (never analyzed: PostgreSQL in
 * single-user mode has no autovacuum); by default the embedded autovacuum (src/db/maintenance.ts)
 * runs, as the server runs it, checking every second instead of every 10 s so that it acts within
 * the first seconds of a short run. Prints BENCH embedded_send_per_s and the claim statements'
 * mean time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScratchDatabase } from './support.js';
import { loadConfig } from '../src/config.js';
import { createPgliteDatabase, createPostgresDatabase, type Database } from '../src/db/database.js';
import { createEmbeddedAutovacuum } from '../src/db/maintenance.js';
import { migrate } from '../src/db/migrate.js';
import type { EmailProvider } from '../src/email/provider.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 40_000);
const MAINTENANCE = process.env.BENCH_MAINTENANCE !== '0';

/** Accepts every message at once, after its hand-off mark as a real provider would. */
const provider: EmailProvider = {
  name: 'bench',
  async send(message, options) {
    await options.handOff?.({ provider: 'bench', idempotent: false });
    return { providerMessageId: `bench-${message.messageId}` };
  },
};

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  const dir = adminUrl ? null : mkdtempSync(path.join(tmpdir(), 'uh-embedded-send-'));
  const scratch = adminUrl ? await createScratchDatabase(adminUrl, 'uh_bench_embedded_send') : null;
  const db: Database = scratch ? createPostgresDatabase(scratch.url, 10) : await createPgliteDatabase(path.join(dir!, 'data'));
  const claims: number[] = [];
  // Times the sender's claim statements as they pass.
  const timed = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
      return async (text: string, params?: unknown[]) => {
        if (!text.includes("SET status = 'sending'")) return target.query(text, params);
        const started = performance.now();
        try {
          return await target.query(text, params);
        } finally {
          claims.push(performance.now() - started);
        }
      };
    },
  });
  try {
    await migrate(db);
    const config = loadConfig({ NODE_ENV: 'production', APP_SECRET: randomBytes(32).toString('hex'), ...(scratch ? { DATABASE_URL: scratch.url } : { DATA_DIR: dir! }), PUBLIC_URL: 'https://app.example.com', LOG_LEVEL: 'silent' });
    const runtime = await createRuntime(config, { db: timed, logger: createLogger('silent'), emailProvider: provider });
    const ws = await db.query<{ id: string }>(`WITH o AS (INSERT INTO organizations (name) VALUES ('Bench') RETURNING id) INSERT INTO workspaces (organization_id, name) SELECT id, 'Bench' FROM o RETURNING id`);
    const workspaceId = ws.rows[0]!.id;
    const html = `<html><body>${'<p>Spring picks for you, with a garden chair and a parasol.</p>'.repeat(40)}</body></html>`;
    // The whole send queued at once, as a broadcast or a campaign step over a large segment does.
    await db.query(
      `INSERT INTO messages (workspace_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, next_attempt_at)
       SELECT $1, 'bench:' || i, 'broadcast', 'Bench <bench@example.com>', 'person' || i || '@example.com', 'Spring', $2, 'Spring picks', now() - interval '1 second'
         FROM generate_series(1, $3::int) AS i`,
      [workspaceId, html, EMAILS],
    );
    const maintenance = MAINTENANCE ? createEmbeddedAutovacuum({ db, logger: createLogger('silent') }, 1000) : null;
    const started = performance.now();
    const cpu = process.cpuUsage();
    maintenance?.start();
    const sender = runtime.deps.email.sender;
    sender.start();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const left = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE status IN ('queued', 'sending')`);
      if (left.rows[0]!.n === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const usage = process.cpuUsage(cpu);
    await maintenance?.stop();
    await runtime.close();
    const sent = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE status = 'sent'`)).rows[0]!.n;
    if (sent !== EMAILS) throw new Error(`expected ${EMAILS} sent, got ${sent}`);
    const mean = claims.reduce((a, b) => a + b, 0) / claims.length;
    const sorted = [...claims].sort((a, b) => a - b);
    console.log(`${db.kind}, ${EMAILS} emails, embedded autovacuum ${MAINTENANCE ? 'on' : 'off'}: ${seconds.toFixed(1)} s, ${claims.length} claims (first ${claims[0]!.toFixed(1)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms); process CPU ${((usage.user + usage.system) / 1e6).toFixed(1)} s`);
    console.log(`BENCH embedded_send_per_s ${(EMAILS / seconds).toFixed(0)} emails/s`);
    console.log(`BENCH embedded_send_claim_ms ${mean.toFixed(1)} ms`);
    console.log(`BENCH embedded_send_cpu_us_per_email ${((usage.user + usage.system) / EMAILS).toFixed(0)} us`);
  } finally {
    await db.close().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
