/**
 * A/B split results benchmark, on real PostgreSQL in a fresh database that is dropped afterwards:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:splits
 *
 * Seeds one published campaign whose split has BENCH_SPLIT_CONTACTS (default 200,000) contacts
 * assigned, each with the journey rows the engine writes (the split step, an email step), a sent
 * message, and engagement events (30 % human opens, 10 % machine opens, 4–5 % clicks). Then:
 * - split_results_ms: p50 / p99 of splitCounts (the statement behind GET /api/campaigns/:id/splits
 *   and each look of the automatic test) over BENCH_SPLIT_RUNS (10) runs;
 * - split_look_ms: one look of the evaluator (claim, count, decide, audit) on that split.
 * Beside them: the load average, and the bench process's and PostgreSQL backends' CPU per run.
 */
import { loadavg } from 'node:os';
import { splitCounts } from '../src/campaigns/split-results.js';
import { evaluateDueSplitTests } from '../src/campaigns/split-tests.js';
import { backendCpuMs, createBenchEnv, percentile, requireDatabaseUrl, signUpOwner } from './support.js';

const CONTACTS = Number(process.env.BENCH_SPLIT_CONTACTS ?? 200_000);
const RUNS = Number(process.env.BENCH_SPLIT_RUNS ?? 10);

const adminUrl = requireDatabaseUrl();
const env = await createBenchEnv(adminUrl, 4);
try {
  const { db, app } = env;
  const owner = await signUpOwner(app);
  const definition = {
    entryNodeId: 't',
    nodes: [
      { id: 't', type: 'trigger', config: { kind: 'manual' } },
      { id: 'ab', type: 'split', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], autoWinner: { metric: 'click', minSamplePerVariant: 1000, minHours: 0 } } },
      { id: 'mail_a', type: 'email', config: { subject: 'A', html: '<p>A</p>' } },
      { id: 'mail_b', type: 'email', config: { subject: 'B', html: '<p>B</p>' } },
      { id: 'end', type: 'exit', config: {} },
    ],
    edges: [
      { from: 't', to: 'ab' },
      { from: 'ab', to: 'mail_a', handle: 'a' },
      { from: 'ab', to: 'mail_b', handle: 'b' },
      { from: 'mail_a', to: 'end' },
      { from: 'mail_b', to: 'end' },
    ],
  };
  const created = await app.inject({ method: 'POST', url: '/api/campaigns', headers: owner.session, payload: { name: 'Bench split', definition } });
  const campaignId = (created.json() as { campaign: { id: string } }).campaign.id;
  await app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: owner.session });

  const seedStart = Date.now();
  const w = owner.workspaceId;
  await db.query(`INSERT INTO contacts (id, workspace_id, email) SELECT md5('c' || g)::uuid, $1, 'c' || g || '@example.com' FROM generate_series(1, $2::int) g`, [w, CONTACTS]);
  await db.query(
    `INSERT INTO enrollments (id, workspace_id, campaign_id, version, contact_id, status, current_node_id, next_run_at, enrolled_at, finished_at, updated_at)
     SELECT md5('e' || g)::uuid, $1, $2, 1, md5('c' || g)::uuid, 'completed', 'end', now(), now(), now(), now() FROM generate_series(1, $3::int) g`,
    [w, campaignId, CONTACTS],
  );
  // Journey rows in the engine's order: the split step, then the variant's email step.
  await db.query(
    `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
     SELECT $1, $2, md5('e' || g)::uuid, x.node_id, 'completed', x.handle, x.detail, now()
       FROM generate_series(1, $3::int) g,
            LATERAL (VALUES (1, 'ab', CASE WHEN g % 2 = 0 THEN 'b' ELSE 'a' END, jsonb_build_object('variant', CASE WHEN g % 2 = 0 THEN 'b' ELSE 'a' END)),
                            (2, CASE WHEN g % 2 = 0 THEN 'mail_b' ELSE 'mail_a' END, 'next',
                             jsonb_build_object('idempotencyKey', 'enrollment:' || md5('e' || g)::uuid || ':node:' || CASE WHEN g % 2 = 0 THEN 'mail_b' ELSE 'mail_a' END))) AS x(n, node_id, handle, detail)
      ORDER BY g, x.n`,
    [w, campaignId, CONTACTS],
  );
  await db.query(
    `INSERT INTO messages (id, workspace_id, contact_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, sent_at)
     SELECT md5('m' || g)::uuid, $1, md5('c' || g)::uuid, 'enrollment:' || md5('e' || g)::uuid || ':node:' || CASE WHEN g % 2 = 0 THEN 'mail_b' ELSE 'mail_a' END,
            'campaign', $2, 'bench@example.com', 'c' || g || '@example.com', 'S', '<p>S</p>', 'S', 'sent', now()
       FROM generate_series(1, $3::int) g`,
    [w, campaignId, CONTACTS],
  );
  await db.query(
    `INSERT INTO events (workspace_id, contact_id, type, name, properties, occurred_at)
     SELECT $1, md5('c' || g)::uuid, 'email', e.name, jsonb_build_object('messageId', md5('m' || g)::uuid, 'machineOpen', e.machine), now()
       FROM generate_series(1, $2::int) g,
            LATERAL (VALUES ('opened', false, g % 10 < 3), ('opened', true, g % 10 = 9), ('clicked', false, (g * 7919) % 100 < CASE WHEN g % 2 = 0 THEN 5 ELSE 4 END)) AS e(name, machine, keep)
      WHERE e.keep`,
    [w, CONTACTS],
  );
  await db.exec('ANALYZE');
  const seedMs = Date.now() - seedStart;

  const timings: number[] = [];
  const cpuBefore = process.cpuUsage();
  const backendBefore = await backendCpuMs(db);
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await splitCounts(db, w, campaignId, 'ab');
    timings.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const backendAfter = await backendCpuMs(db);
  timings.sort((a, b) => a - b);

  const lookStart = performance.now();
  const examined = await evaluateDueSplitTests(db, new Date(Date.now() + 3_600_000));
  const lookMs = performance.now() - lookStart;

  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`seeded ${CONTACTS} assigned contacts with journeys, messages and events in ${seedMs} ms`);
  console.log(`BENCH split_results_ms p50=${percentile(timings, 50).toFixed(1)} p99=${percentile(timings, 99).toFixed(1)} (${CONTACTS} contacts, ${RUNS} runs)`);
  console.log(`BENCH split_look_ms ${lookMs.toFixed(1)} (tests examined: ${examined})`);
  console.log(
    `cpu per run: bench ${((cpu.user + cpu.system) / 1000 / RUNS).toFixed(1)} ms, postgres backends ${backendBefore === null || backendAfter === null ? 'n/a' : ((backendAfter - backendBefore) / RUNS).toFixed(1) + ' ms'}; load average ${load}`,
  );
} finally {
  await env.close();
}
