/**
 * Two Guardian evaluator processes on one PostgreSQL: the real server (src/server.ts) started
 * twice as separate OS processes in the worker role, each running the evaluator and the notifier
 * every 5 s over the same rules. Bounce storms start in some workspaces at random moments while
 * both run; later the bounces are withdrawn so the alerts resolve by themselves. Counted at a
 * local Standard Webhooks receiver (every request verified with the `standardwebhooks` package):
 * each storm opened one alert, which fired once and auto-resolved once — one `fired` and one
 * `auto_resolved` request per alert, no request twice — while both processes took turns
 * evaluating (both heartbeats list the evaluator; the alerts were folded by later rounds).
 * PostgreSQL only: the embedded database serves one process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialVault } from '../src/email/provider-settings.js';
import { newSigningSecret } from '../src/guardian/channels.js';
import { seedOutcomes, seedSends } from './guardian-helpers.js';
import { insertRule, startWebhookReceiver, type WebhookReceiver } from './guardian-support.js';
import { createTestDatabase, insertWorkspaces, type TestDatabase } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const WORKSPACES = 60;
const STORMS = 20;
const INTERVAL_S = 5;
const APP_SECRET = 'guardian-two-evaluators-secret-at-least-32-chars';

let testDb: TestDatabase;
let receiver: WebhookReceiver;
const secret = newSigningSecret();
const children = new Set<ChildProcess>();
const workspaces: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  if (!testDb.url) return;
  receiver = await startWebhookReceiver(() => secret);
  const vault = new CredentialVault(APP_SECRET);
  const workspaceIds = await insertWorkspaces(testDb.db, 'Two evaluators', Array.from({ length: WORKSPACES }, (_, i) => `Workspace ${i}`));
  for (const workspaceId of workspaceIds) {
    const channel = await testDb.db.query<{ id: string }>(
      `INSERT INTO guardian_channels (workspace_id, kind, name, config, secret_ciphertext) VALUES ($1, 'webhook', 'Receiver', $2, $3) RETURNING id`,
      [workspaceId, JSON.stringify({ host: new URL(receiver.url).host }), vault.encrypt({ url: receiver.url, secret })],
    );
    // bounce rate > 5 % over 1 h with ≥ 100 sends, as the default rule.
    await insertRule(testDb.db, workspaceId, [channel.rows[0]!.id]);
    await testDb.db.query(`UPDATE guardian_rules SET threshold = 5 WHERE workspace_id = $1`, [workspaceId]);
    // Healthy history: 200 sends, 2 bounces.
    const sent = await seedSends(testDb.db, workspaceId, 200, new Date(Date.now() - 20 * 60_000));
    await seedOutcomes(testDb.db, workspaceId, 'bounced', 2, new Date(Date.now() - 19 * 60_000), { messageIds: sent.slice(0, 2) });
    workspaces.push(workspaceId);
  }
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
    GUARDIAN_EVAL_INTERVAL: String(INTERVAL_S),
    WORKER_POLL_MS: '100',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const requestsOf = (type: string) => receiver.bodies.filter((b) => b.body.type === type);

describe.skipIf(!process.env.DATABASE_URL)('two Guardian evaluator processes on one PostgreSQL', { timeout: 240_000 }, () => {
  it('fires and notifies each alert once, and resolves it once, counted at the receiver', async () => {
    const a = startServer();
    const b = startServer();
    // Both processes are up and running the evaluator.
    await until('two worker processes with the evaluator', 60_000, async () => {
      const { rows } = await testDb.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM guardian_heartbeats WHERE 'guardian_evaluator' = ANY(workers) AND seen_at > now() - interval '30 seconds'`);
      return rows[0]!.n >= 2 ? true : null;
    });

    // Storms at random moments over two intervals, while both evaluate: 150 sends, 30 bounced.
    const stormed = workspaces.slice(0, STORMS);
    const bounced = new Map<string, string[]>();
    await Promise.all(
      stormed.map(async (workspaceId) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * INTERVAL_S * 1000));
        const ids = await seedSends(testDb.db, workspaceId, 150, new Date());
        await seedOutcomes(testDb.db, workspaceId, 'bounced', 30, new Date(), { messageIds: ids.slice(0, 30) });
        bounced.set(workspaceId, ids.slice(0, 30));
      }),
    );
    await until(`${STORMS} fired notifications`, 90_000, async () => (requestsOf('guardian.alert.fired').length >= STORMS ? true : null));
    // Two more intervals: both processes re-evaluate the firing rules (folded, within the cooldown: not notified).
    const before = Date.now();
    await until('every firing rule re-evaluated twice', 60_000, async () => {
      const { rows } = await testDb.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM guardian_alerts WHERE status = 'firing' AND fire_count >= 3`);
      return rows[0]!.n === STORMS && Date.now() - before > INTERVAL_S * 1000 ? true : null;
    });

    // The storms end: the bounces are withdrawn, the rate falls, the alerts resolve by themselves.
    await testDb.db.query(`DELETE FROM events WHERE workspace_id = ANY($1::uuid[]) AND name = 'bounced' AND occurred_at > now() - interval '5 minutes'`, [stormed]);
    await until(`${STORMS} auto-resolved notifications`, 90_000, async () => (requestsOf('guardian.alert.auto_resolved').length >= STORMS ? true : null));
    // Long enough for a stray second firing or notification to show.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_S * 1000));
    a.kill('SIGTERM');
    b.kill('SIGTERM');

    const alerts = await testDb.db.query<{ workspace_id: string; id: string; status: string; fire_count: number }>(`SELECT workspace_id, id, status, fire_count FROM guardian_alerts`);
    const events = await testDb.db.query<{ alert_id: string; kind: string; n: number }>(`SELECT alert_id, kind, count(*)::integer AS n FROM guardian_alert_events GROUP BY alert_id, kind`);
    const heartbeats = await testDb.db.query<{ pid: number }>(`SELECT DISTINCT pid FROM guardian_heartbeats WHERE 'guardian_evaluator' = ANY(workers)`);
    console.log(`two evaluators: ${alerts.rows.length} alerts, fire counts ${alerts.rows.map((r) => r.fire_count).join(',')}, requests ${receiver.bodies.length}, processes ${heartbeats.rows.length}`);

    expect(heartbeats.rows.length).toBe(2);
    // One alert per stormed workspace, none elsewhere, each resolved by itself.
    expect(alerts.rows.map((r) => r.workspace_id).sort()).toEqual([...stormed].sort());
    expect(alerts.rows.filter((r) => r.status !== 'resolved')).toEqual([]);
    for (const alert of alerts.rows) {
      const kinds = Object.fromEntries(events.rows.filter((e) => e.alert_id === alert.id).map((e) => [e.kind, e.n]));
      expect(kinds.fired).toBe(1);
      expect(kinds.auto_resolved).toBe(1);
      // Folds: one 'refired' row per later round, which a double evaluation would have doubled.
      expect(kinds.refired).toBe(alert.fire_count - 1);
    }
    // At the receiver: each alert's fired and auto-resolved notifications, each exactly once.
    expect(receiver.unverified).toBe(0);
    expect([...receiver.accepted.values()].filter((n) => n !== 1)).toEqual([]);
    const perAlert = (type: string) => requestsOf(type).map((r) => (r.body.data as { alert: { id: string } }).alert.id).sort();
    const ids = alerts.rows.map((r) => r.id).sort();
    expect(perAlert('guardian.alert.fired')).toEqual(ids);
    expect(perAlert('guardian.alert.auto_resolved')).toEqual(ids);
    expect(receiver.bodies).toHaveLength(2 * STORMS);
  });
});
