/**
 * The campaign sink's first statement runs once per batch of events, on every write that records
 * one (a tag, an open, a Segment call): PostgreSQL must keep its plan rather than plan it anew
 * on each run, as it did while it could see the batch's contact ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { insertContact } from '../../test/campaign-support.js';
import { recordEvents } from '../core/events.js';
import { createPostgresDatabase, type Database } from '../db/database.js';

/** A campaign started by an event no test sends. */
const DEFINITION = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'event', name: 'never_sent' } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [{ from: 't', to: 'x' }],
};

describe.skipIf(!process.env.DATABASE_URL)('the campaign sink on PostgreSQL', () => {
  let t: TestApp;
  let caller: Caller;
  let one: Database;
  beforeAll(async () => {
    t = await createTestApp();
    caller = await signUp(t.app);
    // One connection: every run, and the look at its prepared statements, in one session.
    one = createPostgresDatabase(t.testDb.url!, 1);
  });
  afterAll(async () => {
    await one.close();
    await t.close();
  });

  it('keeps one generic plan for the statement that finds the batch’s enrolled contacts', async () => {
    // A workspace the size the statement meets in use: thousands of contacts, a third of them
    // enrolled in an active campaign, and the planner's statistics up to date.
    await t.db.query(
      `WITH c AS (INSERT INTO contacts (workspace_id, email) SELECT $1, 'person' || i || '@example.com' FROM generate_series(1, 3000) AS i RETURNING id),
            k AS (INSERT INTO campaigns (workspace_id, name, status, draft_definition, current_version) VALUES ($1, 'Welcome', 'active', $2, 1) RETURNING id),
            v AS (INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition) SELECT $1, id, 1, $2 FROM k)
       INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, enrolled_at, updated_at)
       SELECT $1, k.id, 1, c.id, 'wait', now() + interval '1 day', now(), now() FROM c, k WHERE random() < 0.3`,
      [caller.workspaceId, JSON.stringify(DEFINITION)],
    );
    await t.db.query('ANALYZE contacts, campaigns, campaign_versions, enrollments');
    const contacts = [await insertContact(t.db, caller.workspaceId), await insertContact(t.db, caller.workspaceId)];
    for (let i = 0; i < 14; i += 1) {
      const batch = contacts.slice(0, 1 + (i % 2)).map((contactId) => ({ contactId, type: 'track' as const, name: 'viewed_page', properties: { i } }));
      await one.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, caller.workspaceId, batch, new Date()));
    }
    const plans = await one.query<{ generic_plans: string; custom_plans: string }>(
      `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%array_agg(DISTINCT contact_id)%'`,
    );
    expect(plans.rows).toHaveLength(1);
    // Named after its third run, planned for its values five times, then generic from the sixth on.
    expect(Number(plans.rows[0]!.custom_plans)).toBeLessThanOrEqual(5);
    expect(Number(plans.rows[0]!.generic_plans)).toBeGreaterThanOrEqual(5);
  });
});
