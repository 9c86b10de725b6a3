/**
 * Guardian benchmark on real PostgreSQL (DATABASE_URL, required), in a fresh database:
 * 1. 1,000 workspaces × 10 rules (the 7 defaults + unsubscribe rate, failed sends, webhook
 *    failures) with a day of send history each (BENCH_SENDS_PER_WORKSPACE emails spread over 24 h,
 *    ~2 % bounced, ~0.05 % complaints, a few unsubscribes);
 * 2. guardian_eval_tick_ms: one full evaluation round (every rule due), median of 5, with the
 *    CPU of this process and of the database backends per rule evaluated;
 * 3. guardian_signal_to_alert_p99_ms and guardian_signal_to_notify_p99_ms: the evaluator and the
 *    notifier workers running as in the worker role (GUARDIAN_EVAL_INTERVAL, default 60 s; the
 *    notifier woken by the evaluator's NOTIFY) while bounce storms start at random moments in
 *    random workspaces, each workspace's bounce-rate rule naming a webhook channel to a local
 *    receiver; from the storm's commit to its 'fired' alert event (polled every 50 ms) and to the
 *    notification's arrival at the receiver (timed by the receiver).
 *
 * STAGES lists what is watched after a crossing, in order; each gives the time it was seen.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { CredentialVault } from '../src/email/provider-settings.js';
import { newSigningSecret } from '../src/guardian/channels.js';
import { createEvaluatorWorker } from '../src/guardian/evaluator.js';
import { createDefaultRules } from '../src/guardian/defaults.js';
import type { Database } from '../src/db/database.js';
import { backendCpuMs, createBenchEnv, percentile, requireDatabaseUrl } from './support.js';

const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 1000);
const SENDS = Number(process.env.BENCH_SENDS_PER_WORKSPACE ?? 600);
const STORMS = Number(process.env.BENCH_STORMS ?? 100);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 150);

/** First arrival (ms epoch) of a 'fired' notification per workspace at the local receiver. */
const notified = new Map<string, number>();

/** After a storm commits: each stage answers the time it was seen (ms epoch), or null for not yet. */
interface Stage {
  name: string;
  seen(db: Database, workspaceId: string): Promise<number | null>;
}
const STAGES: Stage[] = [
  {
    name: 'alert',
    seen: async (db, workspaceId) => ((await db.query(`SELECT 1 FROM guardian_alert_events WHERE workspace_id = $1 AND kind = 'fired' AND fan_out`, [workspaceId])).rowCount > 0 ? Date.now() : null),
  },
  { name: 'notify', seen: async (_db, workspaceId) => notified.get(workspaceId) ?? null },
];

