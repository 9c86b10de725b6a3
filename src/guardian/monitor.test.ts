import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { createProcessMonitor } from './monitor.js';
import { readSignal } from './signals.js';

const clock = new ManualClock(new Date('2026-03-02T12:00:00Z'));
let t: TestApp;
let caller: Caller;

beforeAll(async () => {
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

describe('process monitor', () => {
  it('writes the heartbeat, breaker transitions and HTTP counts so another process sees them', async () => {
    const provider = await t.db.query<{ id: string }>(`INSERT INTO email_providers (workspace_id, name, kind, credentials_encrypted) VALUES ($1, 'P', 'postmark', 'x') RETURNING id`, [caller.workspaceId]);
    const providerId = provider.rows[0]!.id;
    let state = 'closed';
    const monitor = createProcessMonitor({ db: t.db, clock, logger: createLogger('silent') }, { intervalMs: 60_000, circuitStates: () => [{ providerId, state }] });
    monitor.start('worker', ['email_sender', 'guardian_evaluator']);
    await monitor.flush();
    const heartbeat = await t.db.query<{ role: string; workers: string[]; seen_at: Date }>('SELECT role, workers, seen_at FROM guardian_heartbeats WHERE process_id = $1', [monitor.processId]);
    expect(heartbeat.rows[0]).toMatchObject({ role: 'worker', workers: ['email_sender', 'guardian_evaluator'], seen_at: clock.now() });

    clock.advance(5_000);
    state = 'open';
    await monitor.flush();
    const opened = clock.now();
    clock.advance(5_000);
    await monitor.flush();
    const row = await t.db.query<{ state: string; changed_at: Date; seen_at: Date; workspace_id: string }>('SELECT state, changed_at, seen_at, workspace_id FROM guardian_circuit_states WHERE provider_id = $1', [providerId]);
    // changed_at is the transition, seen_at the latest flush.
    expect(row.rows[0]).toEqual({ state: 'open', changed_at: opened, seen_at: clock.now(), workspace_id: caller.workspaceId });
    const [open] = await readSignal(t.db, 'provider_circuit_open', clock.now(), [{ workspaceId: caller.workspaceId, windowSeconds: 300, scope: {}, minVolume: 0 }]);
    expect(open!.value).toBe(1);

    monitor.countResponse(200);
    monitor.countResponse(502);
    clock.advance(60_000);
    monitor.countResponse(200);
    await monitor.flush();
    monitor.countResponse(500);
    await monitor.flush();
    const minutes = await t.db.query<{ requests: number; errors_5xx: number }>('SELECT requests, errors_5xx FROM guardian_http_minutes WHERE process_id = $1 ORDER BY minute', [monitor.processId]);
    expect(minutes.rows).toEqual([{ requests: 2, errors_5xx: 1 }, { requests: 2, errors_5xx: 1 }]);
    await monitor.stop();
  });
});
