import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { dripDefinition } from '../../test/campaign-support.js';

let t: TestApp;
let caller: Caller;
beforeAll(async () => {
  t = await createTestApp();
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

describe('campaign routes', () => {
  it('creates, lists, reads, updates and publishes versions', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Welcome', definition: dripDefinition() } });
    expect(created.statusCode).toBe(201);
    const campaign = created.json().campaign;
    expect(campaign).toMatchObject({ name: 'Welcome', status: 'draft', currentVersion: null });

    const list = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: caller.bearer });
    expect(list.json().campaigns.map((c: { id: string }) => c.id)).toContain(campaign.id);

    const v1 = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign.id}/publish`, headers: caller.bearer });
    expect(v1.json().campaign).toMatchObject({ status: 'active', currentVersion: 1 });

    const changed = dripDefinition() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    changed.nodes[1]!.config.subject = 'Hello again';
    const put = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${campaign.id}`, headers: caller.bearer, payload: { name: 'Welcome 2', definition: changed } });
    expect(put.statusCode).toBe(200);
    expect(put.json().campaign.name).toBe('Welcome 2');
    const v2 = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign.id}/publish`, headers: caller.bearer });
    expect(v2.json().campaign.currentVersion).toBe(2);

    const detail = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaign.id}`, headers: caller.bearer });
    expect(detail.json().definition.nodes[1].config.subject).toBe('Hello again');
    expect(detail.json().metrics).toEqual({ nodes: {}, emails: {}, enrollments: { active: 0, paused: 0, completed: 0, exited: 0, failed: 0 }, conversions: 0 });

    // Published versions are immutable in the database itself.
    await expect(t.db.query(`UPDATE campaign_versions SET definition = '{}' WHERE campaign_id = $1`, [campaign.id])).rejects.toThrow(/immutable/);
  });

  it('answers 400 CAMPAIGN_INVALID at create and publish, and saves a draft with its problems', async () => {
    const bad = dripDefinition() as { nodes: Array<Record<string, unknown>> };
    bad.nodes.push({ id: 'lost', type: 'exit', config: {} });
    bad.nodes[1] = { id: 'welcome', type: 'email', config: { subject: '{{ nope }}', html: '' } };
    const response = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Bad', definition: bad } });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('CAMPAIGN_INVALID');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'lost' }), expect.objectContaining({ nodeId: 'welcome', field: 'config.html' })]));

    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Good', definition: dripDefinition() } });
    const id = created.json().campaign.id;
    // A draft is saved with its problems; publishing is what requires none.
    const put = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { definition: bad } });
    expect(put.statusCode).toBe(200);
    expect(put.json().problems).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'lost', code: 'node_unreachable' }), expect.objectContaining({ nodeId: 'welcome', field: 'config.html' })]));
    const detail = await t.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: caller.bearer });
    expect(detail.json().definition).toEqual(bad);
    expect(detail.json().problems).toEqual(put.json().problems);
    const publish = await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
    expect([publish.statusCode, publish.json().error.code]).toEqual([400, 'CAMPAIGN_INVALID']);
    expect(publish.json().error.message).toMatch(/^The campaign has \d+ problems to fix before it can go live\./);
    expect(publish.json().error.details).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'lost', field: 'id', code: 'node_unreachable', message: expect.stringContaining('No path from the trigger') })]));

    // Something that cannot be drawn again is not stored.
    const garbage = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { definition: { nodes: 'many' } } });
    expect([garbage.statusCode, garbage.json().error.code]).toEqual([400, 'CAMPAIGN_INVALID']);
  });

  it('refuses a save made from an older draft revision with 409 CAMPAIGN_EDIT_CONFLICT', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Shared', definition: dripDefinition() } });
    const { id, draftRevision } = created.json().campaign;
    const first = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { definition: dripDefinition(), draftRevision } });
    expect([first.statusCode, first.json().campaign.draftRevision, first.json().problems]).toEqual([200, draftRevision + 1, []]);
    const stale = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { name: 'Mine', definition: dripDefinition(), draftRevision } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: 'CAMPAIGN_EDIT_CONFLICT', details: { draftRevision: draftRevision + 1 } });
    expect((await t.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: caller.bearer })).json().campaign.name).toBe('Shared');
    // Keeping mine: save again naming the revision now stored.
    const overwrite = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { name: 'Mine', definition: dripDefinition(), draftRevision: draftRevision + 1 } });
    expect([overwrite.statusCode, overwrite.json().campaign.name]).toEqual([200, 'Mine']);
  });

  it('serves the definition schema, hides other workspaces’ campaigns and checks permissions', async () => {
    const schema = await t.app.inject({ method: 'GET', url: '/api/campaigns/schema', headers: caller.bearer });
    expect(schema.statusCode).toBe(200);
    expect(schema.json().definition.properties.nodes).toBeDefined();
    expect(Object.keys(schema.json().nodeConfigs)).toEqual(['trigger', 'email', 'wait', 'condition', 'split', 'action', 'exit']);

    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Mine', definition: dripDefinition() } });
    const other = await signUp(t.app);
    const read = await t.app.inject({ method: 'GET', url: `/api/campaigns/${created.json().campaign.id}`, headers: other.bearer });
    expect(read.statusCode).toBe(404);
    const list = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: other.bearer });
    expect(list.json().campaigns).toEqual([]);

    const viewerKey = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'v', role: 'viewer' } });
    const viewer = { authorization: `Bearer ${viewerKey.json().key}` };
    const denied = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: viewer, payload: { name: 'X', definition: dripDefinition() } });
    expect(denied.statusCode).toBe(403);
  });
});
