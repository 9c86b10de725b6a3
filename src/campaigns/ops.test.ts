import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { DAY, dripDefinition, engineOf } from '../../test/campaign-support.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
let other: Caller;
beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
  other = await signUp(t.app, 'Other');
});
afterAll(async () => {
  await t.close();
});

async function contact(email: string, tags: string[] = [], score?: number): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email, tags } });
  expect(response.statusCode, response.body).toBe(201);
  const id = response.json().id as string;
  if (score !== undefined) await t.db.query('UPDATE contacts SET score = $2 WHERE id = $1', [id, score]);
  return id;
}

async function segment(name: string, tag: string): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/segments', headers: caller.bearer, payload: { name, kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag }] } } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

async function published(definition: Record<string, unknown> = dripDefinition(), name = 'Drip'): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name, definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  const publish = await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
  expect(publish.statusCode, publish.body).toBe(200);
  return id;
}

const post = (url: string, payload: unknown, who: Caller = caller) => t.app.inject({ method: 'POST', url, headers: who.bearer, payload: payload as Record<string, unknown> });
const get = (url: string, who: Caller = caller) => t.app.inject({ method: 'GET', url, headers: who.bearer });

describe('campaign operations', () => {
  it('duplicates a campaign as a draft, audited; other workspaces get 404', async () => {
    const id = await published();
    const copy = await post(`/api/campaigns/${id}/duplicate`, {});
    expect(copy.statusCode, copy.body).toBe(201);
    expect(copy.json().campaign).toMatchObject({ name: 'Drip (copy)', status: 'draft', currentVersion: null });
    const detail = await get(`/api/campaigns/${copy.json().campaign.id}`);
    expect(detail.json().definition).toEqual(dripDefinition());
    const named = await post(`/api/campaigns/${id}/duplicate`, { name: 'Drip B' });
    expect(named.json().campaign.name).toBe('Drip B');
    const audit = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'campaign.duplicate' AND after->>'from' = $1`, [id]);
    expect(audit.rows[0]!.n).toBe(2);

    expect((await post(`/api/campaigns/${id}/duplicate`, {}, other)).statusCode).toBe(404);
    const bad = await post(`/api/campaigns/${id}/duplicate`, { name: '' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('previews a publish: changes in words and the running enrollments per version', async () => {
    const id = await published();
    const a = await contact('diff-a@example.com');
    expect((await post(`/api/campaigns/${id}/enroll`, { contactIds: [a] })).statusCode).toBe(200);
    await engineOf(t).runDue(); // welcome sent; now waiting at 'pause'
    const changed = dripDefinition() as { nodes: Array<Record<string, unknown> & { config: Record<string, unknown> }>; edges: unknown[] };
    changed.nodes[1]!.config.subject = 'Welcome!';
    changed.nodes[2]!.config.seconds = 2 * 86_400;
    changed.nodes[2]!.notes = 'Shorter per the Q3 test';
    changed.nodes.splice(3, 1);
    changed.edges = [
      { from: 'start', to: 'welcome' },
      { from: 'welcome', to: 'pause' },
      { from: 'pause', to: 'end' },
    ];
    const put = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: caller.bearer, payload: { definition: changed } });
    expect(put.statusCode, put.body).toBe(200);

    const preview = await get(`/api/campaigns/${id}/publish-preview`);
    expect(preview.statusCode, preview.body).toBe(200);
    const body = preview.json();
    expect(body).toMatchObject({ currentVersion: 1, nextVersion: 2, edgesChanged: true, settingsChanges: [], inFlight: [{ version: 1, running: 1, movable: 1 }] });
    expect(body.changes).toEqual([
      { nodeId: 'welcome', name: 'welcome', type: 'email', change: 'changed', summary: 'Subject changed' },
      { nodeId: 'pause', name: 'pause', type: 'wait', change: 'changed', summary: 'Waits 2 days (was 3 days); notes changed' },
      { nodeId: 'followup', name: 'followup', type: 'email', change: 'removed', summary: 'The email step is removed' },
    ]);
    expect((await get(`/api/campaigns/${id}/publish-preview`, other)).statusCode).toBe(404);
    expect((await get(`/api/campaigns/not-a-uuid/publish-preview`)).statusCode).toBe(400);
  });

  it('enrolls a segment or a filtered list, counting first; refuses a bad audience', async () => {
    const id = await published();
    const vips = [await contact('vip-1@example.com', ['vip'], 10), await contact('vip-2@example.com', ['vip'], 80)];
    await contact('plain@example.com', ['plain']);
    const segmentId = await segment('VIPs', 'vip');
    // vip-1 is already in the campaign: matched 2, eligible 1.
    expect((await post(`/api/campaigns/${id}/enroll`, { contactIds: [vips[0]] })).statusCode).toBe(200);

    const count = await post(`/api/campaigns/${id}/enroll-audience`, { segmentId, dryRun: true });
    expect(count.statusCode, count.body).toBe(200);
    expect(count.json()).toEqual({ matched: 2, eligible: 1, enrolled: 0, dryRun: true });
    expect((await t.db.query('SELECT 1 FROM enrollments WHERE campaign_id = $1', [id])).rows).toHaveLength(1);

    const done = await post(`/api/campaigns/${id}/enroll-audience`, { segmentId });
    expect(done.json()).toEqual({ matched: 2, eligible: 1, enrolled: 1, dryRun: false });

    const filtered = await post(`/api/campaigns/${id}/enroll-audience`, { filter: { tag: 'plain' }, dryRun: true });
    expect(filtered.json()).toMatchObject({ matched: 1, eligible: 1 });
    const scored = await post(`/api/campaigns/${id}/enroll-audience`, { filter: { tag: 'vip', minScore: 50 }, dryRun: true });
    expect(scored.json()).toMatchObject({ matched: 1, eligible: 0 });

    const both = await post(`/api/campaigns/${id}/enroll-audience`, { segmentId, filter: { tag: 'vip' } });
    expect(both.statusCode).toBe(400);
    expect(both.json().error.code).toBe('VALIDATION_FAILED');
    const neither = await post(`/api/campaigns/${id}/enroll-audience`, { dryRun: true });
    expect(neither.json().error.code).toBe('VALIDATION_FAILED');
    const emptyFilter = await post(`/api/campaigns/${id}/enroll-audience`, { filter: {} });
    expect(emptyFilter.statusCode).toBe(400);
    const unknownSegment = await post(`/api/campaigns/${id}/enroll-audience`, { segmentId: '00000000-0000-4000-8000-000000000000' });
    expect(unknownSegment.statusCode).toBe(404);
    expect((await post(`/api/campaigns/${id}/enroll-audience`, { segmentId }, other)).statusCode).toBe(404);

    const paused = await post(`/api/campaigns/${id}/pause`, {});
    expect(paused.statusCode).toBe(200);
    const refused = await post(`/api/campaigns/${id}/enroll-audience`, { segmentId, dryRun: true });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('CAMPAIGN_NOT_ACTIVE');
  });

  it('lists enrollments by contact, status and node, and exits them in bulk', async () => {
    const id = await published();
    const ids = [await contact('exit-1@example.com'), await contact('exit-2@example.com'), await contact('exit-3@example.com')];
    expect((await post(`/api/campaigns/${id}/enroll`, { contactIds: ids })).statusCode).toBe(200);
    await engineOf(t).runDue();

    const all = await get(`/api/campaigns/${id}/enrollments`);
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().total).toBe(3);
    expect(all.json().enrollments[0]).toMatchObject({ status: 'active', currentNodeId: 'pause', version: 1 });
    const one = await get(`/api/campaigns/${id}/enrollments?contactId=${ids[1]}`);
    expect(one.json().enrollments).toHaveLength(1);
    expect(one.json().enrollments[0]).toMatchObject({ contactId: ids[1], contactEmail: 'exit-2@example.com', contactName: null });
    const enrollmentId = one.json().enrollments[0].id as string;

    const chosen = await post(`/api/campaigns/${id}/enrollments/exit`, { enrollmentIds: [enrollmentId], reason: 'asked to stop' });
    expect(chosen.json()).toEqual({ exited: 1 });
    const journey = await get(`/api/campaigns/${id}/enrollments/${enrollmentId}`);
    expect(journey.json().enrollment).toMatchObject({ status: 'exited', exitReason: 'asked to stop' });
    expect(journey.json().steps.at(-1)).toMatchObject({ nodeId: 'pause', outcome: 'skipped', detail: { exitedBy: 'operator', reason: 'asked to stop' } });

    const atNode = await post(`/api/campaigns/${id}/enrollments/exit`, { nodeId: 'pause' });
    expect(atNode.json()).toEqual({ exited: 2 });
    expect((await get(`/api/campaigns/${id}/enrollments?status=exited`)).json().total).toBe(3);
    expect((await get(`/api/campaigns/${id}/enrollments?nodeId=pause&status=active`)).json().total).toBe(0);
    expect((await post(`/api/campaigns/${id}/enrollments/exit`, { all: true })).json()).toEqual({ exited: 0 });

    // Exited enrollments are not picked up again by the engine.
    clock.advance(4 * DAY);
    await engineOf(t).runDue();
    expect((await t.db.query(`SELECT 1 FROM enrollments WHERE campaign_id = $1 AND status <> 'exited'`, [id])).rows).toHaveLength(0);

    const two = await post(`/api/campaigns/${id}/enrollments/exit`, { all: true, nodeId: 'pause' });
    expect(two.statusCode).toBe(400);
    expect(two.json().error.code).toBe('VALIDATION_FAILED');
    expect((await post(`/api/campaigns/${id}/enrollments/exit`, {})).statusCode).toBe(400);
    expect((await post(`/api/campaigns/${id}/enrollments/exit`, { all: true }, other)).statusCode).toBe(404);
    expect((await get(`/api/campaigns/${id}/enrollments`, other)).statusCode).toBe(404);
    expect((await get(`/api/campaigns/${id}/enrollments?status=gone`)).statusCode).toBe(400);
    const audit = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'campaign.enrollments.exit' AND resource_id = $1`, [id]);
    expect(audit.rows[0]!.n).toBe(3);
  });

  it('lists scheduled broadcasts and cancels one so it never runs', async () => {
    await contact('bc-1@example.com', ['news']);
    const segmentId = await segment('News', 'news');
    const at = new Date(clock.now().getTime() + DAY).toISOString();
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'broadcast', segmentId, at } },
        { id: 'mail', type: 'email', config: { subject: 'News', html: '<p>Hello</p>' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'mail' },
        { from: 'mail', to: 'x' },
      ],
    };
    const id = await published(definition, 'Newsletter');
    const list = await get('/api/campaigns/broadcasts?status=scheduled');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().timeZone).toBe('UTC');
    expect(list.json().broadcasts).toEqual([
      expect.objectContaining({ campaignId: id, campaignName: 'Newsletter', version: 1, segmentId, segmentName: 'News', segmentSize: 1, runAt: at, status: 'scheduled', enrolled: null }),
    ]);
    expect((await get('/api/campaigns/broadcasts', other)).json().broadcasts).toEqual([]);
    expect((await post(`/api/campaigns/${id}/broadcasts/1/cancel`, {}, other)).statusCode).toBe(404);
    expect((await post(`/api/campaigns/${id}/broadcasts/9/cancel`, {})).statusCode).toBe(404);
    expect((await post(`/api/campaigns/${id}/broadcasts/zero/cancel`, {})).statusCode).toBe(400);
    expect((await get('/api/campaigns/broadcasts?status=sent')).statusCode).toBe(400);

    const cancelled = await post(`/api/campaigns/${id}/broadcasts/1/cancel`, {});
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().broadcast).toMatchObject({ status: 'cancelled', finishedAt: clock.now().toISOString() });
    const again = await post(`/api/campaigns/${id}/broadcasts/1/cancel`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'BROADCAST_NOT_SCHEDULED', details: { status: 'cancelled' } });

    clock.advance(2 * DAY);
    await engineOf(t).runDue();
    expect((await t.db.query('SELECT 1 FROM enrollments WHERE campaign_id = $1', [id])).rows).toHaveLength(0);
    expect((await get(`/api/campaigns/broadcasts?campaignId=${id}`)).json().broadcasts[0].status).toBe('cancelled');
  });

  it('accepts notes on nodes and a templateId on email nodes; refuses notes that are not text', async () => {
    const definition = dripDefinition() as { nodes: Array<Record<string, unknown>> };
    definition.nodes[1]!.notes = 'Copy from the brand team';
    (definition.nodes[1]!.config as Record<string, unknown>).templateId = '00000000-0000-4000-8000-000000000001';
    const ok = await post('/api/campaigns', { name: 'Notes', definition });
    expect(ok.statusCode, ok.body).toBe(201);
    definition.nodes[1]!.notes = 42;
    const bad = await post('/api/campaigns', { name: 'Notes', definition });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'welcome', field: 'notes' })]));
  });
});
