/**
 * `npm run bench:ingest`: events per second through the Segment-compatible `/v1/batch` over real
 * HTTP on real PostgreSQL, durably stored (each batch committed before its 200). 20,000 known
 * users are identified first; then 400 batches of 500 track events each (200,000 events) are sent
 * by 8 concurrent clients. Every event carries a messageId, and the stored count is checked.
 *
 * The event processor (lead score, segment membership) runs in the same process, as with
 * UNITE_ROLE=all, competing for the same CPU; after the last batch the bench waits until it has
 * caught up and reports that too, with the worst lag seen between a commit and its processing.
 * Last, derived-event latency: with the processor running, 2,000 `Demo Requested` events (one per
 * user, 100 per batch, 10 batches/s) make their senders enter a dynamic segment whose
 * `segment_entered` starts a campaign; it reports p50/p99 from the event's commit to the enrollment.
 *
 * BENCH_BATCHES and BENCH_CONCURRENCY shorten or change the run; BENCH_PROCESSOR=off leaves the
 * processor stopped (the producer's cost alone).
 *
 * On a shared machine wall-clock rates say little, so the bench also reports CPU time per 1,000
 * events: this Node process (HTTP clients, server and processor) and this database's PostgreSQL
 * backends (from /proc, when the server is local), over the timed part.
 */
import { backendCpuMs, percentile, createBenchEnv, requireDatabaseUrl, signUpOwner } from './support.js';

