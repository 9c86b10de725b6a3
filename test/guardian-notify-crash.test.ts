/**
 * Guardian notifications under SIGKILL of the production process, counted at the receiver. The
 * server (src/server.ts, UNITE_ROLE=worker, real PostgreSQL) fans out alert events and delivers
 * them to a local Standard Webhooks receiver that verifies every request with the
 * `standardwebhooks` package and counts requests per webhook-id. The process is killed three times
 * at random moments of the delivering and restarted each time. Afterwards: every notification
 * was delivered and is `sent`; a webhook-id arrived more than once only if its delivery was in the
 * dead process's hands (claimed, request maybe made) — the "at least once with an idempotency key"
 * of docs/guardian.md, which the receiver's deduplication by webhook-id turns into once — and the
 * restarted process took the dead one's deliveries over at once (holders, not a lease).
 * PostgreSQL only: the embedded database serves one process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialVault } from '../src/email/provider-settings.js';
import { newSigningSecret } from '../src/guardian/channels.js';
import { insertRule, startWebhookReceiver, type WebhookReceiver } from './guardian-support.js';
import { createTestDatabase, insertWorkspace, type TestDatabase } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const EVENTS = 1500;
const KILLS = 3;
const APP_SECRET = 'guardian-kill-test-secret-at-least-32-characters';

let testDb: TestDatabase;
let receiver: WebhookReceiver;
const secret = newSigningSecret();
const children = new Set<ChildProcess>();
const requestsTotal = () => [...receiver.accepted.values()].reduce((a, b) => a + b, 0);

beforeAll(async () => {
  testDb = await createTestDatabase();
  receiver = await startWebhookReceiver(() => secret);
  const workspaceId = await insertWorkspace(testDb.db, 'Guardian crash');
  const channel = await testDb.db.query<{ id: string }>(
    `INSERT INTO guardian_channels (workspace_id, kind, name, config, secret_ciphertext) VALUES ($1, 'webhook', 'Receiver', $2, $3) RETURNING id`,
    [workspaceId, JSON.stringify({ host: new URL(receiver.url).host }), new CredentialVault(APP_SECRET).encrypt({ url: receiver.url, secret })],
  );
  const rule = await insertRule(testDb.db, workspaceId, [channel.rows[0]!.id]);
  // The worker role also runs the evaluator: it would find no sends and resolve this hand-made
  // alert (one more delivery). Keep the rule out of its reach; only the outbox is under test.
  await testDb.db.query(`UPDATE guardian_rules SET next_eval_at = 'infinity' WHERE id = $1`, [rule]);
  // One alert with EVENTS timeline events in the outbox (as many refirings would leave).
  const alert = await testDb.db.query<{ id: string }>(
    `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, severity, status, comparison, threshold, value, peak_value, opened_at, last_fired_at)
     VALUES ($1, $2, 'Bounce rate', 'bounce_rate', 'high', 'firing', '>', 0.05, 0.08, 0.08, now(), now()) RETURNING id`,
    [workspaceId, rule],
  );
  await testDb.db.query(
    `INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, at, fan_out)
     SELECT $1, $2, 'refired', 0.08 + i / 100000.0, now(), true FROM generate_series(1, $3) AS i`,
    [workspaceId, alert.rows[0]!.id, EVENTS],
  );
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await receiver?.close();
  await testDb?.drop();
});

function startServer(): ChildProcess {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    UNITE_ROLE: 'worker',
    PORT: String(42_000 + Math.floor(Math.random() * 10_000)),
    HOST: '127.0.0.1',
    DATABASE_URL: testDb.url!,
    APP_SECRET,
    PUBLIC_URL: 'https://app.example.com',
    LOG_LEVEL: 'error',
    GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true',
    WORKER_POLL_MS: '100',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(!process.env.DATABASE_URL)('Guardian notifications under SIGKILL of the production process', { timeout: 300_000 }, () => {
  it('delivers every notification; a webhook-id repeats only for deliveries the dead process held', async () => {
    const inFlight = new Set<string>();
    const crashes: Array<{ held: number; resumedMs: number }> = [];
    let child = startServer();
    for (let k = 0; k < KILLS; k += 1) {
      const threshold = requestsTotal() + 50 + Math.floor(Math.random() * 200);
      await until(`${threshold} requests`, 120_000, async () => (requestsTotal() >= threshold ? true : null));
      await kill(child);
      const held = await testDb.db.query<{ id: string; holder_id: number }>(`SELECT id, holder_id FROM guardian_deliveries WHERE status = 'sending'`);
      for (const r of held.rows) inFlight.add(r.id);
      const restartedAt = Date.now();
      child = startServer();
      // Taken over on the restarted process's first runs: none left with the dead holder.
      const dead = [...new Set(held.rows.map((r) => r.holder_id))];
      await until('the dead process’s deliveries taken over', 120_000, async () => {
        const left = await testDb.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM guardian_deliveries WHERE status = 'sending' AND holder_id = ANY($1)`, [dead]);
        return left.rows[0]!.n === 0 ? true : null;
      });
      crashes.push({ held: held.rows.length, resumedMs: Date.now() - restartedAt });
    }
    // One statement, one snapshot: counted in two, the deliveries could read 0 between two fan-out
    // batches and the events 0 just after the last one, with its deliveries still to be sent.
    await until('every delivery settled', 180_000, async () => {
      const open = await testDb.db.query<{ deliveries: number; events: number }>(
        `SELECT (SELECT count(*)::integer FROM guardian_deliveries WHERE status NOT IN ('sent', 'failed')) AS deliveries,
                (SELECT count(*)::integer FROM guardian_alert_events WHERE fanned_out_at IS NULL) AS events`,
      );
      return open.rows[0]!.deliveries === 0 && open.rows[0]!.events === 0 ? true : null;
    });
    await kill(child);

    const rows = await testDb.db.query<{ id: string; status: string }>('SELECT id, status FROM guardian_deliveries');
    const repeated = [...receiver.accepted].filter(([, n]) => n > 1).map(([id]) => id);
    console.log(`guardian crash test: ${JSON.stringify(crashes)}; deliveries ${rows.rows.length}; requests ${requestsTotal()}; webhook-ids repeated ${repeated.length}`);
    // One delivery per event, all sent, all verified.
    expect(rows.rows).toHaveLength(EVENTS);
    expect(rows.rows.filter((r) => r.status !== 'sent')).toEqual([]);
    expect(receiver.unverified).toBe(0);
    // Every notification arrived; only in-flight ones may have arrived twice (same webhook-id).
    expect(rows.rows.filter((r) => !receiver.accepted.has(r.id))).toEqual([]);
    expect(repeated.filter((id) => !inFlight.has(id))).toEqual([]);
    expect([...receiver.accepted.keys()].filter((id) => !rows.rows.some((r) => r.id === id))).toEqual([]);
    for (const crash of crashes) expect(crash.held).toBeGreaterThan(0);
  });
});
