/**
 * The reclaim's look for dead holders (reclaim.ts) runs about once a second in every sending
 * process, during and after every send. It must not read the whole of messages_sending_holder_idx:
 * every claim adds an entry that stays, dead, until a vacuum, and a bitmap scan visited each one's
 * heap page on every pass (125 ms a second after 100,000 sends). Ordered index probes mark the dead
 * entries they meet and skip them afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertWorkspace, type TestDatabase } from '../../test/helpers.js';
import { LOCK_SQL } from './reclaim.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('the reclaim of dead senders', () => {
  it('finds the holders of in-flight messages by index probes, not a scan of every claim since the last vacuum', async () => {
    const ws = await insertWorkspace(t.db, 'Reclaim');
    // 20,000 messages claimed and sent since the last vacuum (never analyzed); none in flight now.
    const holder = (await t.db.query<{ id: number }>(`SELECT nextval('work_holder_ids')::integer AS id`)).rows[0]!.id;
    await t.db.query(
      `INSERT INTO messages (workspace_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, status, claim_token, holder_id, next_attempt_at)
       SELECT $1, 'reclaim:' || i, 'campaign', 'a@example.com', 'r' || i || '@example.com', 's', 'h', 't', 'sending', gen_random_uuid(), $2, now() FROM generate_series(1, 20000) i`,
      [ws, holder],
    );
    await t.db.query(`UPDATE messages SET status = 'sent', claim_token = NULL, holder_id = NULL WHERE workspace_id = $1`, [ws]);

    // The first pass meets the dead entries; the next ones skip them.
    await t.db.transaction((tx) => tx.query(LOCK_SQL));
    const plan = (await t.db.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${LOCK_SQL}`)).rows[0]!['QUERY PLAN'][0]!.Plan;
    const pages = Number(plan['Shared Hit Blocks']) + Number(plan['Shared Read Blocks']);
    // 20,000 rows fill about 300 heap pages; the index probes read a handful of index pages.
    expect(pages).toBeLessThan(50);
  });
});
