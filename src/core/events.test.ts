import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { insertContact } from '../../test/campaign-support.js';
import { recordEvents, type EventSink, type RecordedEvent } from './events.js';

describe('recordEvents', () => {
  let t: TestApp;
  let caller: Caller;
  beforeAll(async () => {
    t = await createTestApp();
    caller = await signUp(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores a batch, drops repeated messageIds, and hands the sink exactly what it stored', async () => {
    const contactId = await insertContact(t.db, caller.workspaceId);
    const seen: RecordedEvent[] = [];
    const sink: EventSink = { onEvents: async (_q, events) => void seen.push(...events) };
    const at = new Date(Date.UTC(2026, 2, 1));
    const first = await t.db.transaction((tx) =>
      recordEvents(tx, sink, caller.workspaceId, [
        { contactId, type: 'track', name: 'A', properties: { n: 1 }, messageId: 'm1', occurredAt: at },
        { contactId, type: 'track', name: 'B', messageId: 'm1' },
        { contactId: null, type: 'page', name: 'page', anonymousId: 'anon' },
      ], at),
    );
    expect(first.map((e) => e.name)).toEqual(['A', 'page']);
    const again = await t.db.transaction((tx) => recordEvents(tx, sink, caller.workspaceId, [{ contactId, type: 'track', name: 'C', messageId: 'm1' }], at));
    expect(again).toEqual([]);
    expect(seen).toEqual(first);
    const stored = await t.db.query<{ id: string; name: string; properties: Record<string, unknown>; occurred_at: Date }>(`SELECT id, name, properties, occurred_at FROM events WHERE workspace_id = $1 ORDER BY name`, [caller.workspaceId]);
    expect(stored.rows.map((r) => ({ id: r.id, name: r.name, properties: r.properties, at: new Date(r.occurred_at).getTime() }))).toEqual([
      { id: first[0]!.id, name: 'A', properties: { n: 1 }, at: at.getTime() },
      { id: first[1]!.id, name: 'page', properties: {}, at: at.getTime() },
    ]);
  });
});