/** The receiver of the notify stage: POST /hook/<workspaceId>, answers 204 at once. */
async function startReceiver(): Promise<{ base: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const workspaceId = (req.url ?? '').split('/')[2] ?? '';
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string };
      if (body.type === 'guardian.alert.fired' && !notified.has(workspaceId)) notified.set(workspaceId, Date.now());
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A webhook channel per workspace to the receiver, named by each workspace's bounce-rate rule. */
async function addChannels(db: Database, workspaces: string[], base: string, appSecret: string): Promise<void> {
  const vault = new CredentialVault(appSecret);
  const secret = newSigningSecret();
  for (let i = 0; i < workspaces.length; i += 200) {
    const chunk = workspaces.slice(i, i + 200);
    await db.query(
      `WITH c AS (INSERT INTO guardian_channels (workspace_id, kind, name, config, secret_ciphertext)
                  SELECT w, 'webhook', 'Receiver', '{}', s FROM unnest($1::uuid[], $2::text[]) AS u(w, s) RETURNING id, workspace_id)
       UPDATE guardian_rules r SET channel_ids = ARRAY[c.id] FROM c WHERE r.workspace_id = c.workspace_id AND r.default_key = 'bounce_rate'`,
      [chunk, chunk.map((w) => vault.encrypt({ url: `${base}/${w}`, secret }))],
    );
  }
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

async function seed(db: Database): Promise<string[]> {
  const started = performance.now();
  const now = new Date();
  const org = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Bench') RETURNING id`);
  const ws = await db.query<{ id: string }>(`INSERT INTO workspaces (organization_id, name) SELECT $1, 'Bench ' || g FROM generate_series(1, $2) g RETURNING id`, [org.rows[0]!.id, WORKSPACES]);
  const ids = ws.rows.map((r) => r.id);
  for (const id of ids) await createDefaultRules(db, id, now);
  await db.query(
    `INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, min_volume, severity, next_eval_at)
     SELECT w, r.name, r.signal, r.comparison, r.threshold, r.window_seconds, r.min_volume, r.severity, $2
       FROM unnest($1::uuid[]) AS w
      CROSS JOIN (VALUES ('Unsubscribes', 'unsubscribe_rate', '>', 2::float8, 86400, 200, 'medium'),
                         ('Failed sends', 'failed_sends', '>', 50::float8, 3600, 0, 'medium'),
                         ('Webhook failures', 'webhook_failures', '>', 10::float8, 3600, 0, 'low')) AS r(name, signal, comparison, threshold, window_seconds, min_volume, severity)`,
    [ids, now],
  );
  const campaigns = await db.query<{ id: string; workspace_id: string }>(`INSERT INTO campaigns (workspace_id, name, draft_definition) SELECT w, 'Newsletter', '{}' FROM unnest($1::uuid[]) AS w RETURNING id, workspace_id`, [ids]);
  // A day of sends per workspace, in chunks of 100 workspaces (one statement each).
  for (let i = 0; i < campaigns.rows.length; i += 100) {
    const chunk = campaigns.rows.slice(i, i + 100);
    await db.query(
      `INSERT INTO messages (workspace_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, provider, created_at, sent_at, next_attempt_at)
       SELECT c.w, 'bench:' || g, 'campaign', c.id::text, 'news@acme.test', 'p' || g || '@example.com', 'News', '<p>News</p>', 'News',
              CASE WHEN g % 400 = 0 THEN 'failed' ELSE 'sent' END, CASE WHEN g % 3 = 0 THEN 'postmark' ELSE 'resend' END,
              t, CASE WHEN g % 400 = 0 THEN NULL ELSE t END, t
         FROM unnest($1::uuid[], $2::uuid[]) AS c(w, id), generate_series(1, $3) AS g,
              LATERAL (SELECT $4::timestamptz - (g::float8 / $3) * interval '24 hours' AS t) ts`,
      [chunk.map((c) => c.workspace_id), chunk.map((c) => c.id), SENDS, now],
    );
  }
  await db.query(
    `INSERT INTO events (workspace_id, type, name, properties, message_id, occurred_at, received_at)
     SELECT m.workspace_id, 'email', CASE WHEN n % 40 = 0 THEN 'complained' WHEN n % 8 = 0 THEN 'unsubscribed' ELSE 'bounced' END,
            jsonb_build_object('provider', m.provider, 'messageId', m.id), 'bench:' || m.id, m.sent_at + interval '1 minute', m.sent_at + interval '1 minute'
       FROM (SELECT id, workspace_id, provider, sent_at, row_number() OVER () AS n FROM messages WHERE sent_at IS NOT NULL AND abs(hashtext(id::text)) % 50 = 0) m`,
  );
  await db.query('VACUUM ANALYZE messages');
  await db.query('VACUUM ANALYZE events');
  await db.query('VACUUM ANALYZE guardian_rules');
  await db.query('VACUUM ANALYZE guardian_rule_state');
  const counts = await db.query<{ messages: string; events: string; rules: string }>(`SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM guardian_rules) AS rules`);
  const c = counts.rows[0]!;
  console.log(`seeded ${WORKSPACES} workspaces, ${c.rules} rules, ${c.messages} messages, ${c.events} email events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return ids;
}

async function main(): Promise<void> {
  const appSecret = randomBytes(32).toString('hex');
  const receiver = await startReceiver();
  const env = await createBenchEnv(requireDatabaseUrl(), 10, { APP_SECRET: appSecret, GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true' });
  const { db } = env;
  try {
    const workspaces = await seed(db);
    await addChannels(db, workspaces, receiver.base, appSecret);
    const evaluator = env.runtime.guardianEvaluator;

    // 2. One full round, every rule due; the first warms the caches and is not counted.
    const rounds: Array<{ ms: number; rules: number; nodeCpuMs: number; dbCpuMs: number | null }> = [];
    for (let i = 0; i < 6; i += 1) {
      await db.query('UPDATE guardian_rule_state SET next_eval_at = now()');
      const cpu = process.cpuUsage();
      const dbBefore = await backendCpuMs(db);
      const started = performance.now();
      const outcome = await evaluator.runRound();
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const dbAfter = await backendCpuMs(db);
      if (i > 0) rounds.push({ ms, rules: outcome.evaluated, nodeCpuMs: (used.user + used.system) / 1000, dbCpuMs: dbBefore !== null && dbAfter !== null ? dbAfter - dbBefore : null });
      console.log(`round ${i}: ${outcome.evaluated} rules in ${ms.toFixed(0)} ms (fired ${outcome.fired}, failed ${outcome.failed}), load ${loadAverage()}`);
      console.log(`  per signal (ms): ${Object.entries(outcome.signalMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
      if (outcome.phaseMs) console.log(`  per step (ms): ${Object.entries(outcome.phaseMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    }
    rounds.sort((a, b) => a.ms - b.ms);
    const median = rounds[Math.floor(rounds.length / 2)]!;

    // 3. Signal crossing → alert event, with the worker loop and the configured interval.
    await db.query(`UPDATE guardian_rule_state SET next_eval_at = now() + random() * ($1::int * interval '1 millisecond')`, [evaluator.options.intervalMs]);
    const worker = createEvaluatorWorker(evaluator, { db, logger: env.runtime.deps.logger }, 1000);
    const notifier = env.runtime.deps.guardianNotify.worker;
    worker.start();
    notifier.start();
    const chosen = [...workspaces].sort(() => Math.random() - 0.5).slice(0, STORMS);
    const spread = Math.max(1, LATENCY_SECONDS * 1000 - evaluator.options.intervalMs - 10_000);
    const latencies: number[][] = STAGES.map(() => []);
    const runStorm = async (workspaceId: string, delay: number) => {
      await new Promise((r) => setTimeout(r, delay));
      // 150 sends and 30 bounces in the last minutes: 20 % over ≥ 100 sends crosses the default rule.
      await db.transaction(async (tx) => {
        const sent = await tx.query<{ id: string }>(
          `INSERT INTO messages (workspace_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, status, provider, created_at, sent_at, next_attempt_at)
           SELECT $1, 'storm:' || g || ':' || $2, 'test', 'a@acme.test', 's' || g || '@example.com', 's', 'x', 'x', 'sent', 'resend', now(), now(), now() FROM generate_series(1, 150) g RETURNING id`,
          [workspaceId, randomBytes(4).toString('hex')],
        );
        await tx.query(
          `INSERT INTO events (workspace_id, type, name, properties, message_id, occurred_at, received_at)
           SELECT $1, 'email', 'bounced', jsonb_build_object('provider', 'resend', 'messageId', id), 'storm:' || id, now(), now() FROM unnest($2::uuid[]) AS id`,
          [workspaceId, sent.rows.slice(0, 30).map((r) => r.id)],
        );
      });
      const crossed = Date.now();
      for (const [i, stage] of STAGES.entries()) {
        let at: number | null;
        while ((at = await stage.seen(db, workspaceId)) === null) await new Promise((r) => setTimeout(r, 50));
        latencies[i]!.push(at - crossed);
      }
    };
    const latencyStarted = Date.now();
    await Promise.all(chosen.map((w) => runStorm(w, Math.random() * spread)));
    await worker.stop();
    await notifier.stop();
    console.log(`latency phase: ${STORMS} storms over ${((Date.now() - latencyStarted) / 1000).toFixed(0)} s, interval ${evaluator.options.intervalMs} ms, load ${loadAverage()}`);

    const perRule = (ms: number | null) => (ms === null ? 'n/a' : `${((ms * 1000) / median.rules).toFixed(1)} µs`);
    console.log(`tick: ${median.rules} rules; node CPU ${median.nodeCpuMs.toFixed(0)} ms (${perRule(median.nodeCpuMs)}/rule), database backends CPU ${median.dbCpuMs ?? 'n/a'} ms (${perRule(median.dbCpuMs)}/rule)`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${loadAverage()}`);
    console.log(`BENCH guardian_eval_tick_ms ${median.ms.toFixed(0)} ms`);
    for (const [i, stage] of STAGES.entries()) {
      const sorted = latencies[i]!.sort((a, b) => a - b);
      console.log(`BENCH guardian_signal_to_${stage.name}_p50_ms ${percentile(sorted, 50).toFixed(0)} ms`);
      console.log(`BENCH guardian_signal_to_${stage.name}_p99_ms ${percentile(sorted, 99).toFixed(0)} ms`);
    }
  } finally {
    await env.close();
    await receiver.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
