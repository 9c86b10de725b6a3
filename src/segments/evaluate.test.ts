import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertContact } from '../../test/campaign-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { evaluateSegmentsForContacts } from './evaluate.js';
import { reevaluateContacts } from './segments.js';

let t: TestApp;
let caller: Caller;
beforeAll(async () => {
  t = await createTestApp();
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function createSegment(name: string, definition: Record<string, unknown>): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name, kind: 'dynamic', definition } });
  expect(created.statusCode, created.body).toBe(201);
  return created.json().id as string;
}
async function membersOf(segmentId: string): Promise<string[]> {
  const result = await t.db.query<{ contact_id: string }>('SELECT contact_id FROM segment_members WHERE segment_id = $1 ORDER BY contact_id', [segmentId]);
  return result.rows.map((r) => r.contact_id);
}

describe('evaluating every dynamic segment of a workspace for some contacts, in one statement', () => {
  it('enters and exits each segment for exactly the given contacts, reported segment by segment (entries, then exits)', async () => {
    const ws = caller.workspaceId;
    const a = await insertContact(t.db, ws, { tags: ['vip'] });
    const b = await insertContact(t.db, ws);
    const c = await insertContact(t.db, ws, { tags: ['vip'] });
    const d = await insertContact(t.db, ws);
    const vip = await createSegment('VIP', { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'vip' }] });
    const scored = await createSegment('Scored', { match: 'all', conditions: [{ kind: 'score', op: 'gte', value: 50 }] });
    const buyers = await createSegment('Buyers', { match: 'all', conditions: [{ kind: 'event', type: 'track', name: 'Order Completed' }] });
    const list = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name: 'List', kind: 'static' } });
    const listId = list.json().id as string;
    await t.db.query(`INSERT INTO segment_members (segment_id, contact_id, workspace_id, added_at) VALUES ($1, $2, $3, now())`, [listId, b, ws]);
    expect([await membersOf(vip), await membersOf(scored), await membersOf(buyers)]).toEqual([[a, c].sort(), [], []]);

    // Changed behind the processor's back (no event queued): only a re-evaluation notices.
    await t.db.query(`UPDATE contacts SET tags = '{}' WHERE id = $1`, [a]);
    await t.db.query(`UPDATE contacts SET tags = '{vip}', score = 70 WHERE id = $1`, [b]);
    await t.db.query(`UPDATE contacts SET score = 90 WHERE id = $1`, [d]);
    await t.db.query(`INSERT INTO events (workspace_id, contact_id, type, name, properties, occurred_at, received_at) VALUES ($1, $2, 'track', 'Order Completed', '{}', now(), now())`, [ws, c]);

    const changes = await t.db.transaction((tx) => reevaluateContacts(tx, ws, [c, b, a, b], new Date()));
    const expected: Record<string, Array<{ name: string; contactId: string }>> = {
      [vip]: [{ name: 'segment_entered', contactId: b }, { name: 'segment_exited', contactId: a }],
      [scored]: [{ name: 'segment_entered', contactId: b }],
      [buyers]: [{ name: 'segment_entered', contactId: c }],
    };
    const names: Record<string, string> = { [vip]: 'VIP', [scored]: 'Scored', [buyers]: 'Buyers' };
    expect(changes).toEqual(
      [vip, scored, buyers].sort().flatMap((id) => expected[id]!.map((e) => ({ contactId: e.contactId, type: 'system', name: e.name, properties: { segmentId: id, segmentName: names[id] } }))),
    );
    // d was not given: it stays out of Scored although it matches now; the static list is untouched.
    expect([await membersOf(vip), await membersOf(scored), await membersOf(buyers), await membersOf(listId)]).toEqual([[b, c].sort(), [b], [c], [b]]);
    // Evaluated again, nothing changes.
    expect(await t.db.transaction((tx) => reevaluateContacts(tx, ws, [a, b, c], new Date()))).toEqual([]);
  });

  it('answers an empty change list for each segment when there are no segments or no contacts', async () => {
    const none = await evaluateSegmentsForContacts(t.db, caller.workspaceId, [], ['00000000-0000-0000-0000-000000000000'], new Date());
    expect(none.size).toBe(0);
    const nobody = await evaluateSegmentsForContacts(t.db, caller.workspaceId, [{ id: '00000000-0000-0000-0000-000000000001', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'vip' }] } }], [], new Date());
    expect([...nobody.entries()]).toEqual([['00000000-0000-0000-0000-000000000001', []]]);
  });
});
