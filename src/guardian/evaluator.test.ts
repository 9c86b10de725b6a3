import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailTestApp, type EmailTestApp } from '../../test/email-helpers.js';
import { seedOutcomes, seedSends } from '../../test/guardian-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { createPostgresDatabase, type Database } from '../db/database.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { GuardianEvaluator } from './evaluator.js';

const clock = new ManualClock(new Date('2026-03-02T12:00:00Z'));
let t: EmailTestApp;
let caller: Caller;
const INTERVAL = 60_000;

beforeAll(async () => {
  t = await createEmailTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

interface EventRow {
  kind: string;
  fan_out: boolean;
  value: number | null;
}

async function alertsOf(workspaceId: string) {
  const { rows } = await t.db.query<{ id: string; status: string; fire_count: number; value: number; peak_value: number; signal: string; severity: string; last_notified_at: Date | null }>(
    'SELECT id, status, fire_count, value, peak_value, signal, severity, last_notified_at FROM guardian_alerts WHERE workspace_id = $1 ORDER BY opened_at',
    [workspaceId],
  );
  return rows;
}
async function timeline(alertId: string): Promise<EventRow[]> {
  return (await t.db.query<EventRow>('SELECT kind, fan_out, value FROM guardian_alert_events WHERE alert_id = $1 ORDER BY id', [alertId])).rows;
}

describe('a bounce storm through the verified provider webhook', () => {
  const secretBytes = randomBytes(24);
  const secret = `whsec_${secretBytes.toString('base64')}`;
  const sign = (id: string, timestamp: number, body: string) => `v1,${createHmac('sha256', secretBytes).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

  it('fires the default bounce-rate rule within one interval, folds repeats, and resolves when the rate falls', async () => {
    const evaluator = t.runtime.guardianEvaluator;
    expect(evaluator.options.intervalMs).toBe(INTERVAL);
    // The default rules were created at sign-up; a first round finds nothing wrong.
    const first = await evaluator.runRound();
    expect(first.evaluated).toBeGreaterThanOrEqual(7);
    expect(first.fired).toBe(0);

    const provider = await t.app.inject({ method: 'POST', url: '/api/providers', headers: caller.bearer, payload: { name: 'Resend', kind: 'resend', enabled: false, credentials: { apiKey: 're_x', webhookSecret: secret } } });
    expect(provider.statusCode).toBe(201);
    const providerId = provider.json().id as string;
    const ids = await seedSends(t.db, caller.workspaceId, 200, new Date(clock.now().getTime() - 5 * 60_000));
    await t.db.query(`UPDATE messages SET provider_message_id = 're_' || id WHERE id = ANY($1::uuid[])`, [ids]);

    clock.advance(10_000);
    for (const id of ids.slice(0, 20)) {
      const body = JSON.stringify({ type: 'email.bounced', created_at: clock.now().toISOString(), data: { email_id: `re_${id}`, to: [`bounce-${id}@example.com`], bounce: { type: 'Permanent', message: 'mailbox unknown' } } });
      const timestamp = Math.floor(clock.now().getTime() / 1000);
      const svixId = `msg_${id}`;
      const response = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'application/json', 'svix-id': svixId, 'svix-timestamp': String(timestamp), 'svix-signature': sign(svixId, timestamp, body) }, payload: body });
      expect(response.statusCode).toBe(200);
    }
    // Not due yet: the rules were evaluated 10 s ago.
    expect((await evaluator.runRound()).evaluated).toBe(0);

    clock.advance(INTERVAL - 10_000);
    const storm = await evaluator.runRound();
    expect(storm.fired).toBe(1);
    const [alert] = await alertsOf(caller.workspaceId);
    expect(alert).toMatchObject({ status: 'firing', fire_count: 1, value: 10, peak_value: 10, signal: 'bounce_rate', severity: 'high' });
    expect(await timeline(alert!.id)).toEqual([{ kind: 'fired', fan_out: true, value: 10 }]);
    const outbox = await t.db.query('SELECT 1 FROM guardian_alert_events WHERE workspace_id = $1 AND fan_out AND fanned_out_at IS NULL', [caller.workspaceId]);
    expect(outbox.rowCount).toBe(1);

    // Still bad a minute later: folded into the same alert, within the cooldown so not notified again.
    await seedOutcomes(t.db, caller.workspaceId, 'bounced', 10, clock.now());
    clock.advance(INTERVAL);
    expect((await evaluator.runRound()).refired).toBe(1);
    const [folded] = await alertsOf(caller.workspaceId);
    expect(folded).toMatchObject({ id: alert!.id, status: 'firing', fire_count: 2, value: 15, peak_value: 15 });
    expect((await timeline(alert!.id)).map((e) => [e.kind, e.fan_out])).toEqual([['fired', true], ['refired', false]]);

    // Plenty of clean sends bring the rate under 5 %: the alert resolves by itself, and channels hear it.
    await seedSends(t.db, caller.workspaceId, 2000, clock.now());
    clock.advance(INTERVAL);
    expect((await evaluator.runRound()).resolved).toBe(1);
    const [resolved] = await alertsOf(caller.workspaceId);
    expect(resolved).toMatchObject({ id: alert!.id, status: 'resolved' });
    expect((await timeline(alert!.id)).map((e) => [e.kind, e.fan_out])).toEqual([['fired', true], ['refired', false], ['auto_resolved', true]]);
    const rule = await t.db.query<{ last_value: number; last_volume: number; next_eval_at: Date }>(`SELECT s.last_value, s.last_volume, s.next_eval_at FROM guardian_rules r JOIN guardian_rule_state s ON s.rule_id = r.id WHERE r.workspace_id = $1 AND r.default_key = 'bounce_rate'`, [caller.workspaceId]);
    expect(rule.rows[0]!.last_volume).toBe(2200);
    expect(rule.rows[0]!.next_eval_at.getTime()).toBe(clock.now().getTime() + INTERVAL);
  });

  it('notifies a refire again once the cooldown has passed, but not while acknowledged', async () => {
    const ws = await signUp(t.app);
    await t.db.query(`UPDATE guardian_rules SET cooldown_seconds = 120 WHERE workspace_id = $1 AND default_key = 'bounce_rate'`, [ws.workspaceId]);
    await seedSends(t.db, ws.workspaceId, 100, clock.now());
    await seedOutcomes(t.db, ws.workspaceId, 'bounced', 50, clock.now());
    const evaluator = t.runtime.guardianEvaluator;
    await evaluator.runRound();
    const [alert] = await alertsOf(ws.workspaceId);
    for (let i = 0; i < 3; i += 1) {
      clock.advance(INTERVAL);
      await evaluator.runRound();
    }
    // fired (notify), +60 s (cooldown 120 s: no), +120 s (yes), +180 s (no)
    expect((await timeline(alert!.id)).map((e) => [e.kind, e.fan_out])).toEqual([['fired', true], ['refired', false], ['refired', true], ['refired', false]]);
    const ack = await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert!.id}/acknowledge`, headers: ws.bearer });
    expect(ack.statusCode).toBe(200);
    clock.advance(3 * INTERVAL);
    await evaluator.runRound();
    expect((await timeline(alert!.id)).slice(-2).map((e) => [e.kind, e.fan_out])).toEqual([['acknowledged', false], ['refired', false]]);
  });

  it('never stops on a bad rule: an unknown signal is logged and skipped, the others are evaluated', async () => {
    const ws = await signUp(t.app);
    const bad = await t.db.query<{ id: string }>(
      `INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, severity, next_eval_at) VALUES ($1, 'Broken', 'no_such_signal', '>', 1, 60, 'low', $2) RETURNING id`,
      [ws.workspaceId, clock.now()],
    );
    await seedSends(t.db, ws.workspaceId, 100, clock.now());
    await seedOutcomes(t.db, ws.workspaceId, 'bounced', 50, clock.now());
    const outcome = await t.runtime.guardianEvaluator.runRound();
    expect(outcome.failed).toBe(1);
    expect(outcome.fired).toBe(1);
    const next = await t.db.query<{ next_eval_at: Date; last_evaluated_at: Date | null }>('SELECT next_eval_at, last_evaluated_at FROM guardian_rule_state WHERE rule_id = $1', [bad.rows[0]!.id]);
    expect(next.rows[0]!.next_eval_at.getTime()).toBe(clock.now().getTime() + INTERVAL);
    expect(next.rows[0]!.last_evaluated_at).toBeNull();
  });
});

