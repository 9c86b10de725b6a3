/**
 * The journal's short statement (send-journal.ts) runs once per handful of emails, so its plan is
 * part of every send's cost. It must find the marked messages by their primary key: every claim
 * adds an entry to messages_sending_holder_idx that stays, dead, until a vacuum, and a bitmap scan
 * of that index read them all on every mark (one entry per message sent since the last vacuum).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, insertWorkspace, type TestDatabase } from '../../test/helpers.js';
import { JOURNAL_SQL } from './send-journal.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('the send journal statement', () => {
  it('reads the marked messages by their primary key, not by the index of every claim since the last vacuum', async () => {
    const ws = await insertWorkspace(t.db, 'Plan');
    // A large send in flight, never analyzed (as between two autovacuum runs, or on a server without it).
    await t.db.query(
      `INSERT INTO messages (workspace_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, status, claim_token, holder_id, next_attempt_at)
       SELECT $1, 'plan:' || i, 'campaign', 'a@example.com', 'p' || i || '@example.com', 's', 'h', 't', 'sending', gen_random_uuid(), 1, now() FROM generate_series(1, 20000) i`,
      [ws],
    );
    const marks = (await t.db.query<{ id: string; claim_token: string }>('SELECT id, claim_token FROM messages WHERE workspace_id = $1 ORDER BY id LIMIT 7', [ws])).rows;
    const accepts = (await t.db.query<{ id: string; claim_token: string }>('SELECT id, claim_token FROM messages WHERE workspace_id = $1 ORDER BY id DESC LIMIT 7', [ws])).rows;
    const plan = await t.db.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${JOURNAL_SQL}`, [
      marks.map((m) => m.id),
      marks.map((m) => m.claim_token),
      marks.map(() => 'smtp'),
      marks.map(() => 'f'),
      accepts.map((a) => a.id),
      accepts.map(() => ws),
      accepts.map((a) => a.claim_token),
      accepts.map(() => 'smtp'),
      accepts.map((a) => `<${a.id}@example.com>`),
      new Date(),
    ]);
    const text = JSON.stringify(plan.rows);
    expect(text).toContain('messages_pkey');
    expect(text).not.toContain('messages_sending_holder_idx');
  });
});
