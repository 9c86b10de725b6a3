/**
 * bench:guardian-notify — Guardian notification delivery on real PostgreSQL to a local webhook
 * receiver (HTTP on 127.0.0.1, answering 204 at once).
 *
 * 1. Throughput: EVENTS alert events in the outbox, each for CHANNELS webhook channels, then the
 *    notifier worker (fan-out + delivery, as in the worker role) runs until every delivery reached
 *    the receiver: `guardian_notify_per_s`, and CPU per delivery (this process + PostgreSQL backends).
 * 2. Latency: with the worker running, one alert event every TRICKLE_MS (CHANNELS deliveries each):
 *    from the event's commit to its request arriving at the receiver, `guardian_event_to_delivered_p99_ms`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialVault } from '../src/email/provider-settings.js';
import { newSigningSecret } from '../src/guardian/channels.js';
import { backendCpuMs, createBenchEnv, percentile, requireDatabaseUrl, signUpOwner } from './support.js';

const EVENTS = Number(process.env.BENCH_GUARDIAN_EVENTS ?? 1000);
const CHANNELS = Number(process.env.BENCH_GUARDIAN_CHANNELS ?? 5);
const TRICKLE_EVENTS = Number(process.env.BENCH_GUARDIAN_TRICKLE_EVENTS ?? 200);
const TRICKLE_MS = Number(process.env.BENCH_GUARDIAN_TRICKLE_MS ?? 25);

async function main(): Promise<void> {
  const adminUrl = requireDatabaseUrl();
  const arrivals = new Map<string, number>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.set(String(req.headers['webhook-id']), performance.now());
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const appSecret = 'bench-guardian-secret-that-is-at-least-32-chars';
  const env = await createBenchEnv(adminUrl, 10, { GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true', APP_SECRET: appSecret, WORKER_POLL_MS: '50' });
  const { db } = env;
  try {
    const { workspaceId } = await signUpOwner(env.app);
    const vault = new CredentialVault(appSecret);
    const channelIds: string[] = [];
    for (let i = 0; i < CHANNELS; i += 1) {
      const row = await db.query<{ id: string }>(`INSERT INTO guardian_channels (workspace_id, kind, name, config, secret_ciphertext) VALUES ($1, 'webhook', $2, '{}', $3) RETURNING id`, [
        workspaceId,
        `Receiver ${i}`,
        vault.encrypt({ url, secret: newSigningSecret() }),
      ]);
      channelIds.push(row.rows[0]!.id);
    }
    const rule = await db.query<{ id: string }>(
      `INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, severity, channel_ids) VALUES ($1, 'Bounce rate', 'bounce_rate', '>', 0.05, 3600, 'high', $2::uuid[]) RETURNING id`,
      [workspaceId, channelIds],
    );
    const alert = await db.query<{ id: string }>(
      `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, severity, status, comparison, threshold, value, peak_value, opened_at, last_fired_at)
       VALUES ($1, $2, 'Bounce rate', 'bounce_rate', 'high', 'firing', '>', 0.05, 0.08, 0.08, now(), now()) RETURNING id`,
      [workspaceId, rule.rows[0]!.id],
    );
    const alertId = alert.rows[0]!.id;
    const worker = env.runtime.deps.guardianNotify.worker;

    // 1. Throughput.
    await db.query(`INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, at, fan_out) SELECT $1, $2, 'refired', 0.08, now(), true FROM generate_series(1, $3)`, [workspaceId, alertId, EVENTS]);
    const total = EVENTS * CHANNELS;
    const cpuBefore = process.cpuUsage();
    const pgBefore = await backendCpuMs(db);
    const started = performance.now();
    worker.start();
    while (arrivals.size < total) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const pgAfter = await backendCpuMs(db);
    const sent = await db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM guardian_deliveries WHERE status = 'sent'`);
    const nodeUsPer = (cpu.user + cpu.system) / total;
    const pgUsPer = pgBefore !== null && pgAfter !== null ? ((pgAfter - pgBefore) * 1000) / total : null;
    console.log(`throughput: ${total} deliveries (${EVENTS} events × ${CHANNELS} channels) in ${seconds.toFixed(2)} s; ${sent.rows[0]!.n} recorded sent so far; CPU per delivery: node ${nodeUsPer.toFixed(0)} µs, PostgreSQL ${pgUsPer === null ? 'n/a' : `${pgUsPer.toFixed(0)} µs`}`);

    // 2. Latency, the worker running.
    arrivals.clear();
    const committed = new Map<string, number>();
    for (let i = 0; i < TRICKLE_EVENTS; i += 1) {
      const event = await db.query<{ id: string }>(`INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, at, fan_out) VALUES ($1, $2, 'refired', 0.08, now(), true) RETURNING id::text AS id`, [workspaceId, alertId]);
      committed.set(event.rows[0]!.id, performance.now());
      await new Promise((resolve) => setTimeout(resolve, TRICKLE_MS));
    }
    while (arrivals.size < TRICKLE_EVENTS * CHANNELS) await new Promise((resolve) => setTimeout(resolve, 5));
    await worker.stop();
    const ids = await db.query<{ id: string; event: string }>(`SELECT id, alert_event_id::text AS event FROM guardian_deliveries WHERE alert_event_id::text = ANY($1)`, [[...committed.keys()]]);
    const latencies = ids.rows.map((d) => arrivals.get(d.id)! - committed.get(d.event)!).sort((a, b) => a - b);

    console.log(`BENCH guardian_notify_per_s ${(total / seconds).toFixed(0)} deliveries/s`);
    console.log(`BENCH guardian_event_to_delivered_p99_ms ${percentile(latencies, 99).toFixed(0)} ms (p50 ${percentile(latencies, 50).toFixed(0)} ms, ${latencies.length} deliveries, one event every ${TRICKLE_MS} ms, poll ${50} ms)`);
    console.log(`BENCH guardian_notify_cpu_per_delivery_us ${(nodeUsPer + (pgUsPer ?? 0)).toFixed(0)} us`);
  } finally {
    await env.close();
    server.closeAllConnections();
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