describe('two evaluators on one database', () => {
  it('evaluate every due rule once: each alert fires once', async () => {
    const workspaces: Caller[] = [];
    for (let i = 0; i < 12; i += 1) workspaces.push(await signUp(t.app));
    for (const ws of workspaces) {
      await seedSends(t.db, ws.workspaceId, 100, clock.now());
      await seedOutcomes(t.db, ws.workspaceId, 'bounced', 30, clock.now());
    }
    // A second runtime's evaluator: its own connection pool on PostgreSQL (PGlite has one connection).
    const second: Database = t.testDb.url ? createPostgresDatabase(t.testDb.url, 3) : t.db;
    const logger = createLogger('silent');
    const one = new GuardianEvaluator({ db: t.db, clock, logger }, { batchSize: 5 });
    const two = new GuardianEvaluator({ db: second, clock, logger }, { batchSize: 5 });
    try {
      clock.advance(INTERVAL);
      const [a, b] = await Promise.all([one.runRound(), two.runRound()]);
      expect(a.fired + b.fired).toBe(12);
      const due = await t.db.query(`SELECT 1 FROM guardian_rule_state WHERE enabled AND next_eval_at <= $1`, [clock.now()]);
      expect(due.rowCount).toBe(0);
      for (const ws of workspaces) {
        const alerts = await alertsOf(ws.workspaceId);
        expect(alerts).toHaveLength(1);
        expect((await timeline(alerts[0]!.id)).map((e) => e.kind)).toEqual(['fired']);
      }
    } finally {
      if (second !== t.db) await second.close();
    }
  });
});