const USERS = 20_000;
const BATCH = 500;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const env = await createBenchEnv(requireDatabaseUrl(), 12);
try {
  const { app } = env;
  const owner = await signUpOwner(app);
  const key = (await app.inject({ method: 'POST', url: '/api/write-keys', headers: owner.session, payload: { name: 'bench' } })).json() as { key: string };
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const authorization = `Basic ${Buffer.from(`${key.key}:`).toString('base64')}`;

  // Request bodies are serialized before the clock starts, as a load generator does: the client's
  // JSON.stringify is not the server's work (it shares this process and its two cores).
  const body = (batch: unknown[]) => JSON.stringify({ batch });
  const send = async (payload: string): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${address}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: payload });
    const body = await response.text();
    if (response.status !== 200 || body !== '{"success":true}') throw new Error(`batch refused: ${response.status} ${body}`);
    return performance.now() - started;
  };
  const run = async (batches: string[]): Promise<number[]> => {
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) {
          const batch = batches[next]!;
          next += 1;
          latencies.push(await send(batch));
        }
      }),
    );
    return latencies;
  };

  const identifies: string[] = [];
  for (let b = 0; b < USERS / BATCH; b += 1) {
    identifies.push(body(Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      return { type: 'identify', userId: `user-${n}`, messageId: `id-${n}`, traits: { email: `user-${n}@example.com`, firstName: `User${n}`, title: n % 10 === 0 ? 'CEO' : 'Engineer', plan: n % 3 === 0 ? 'pro' : 'free' } };
    })));
  }
  const identifyStart = performance.now();
  await run(identifies);
  const identifySeconds = (performance.now() - identifyStart) / 1000;

  const names = ['Page Viewed', 'Product Viewed', 'Added To Cart', 'Checkout Started', 'Order Completed'];
  const tracks: string[] = [];
  for (let b = 0; b < BATCHES; b += 1) {
    tracks.push(body(Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      const user = (n * 7919) % USERS;
      return { type: 'track', userId: `user-${user}`, messageId: `t-${n}`, event: names[n % names.length], properties: { sku: `sku-${n % 997}`, price: (n % 100) + 0.99, currency: 'EUR' }, timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(), context: { library: { name: 'bench', version: '1' } } };
    })));
  }
  // Identifies are scored before the timed part starts.
  await env.runtime.eventProcessor.drain();
  const processorOn = process.env.BENCH_PROCESSOR !== 'off';
  if (processorOn) env.runtime.eventProcessor.start();
  const cpuBefore = process.cpuUsage();
  const pgBefore = await backendCpuMs(env.db);
  let worstLagMs = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const lag = await env.db.query<{ ms: number | null }>(`SELECT (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS ms FROM event_work`);
      worstLagMs = Math.max(worstLagMs, lag.rows[0]?.ms ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const trackStart = performance.now();
  const latencies = await run(tracks);
  const seconds = (performance.now() - trackStart) / 1000;
  for (;;) {
    if (!processorOn) break;
    const left = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_work`);
    if (left.rows[0]?.n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const processedSeconds = (performance.now() - trackStart) / 1000;
  sampling = false;
  await sampler;
  const cpu = process.cpuUsage(cpuBefore);
  const pgAfter = await backendCpuMs(env.db);
  if (!processorOn) await env.runtime.eventProcessor.drain();

  const stored = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND type = 'track' AND contact_id IS NOT NULL`, [owner.workspaceId]);
  const expected = BATCH * BATCHES;
  if (stored.rows[0]?.n !== expected) throw new Error(`expected ${expected} stored track events, found ${stored.rows[0]?.n}`);
  latencies.sort((x, y) => x - y);
  console.log(`identified ${USERS} users in ${identifySeconds.toFixed(1)} s (${Math.round(USERS / identifySeconds)} identifies/s, contacts upserted and scored)`);
  console.log(`${expected} track events in ${seconds.toFixed(1)} s, batches of ${BATCH}, ${CONCURRENCY} clients; batch latency p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`);
  const activity = await env.db.query<{ n: number }>(`SELECT coalesce(sum(activity), 0)::int AS n FROM contact_engagement WHERE workspace_id = $1`, [owner.workspaceId]);
  if (activity.rows[0]?.n !== expected) throw new Error(`expected ${expected} events scored, found ${activity.rows[0]?.n}`);
  const perK = (ms: number) => ((ms / expected) * 1000).toFixed(0);
  const nodeMs = (cpu.user + cpu.system) / 1000;
  console.log(`CPU per 1,000 events${processorOn ? ', processing included' : ', producer only'}: node ${perK(nodeMs)} ms, postgres backends ${pgBefore !== null && pgAfter !== null ? `${perK(pgAfter - pgBefore)} ms` : 'n/a'}`);
  if (processorOn) console.log(`event processor caught up ${(processedSeconds - seconds).toFixed(1)} s after the last batch (all ${expected} scored in ${processedSeconds.toFixed(1)} s, ${Math.round(expected / processedSeconds)} events/s); worst queue lag ${Math.round(worstLagMs)} ms`);
  console.log(`BENCH ingest_events_per_s ${Math.round(expected / seconds)} events/s`);
  if (processorOn) console.log(`BENCH ingest_processed_events_per_s ${Math.round(expected / processedSeconds)} events/s`);

  if (processorOn) {
    const segment = await app.inject({ method: 'POST', url: '/api/segments', headers: owner.session, payload: { name: 'Demo requested', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'event', type: 'track', name: 'Demo Requested' }] } } });
    if (segment.statusCode !== 201) throw new Error(`segment: ${segment.body}`);
    const definition = { entryNodeId: 't', nodes: [{ id: 't', type: 'trigger', config: { kind: 'segment_entered', segmentId: segment.json().id } }, { id: 'x', type: 'exit', config: {} }], edges: [{ from: 't', to: 'x' }] };
    const campaign = await app.inject({ method: 'POST', url: '/api/campaigns', headers: owner.session, payload: { name: 'Demo follow-up', definition } });
    if (campaign.statusCode !== 201) throw new Error(`campaign: ${campaign.body}`);
    const campaignId = campaign.json().campaign.id as string;
    const published = await app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: owner.session });
    if (published.statusCode !== 200) throw new Error(`publish: ${published.body}`);
    const DEMO_USERS = 2000;
    const begin = performance.now();
    const inFlight: Array<Promise<number>> = [];
    for (let b = 0; b < DEMO_USERS / 100; b += 1) {
      const wait = begin + b * 100 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(send(body(Array.from({ length: 100 }, (_, i) => ({ type: 'track', userId: `user-${b * 100 + i}`, messageId: `demo-${b * 100 + i}`, event: 'Demo Requested' })))));
    }
    await Promise.all(inFlight);
    const deadline = performance.now() + 60_000;
    for (;;) {
      const n = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1`, [campaignId]);
      if (n.rows[0]?.n === DEMO_USERS) break;
      if (performance.now() > deadline) throw new Error(`only ${n.rows[0]?.n} of ${DEMO_USERS} enrolled after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lag = await env.db.query<{ p50: number; p99: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
         FROM (SELECT extract(epoch FROM n.enrolled_at - e.received_at) * 1000 AS ms
                 FROM enrollments n JOIN events e ON e.workspace_id = n.workspace_id AND e.contact_id = n.contact_id AND e.name = 'Demo Requested'
                WHERE n.campaign_id = $1) x`,
      [campaignId],
    );
    console.log(`derived event → campaign trigger (track event committed → segment_entered → enrolled), 1,000 events/s: p50 ${lag.rows[0]!.p50.toFixed(1)} ms, p99 ${lag.rows[0]!.p99.toFixed(1)} ms`);
    console.log(`BENCH derived_event_to_trigger_p99_ms ${lag.rows[0]!.p99.toFixed(1)} ms`);
  }
} finally {
  await env.close();
}
