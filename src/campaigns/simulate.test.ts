import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { dripDefinition, insertContact } from '../../test/campaign-support.js';

let t: TestApp;
let caller: Caller;
beforeAll(async () => {
  t = await createTestApp({ clock: new ManualClock() });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function counts() {
  const r = await t.db.query<{ campaigns: number; messages: number; enrollments: number; contacts: number }>(
    `SELECT (SELECT count(*)::int FROM campaigns) AS campaigns, (SELECT count(*)::int FROM messages) AS messages,
            (SELECT count(*)::int FROM enrollments) AS enrollments, (SELECT count(*)::int FROM contacts) AS contacts`,
  );
  return r.rows[0]!;
}

describe('simulation', () => {
  it('fast-forwards a hypothetical contact through waits and reports path, emails and waits, storing nothing', async () => {
    const before = await counts();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns/simulate',
      headers: caller.bearer,
      payload: { definition: dripDefinition(), contact: { firstName: 'Sim', email: 'sim@example.com' } },
    });
    expect(response.statusCode, response.body).toBe(200);
    const result = response.json();
    expect(result.status).toBe('completed');
    expect(result.path.map((s: { nodeId: string }) => s.nodeId)).toEqual(['start', 'welcome', 'pause', 'followup', 'end']);
    expect(result.emails.map((e: { subject: string }) => e.subject)).toEqual(['Welcome Sim', 'Still there?']);
    expect(result.waits).toHaveLength(1);
    expect(new Date(result.waits[0].until).getTime() - new Date(result.waits[0].from).getTime()).toBe(3 * 86_400_000);
    expect(await counts()).toEqual(before);
  });

  it('applies supplied events: an event wait released before its timeout, a real contact left untouched', async () => {
    const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Real', tags: ['a'] });
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: 'simulated' } },
        { id: 'w', type: 'wait', config: { kind: 'event', name: 'order_completed', timeoutSeconds: 86_400, correlationKey: 'cart' } },
        { id: 'bought', type: 'exit', config: { reason: 'bought' } },
        { id: 'late', type: 'exit', config: { reason: 'timeout' } },
      ],
      edges: [
        { from: 't', to: 'tag' },
        { from: 'tag', to: 'w' },
        { from: 'w', to: 'bought' },
        { from: 'w', to: 'late', handle: 'timeout' },
      ],
    };
    const bought = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns/simulate',
      headers: caller.bearer,
      payload: { definition, contactId, entryEvent: { name: 'cart_abandoned', properties: { cart: 'k1' } }, events: [{ afterSeconds: 3600, name: 'order_completed', properties: { cart: 'k1' } }] },
    });
    expect(bought.json()).toMatchObject({ status: 'completed', exitReason: 'bought' });
    const late = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns/simulate',
      headers: caller.bearer,
      payload: { definition, contactId, entryEvent: { name: 'cart_abandoned', properties: { cart: 'k1' } }, events: [{ afterSeconds: 3600, name: 'order_completed', properties: { cart: 'other' } }] },
    });
    expect(late.json()).toMatchObject({ status: 'completed', exitReason: 'timeout' });
    const contact = await t.db.query<{ tags: string[] }>('SELECT tags FROM contacts WHERE id = $1', [contactId]);
    expect(contact.rows[0]!.tags).toEqual(['a']);
  });

  it('refuses times and versions beyond what can be stored with 400, not 500', async () => {
    const far = await t.app.inject({ method: 'POST', url: '/api/campaigns/simulate', headers: caller.bearer, payload: { definition: dripDefinition(), contact: { email: 'far@example.com' }, events: [{ afterSeconds: 1e308, name: 'x' }] } });
    expect(far.statusCode).toBe(400);
    expect(far.json().error.code).toBe('VALIDATION_FAILED');
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'c', type: 'condition', config: { branches: [{ id: 'b', match: { operator: 'and', rules: [{ kind: 'event', name: 'x', withinSeconds: 1e308, present: true }] } }] } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [{ from: 't', to: 'c' }, { from: 'c', to: 'x', handle: 'b' }, { from: 'c', to: 'x', handle: 'default' }],
    };
    const window = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Window', definition } });
    expect(window.statusCode).toBe(400);
    expect(window.json().error.code).toBe('CAMPAIGN_INVALID');
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Versions', definition: dripDefinition() } });
    const migrate = await t.app.inject({ method: 'POST', url: `/api/campaigns/${created.json().campaign.id}/migrate`, headers: caller.bearer, payload: { fromVersion: 1e308 } });
    expect(migrate.statusCode).toBe(400);
    expect(migrate.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('simulates a saved draft, and refuses an invalid definition with CAMPAIGN_INVALID', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Draft', definition: dripDefinition() } });
    const draft = await t.app.inject({ method: 'POST', url: `/api/campaigns/${created.json().campaign.id}/simulate`, headers: caller.bearer, payload: { contact: { firstName: 'D' } } });
    expect(draft.json().emails[0].subject).toBe('Welcome D');
    // The snake_case spelling the simulation took before is still accepted.
    const old = await t.app.inject({ method: 'POST', url: `/api/campaigns/${created.json().campaign.id}/simulate`, headers: caller.bearer, payload: { contact: { first_name: 'Old' } } });
    expect(old.statusCode, old.body).toBe(200);
    expect(old.json().emails[0].subject).toBe('Welcome Old');
    // The builder's draft as shown (an edit not saved yet) is what runs when it is sent.
    const edited = dripDefinition() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    edited.nodes.find((n) => n.id === 'welcome')!.config.subject = 'Edited {{ contact.first_name }}';
    const unsaved = await t.app.inject({ method: 'POST', url: `/api/campaigns/${created.json().campaign.id}/simulate`, headers: caller.bearer, payload: { definition: edited, contact: { firstName: 'U' } } });
    expect(unsaved.statusCode, unsaved.body).toBe(200);
    expect(unsaved.json().emails[0].subject).toBe('Edited U');
    const brokenDraft = await t.app.inject({ method: 'POST', url: `/api/campaigns/${created.json().campaign.id}/simulate`, headers: caller.bearer, payload: { definition: { entryNodeId: 'x', nodes: [], edges: [] } } });
    expect(brokenDraft.json().error.code).toBe('CAMPAIGN_INVALID');
    const invalid = await t.app.inject({ method: 'POST', url: '/api/campaigns/simulate', headers: caller.bearer, payload: { definition: { entryNodeId: 'x', nodes: [], edges: [] } } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('CAMPAIGN_INVALID');
  });
});
