/**
 * Crash and concurrency tests with real worker processes — the production server entry in the
 * worker role (test/worker-process.ts) — on PostgreSQL only (PGlite is embedded in one process by design). A worker killed with SIGKILL mid-run, then restarted, and two workers
 * sharing one database must each finish every enrollment exactly once and never duplicate a message.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertWorkspace, type TestDatabase } from '../../test/helpers.js';
import { exited, startServerWorker } from '../../test/worker-process.js';
import { SYSTEM_ACTOR } from '../identity/audit.js';
import { systemClock } from '../platform/clock.js';
import { createCampaign, publishCampaign } from './campaigns.js';

const ENROLLMENTS = 2000;
let testDb: TestDatabase;
let workspaceId: string;
const onPostgres = Boolean(process.env.DATABASE_URL);

beforeAll(async () => {
  if (!onPostgres) return;
  testDb = await createTestDatabase();
  workspaceId = await insertWorkspace(testDb.db, 'Durable');
  await testDb.db.query(`INSERT INTO contacts (workspace_id, email, first_name) SELECT $1, 'd' || i || '@example.com', 'D' || i FROM generate_series(1, $2::int) AS i`, [workspaceId, ENROLLMENTS * 2]);
});
afterAll(async () => {
  if (onPostgres) await testDb.drop();
});

/** The real server (src/server.ts) in the worker role, as deployed: what SIGKILL hits is the production process. */
async function startWorker(): Promise<ChildProcess> {
  const worker = await startServerWorker(testDb.url!, { ENGINE_BATCH_SIZE: '50', NODE_ENV: 'test', WORKER_POLL_MS: '50', APP_SECRET: 'durability-secret-at-least-32-characters' });
  return worker.child;
}

async function setUpCampaign(offset: number): Promise<string> {
  const campaign = await createCampaign(
    { db: testDb.db, clock: systemClock },
    workspaceId,
    SYSTEM_ACTOR,
    `durable ${offset}`,
    {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'hello', type: 'email', config: { subject: 'Hello {{ contact.first_name }}', html: '<p>Hi</p>' } },
        { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: `durable-${offset}` } },
        { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 0 } },
        { id: 'bye', type: 'email', config: { subject: 'Bye', html: '<p>Bye</p>' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'hello' },
        { from: 'hello', to: 'tag' },
        { from: 'tag', to: 'w' },
        { from: 'w', to: 'bye' },
        { from: 'bye', to: 'x' },
      ],
    },
  );
  await publishCampaign({ db: testDb.db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, campaign.id);
  await testDb.db.query(
    `INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, enrolled_at, updated_at)
     SELECT $1, $2, 1, id, 't', now(), now(), now() FROM contacts WHERE workspace_id = $1 ORDER BY email OFFSET $3 LIMIT $4`,
    [workspaceId, campaign.id, offset, ENROLLMENTS],
  );
  return campaign.id;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n;
}

async function waitForAllDone(campaignId: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if ((await count(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status <> 'completed'`, [campaignId])) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('enrollments did not finish');
}

async function expectExactlyOnce(campaignId: string, tag: string): Promise<void> {
  expect(await count(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'completed'`, [campaignId])).toBe(ENROLLMENTS);
  expect(await count(`SELECT count(*)::int AS n FROM messages WHERE source_id = $1`, [campaignId])).toBe(ENROLLMENTS * 2);
  // Each node ran once per enrollment: no step was executed twice.
  expect(await count(`SELECT count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1`, [campaignId])).toBe(ENROLLMENTS * 6);
  expect(await count(`SELECT count(*)::int AS n FROM (SELECT enrollment_id, node_id FROM enrollment_steps WHERE campaign_id = $1 GROUP BY 1, 2 HAVING count(*) > 1) d`, [campaignId])).toBe(0);
  expect(await count(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND name = 'tag_added' AND properties->>'tag' = $2`, [workspaceId, tag])).toBe(ENROLLMENTS);
  expect(await count(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND $2 = ANY(tags)`, [workspaceId, tag])).toBe(ENROLLMENTS);
  // The worker role also runs the event processor, which applies queued events and deletes them:
  // whatever is still queued when the workers stop is queued once (a crash never queues twice).
  expect(
    await count(
      `SELECT count(*)::int AS n FROM (SELECT q.id FROM (SELECT unnest(w.event_ids) AS id FROM event_work w WHERE w.workspace_id = $1) q GROUP BY q.id HAVING count(*) > 1) d`,
      [workspaceId],
    ),
  ).toBe(0);
}

describe.skipIf(!onPostgres)('durability with worker processes', () => {
  it('a worker killed with SIGKILL mid-run and restarted finishes every enrollment exactly once', async () => {
    const campaignId = await setUpCampaign(0);
    const first = await startWorker();
    for (let i = 0; i < 600; i++) {
      if ((await count('SELECT count(*)::int AS n FROM messages WHERE source_id = $1', [campaignId])) >= ENROLLMENTS / 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await exited(first);
    const doneAtKill = await count(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'completed'`, [campaignId]);
    expect(doneAtKill).toBeLessThan(ENROLLMENTS);

    const second = await startWorker();
    try {
      await waitForAllDone(campaignId);
    } finally {
      second.kill('SIGTERM');
      await exited(second);
    }
    await expectExactlyOnce(campaignId, 'durable-0');
  }, 240_000);

  it('two workers on one database share the work without duplicates', async () => {
    const campaignId = await setUpCampaign(ENROLLMENTS);
    const workers = await Promise.all([startWorker(), startWorker()]);
    try {
      await waitForAllDone(campaignId);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map(exited));
    }
    await expectExactlyOnce(campaignId, `durable-${ENROLLMENTS}`);
  }, 240_000);
});
