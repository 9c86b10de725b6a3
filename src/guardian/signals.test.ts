import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOutcomes, seedSends } from '../../test/guardian-helpers.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { firing } from './evaluator.js';
import { rollUpSends } from './rollup.js';
import { readSignal, type SignalInput } from './signals.js';

const clock = new ManualClock(new Date('2026-03-02T12:00:00Z'));
let t: TestApp;
let a: Caller;
let b: Caller;

beforeAll(async () => {
  t = await createTestApp({ clock });
  a = await signUp(t.app);
  b = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

const at = (minutesAgo: number) => new Date(clock.now().getTime() - minutesAgo * 60_000);
const input = (workspaceId: string, windowSeconds = 3600, extra: Partial<SignalInput> = {}): SignalInput => ({ workspaceId, windowSeconds, scope: {}, minVolume: 0, ...extra });

describe('sending signals', () => {
  it('bounce and complaint rates count only the window and the workspace, with the sends as volume', async () => {
    await seedSends(t.db, a.workspaceId, 200, at(10));
    await seedSends(t.db, a.workspaceId, 300, at(120)); // outside a 1 h window
    await seedOutcomes(t.db, a.workspaceId, 'bounced', 12, at(5));
    await seedOutcomes(t.db, a.workspaceId, 'bounced', 50, at(90)); // outside
    await seedOutcomes(t.db, a.workspaceId, 'complained', 1, at(5));
    await seedSends(t.db, b.workspaceId, 10, at(10));
    await seedOutcomes(t.db, b.workspaceId, 'bounced', 9, at(5));

    const now = clock.now();
    const [hour, day, other] = await readSignal(t.db, 'bounce_rate', now, [input(a.workspaceId), input(a.workspaceId, 86_400), input(b.workspaceId)]);
    expect(hour).toEqual({ value: 6, volume: 200 });
    expect(day!.volume).toBe(500);
    expect(day!.value).toBeCloseTo((62 / 500) * 100, 6);
    expect(other).toEqual({ value: 90, volume: 10 });
    const [complaints] = await readSignal(t.db, 'complaint_rate', now, [input(a.workspaceId)]);
    expect(complaints).toEqual({ value: 0.5, volume: 200 });

    // The minimum volume keeps a rule quiet: 9 bounces in 10 sends do not fire a rule that needs 100 sends.
    const rule = { signal: 'bounce_rate', comparison: '>' as const, threshold: 5, min_volume: 100 };
    expect(firing(rule, other!)).toBe(false);
    expect(firing(rule, hour!)).toBe(true);
    expect(firing({ ...rule, min_volume: 201 }, hour!)).toBe(false);
  });

  it('long windows read rolled-up hours plus the ragged edges and count the same', async () => {
    const ws = await signUp(t.app);
    const campaign = (await t.db.query<{ id: string }>(`INSERT INTO campaigns (workspace_id, name, draft_definition) VALUES ($1, 'C', '{}') RETURNING id`, [ws.workspaceId])).rows[0]!.id;
    // Sends every 7 minutes over the last 30 hours, a third of them from the campaign.
    for (let minutes = 1; minutes < 30 * 60; minutes += 7) await seedSends(t.db, ws.workspaceId, 1, at(minutes), minutes % 3 === 0 ? { campaignId: campaign } : {});
    const sent = await seedSends(t.db, ws.workspaceId, 1, at(600), { campaignId: campaign });
    await seedOutcomes(t.db, ws.workspaceId, 'complained', 3, at(30));
    await seedOutcomes(t.db, ws.workspaceId, 'unsubscribed', 1, at(500), { messageIds: sent });
    const inputs = [input(ws.workspaceId, 86_400), input(ws.workspaceId, 7_200), input(ws.workspaceId, 95_000)];
    const before = await readSignal(t.db, 'complaint_rate', clock.now(), inputs);
    const unsubBefore = await readSignal(t.db, 'unsubscribe_rate', clock.now(), inputs);
    expect(await rollUpSends(t.db, clock.now())).toEqual(new Date('2026-03-02T11:00:00Z'));
    const rolled = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM guardian_send_hours WHERE workspace_id = $1', [ws.workspaceId]);
    expect(Number(rolled.rows[0]!.n)).toBeGreaterThan(20);
    expect(await readSignal(t.db, 'complaint_rate', clock.now(), inputs)).toEqual(before);
    expect(await readSignal(t.db, 'unsubscribe_rate', clock.now(), inputs)).toEqual(unsubBefore);
    expect(before[0]!.volume).toBe(Math.ceil((24 * 60 - 1) / 7) + 1);
    expect(unsubBefore[0]!.value).not.toBeNull();
  });

  it('no sends is no data: the rate is null and never fires', async () => {
    const fresh = await signUp(t.app);
    const [reading] = await readSignal(t.db, 'bounce_rate', clock.now(), [input(fresh.workspaceId)]);
    expect(reading).toEqual({ value: null, volume: 0 });
    expect(firing({ signal: 'bounce_rate', comparison: '>=', threshold: 0, min_volume: 0 }, reading!)).toBe(false);
  });

  it('failed and uncertain sends count messages queued in the window', async () => {
    const ws = await signUp(t.app);
    await seedSends(t.db, ws.workspaceId, 5, at(3), { status: 'failed' });
    await seedSends(t.db, ws.workspaceId, 2, at(3), { status: 'uncertain' });
    await seedSends(t.db, ws.workspaceId, 3, at(3), { status: 'queued' });
    await seedSends(t.db, ws.workspaceId, 4, at(200), { status: 'failed' });
    const [failed] = await readSignal(t.db, 'failed_sends', clock.now(), [input(ws.workspaceId)]);
    expect(failed).toEqual({ value: 5, volume: 10 });
    const [uncertain] = await readSignal(t.db, 'uncertain_sends', clock.now(), [input(ws.workspaceId)]);
    expect(uncertain).toEqual({ value: 2, volume: null });
  });

  it('unsubscribe rate per campaign: the worst campaign with enough sends', async () => {
    const ws = await signUp(t.app);
    const campaign = async (name: string) =>
      (await t.db.query<{ id: string }>(`INSERT INTO campaigns (workspace_id, name, draft_definition) VALUES ($1, $2, '{}') RETURNING id`, [ws.workspaceId, name])).rows[0]!.id;
    const big = await campaign('Big');
    const small = await campaign('Small');
    const bigSends = await seedSends(t.db, ws.workspaceId, 100, at(10), { campaignId: big });
    const smallSends = await seedSends(t.db, ws.workspaceId, 4, at(10), { campaignId: small });
    await seedOutcomes(t.db, ws.workspaceId, 'unsubscribed', 3, at(5), { messageIds: bigSends.slice(0, 3) });
    await seedOutcomes(t.db, ws.workspaceId, 'unsubscribed', 2, at(5), { messageIds: smallSends.slice(0, 2) });
    const [withVolume, anyVolume, scoped] = await readSignal(t.db, 'unsubscribe_rate', clock.now(), [
      input(ws.workspaceId, 3600, { minVolume: 50 }),
      input(ws.workspaceId, 3600, { minVolume: 0 }),
      input(ws.workspaceId, 3600, { scope: { campaignId: big } }),
    ]);
    expect(withVolume).toEqual({ value: 3, volume: 100 });
    expect(anyVolume).toEqual({ value: 50, volume: 4 });
    expect(scoped).toEqual({ value: 3, volume: 100 });
  });

  it('AI budget spent is the month\'s spend over the limit; quiet without a budget', async () => {
    const ws = await signUp(t.app);
    const [none] = await readSignal(t.db, 'ai_budget_spent', clock.now(), [input(ws.workspaceId)]);
    expect(none!.value).toBeNull();
    await t.db.query('INSERT INTO ai_budgets (workspace_id, monthly_limit) VALUES ($1, 50)', [ws.workspaceId]);
    await t.db.query(`INSERT INTO ai_spend (workspace_id, month, spent) VALUES ($1, '2026-03-01', 45), ($1, '2026-02-01', 49)`, [ws.workspaceId]);
    const [spent] = await readSignal(t.db, 'ai_budget_spent', clock.now(), [input(ws.workspaceId)]);
    expect(spent!.value).toBeCloseTo(90, 6);
  });
});

describe('system signals', () => {
  it('outbox age and event backlog read the due rows of the workspace', async () => {
    const ws = await signUp(t.app);
    await seedSends(t.db, ws.workspaceId, 3, at(15), { status: 'queued' });
    await t.db.query(`INSERT INTO event_work (workspace_id, event_ids, created_at) VALUES ($1, '{}', $2), ($1, '{}', $3)`, [ws.workspaceId, at(7), at(1)]);
    const [outbox] = await readSignal(t.db, 'outbox_age', clock.now(), [input(ws.workspaceId)]);
    expect(outbox).toEqual({ value: 900, volume: 3 });
    const [age] = await readSignal(t.db, 'event_backlog_age', clock.now(), [input(ws.workspaceId)]);
    expect(age).toEqual({ value: 420, volume: 2 });
    const [count] = await readSignal(t.db, 'event_backlog_count', clock.now(), [input(ws.workspaceId)]);
    expect(count).toEqual({ value: 2, volume: null });
    const [quiet] = await readSignal(t.db, 'engine_lag', clock.now(), [input(ws.workspaceId)]);
    expect(quiet).toEqual({ value: 0, volume: 0 });
  });

  it('the API 5xx rate, provider circuits and worker heartbeats come from what each process flushed', async () => {
    const monitor = t.runtime.processMonitor;
    for (let i = 0; i < 18; i += 1) monitor.countResponse(200);
    monitor.countResponse(500);
    monitor.countResponse(503);
    await monitor.flush();
    const [rate] = await readSignal(t.db, 'api_error_rate', clock.now(), [input(a.workspaceId, 300)]);
    expect(rate!.volume).toBeGreaterThanOrEqual(20);
    expect(rate!.value).toBeCloseTo((2 / rate!.volume!) * 100, 6);

    // A provider whose breaker is open in a live process; a stale process's row no longer counts.
    const provider = await t.db.query<{ id: string }>(`INSERT INTO email_providers (workspace_id, name, kind, credentials_encrypted) VALUES ($1, 'R', 'resend', 'x') RETURNING id`, [a.workspaceId]);
    await t.db.query(`INSERT INTO guardian_circuit_states (provider_id, process_id, workspace_id, state, changed_at, seen_at) VALUES ($1, 'p1', $2, 'open', $3, $3)`, [provider.rows[0]!.id, a.workspaceId, at(0)]);
    const [open] = await readSignal(t.db, 'provider_circuit_open', clock.now(), [input(a.workspaceId), input(b.workspaceId)]);
    expect(open).toEqual({ value: 1, volume: null });
    clock.advance(60_000);
    const [stale] = await readSignal(t.db, 'provider_circuit_open', clock.now(), [input(a.workspaceId)]);
    expect(stale!.value).toBe(0);

    await t.db.query(`INSERT INTO guardian_heartbeats (process_id, role, workers, host, pid, started_at, seen_at) VALUES ('w1', 'worker', '{email_sender}', 'h', 1, $1, $2), ('w2', 'worker', '{email_sender,campaign_engine}', 'h', 2, $1, $3)`, [at(60), at(1), at(10)]);
    const [heartbeat] = await readSignal(t.db, 'worker_heartbeat', clock.now(), [input(a.workspaceId)]);
    // email_sender was last seen 1 min ago, campaign_engine 10 min ago: the worst is 600 s.
    expect(heartbeat!.value).toBeCloseTo(600, 3);
  });
});
