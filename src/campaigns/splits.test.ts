/**
 * A/B splits end to end on the database: a campaign run by the engine where variant B clicks at
 * 8 % and A at 4 % picks B at the first look after the minimum sample and time; results counted
 * from raw rows (machine opens and clicks excluded); a contact assigned before the decision keeps
 * its variant; picking and clearing by hand; bad input and other workspaces. The false-winner rate
 * of equal variants through the real evaluator is in split-null.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, joinByInvitation, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { recordEvents, NO_EVENT_SINK } from '../core/events.js';
import { ManualClock } from '../platform/clock.js';
import { engineOf } from '../../test/campaign-support.js';
import { seededRandom, insertContacts, publishCampaign } from '../../test/split-support.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock();
  t = await createTestApp({ clock });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

const HOUR = 3_600_000;

function splitDefinition(autoWinner: Record<string, unknown> | null, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    entryNodeId: 't',
    nodes: [
      { id: 't', type: 'trigger', config: { kind: 'manual' } },
      { id: 'ab', type: 'split', name: 'Subject test', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], ...(autoWinner ? { autoWinner } : {}) } },
      { id: 'mail_a', type: 'email', config: { subject: 'Plain subject', html: '<p>Hi {{ contact.first_name }}</p>' } },
      { id: 'mail_b', type: 'email', config: { subject: 'Curious subject', html: '<p>Hi {{ contact.first_name }}</p>' } },
      { id: 'end', type: 'exit', config: {} },
    ],
    edges: [
      { from: 't', to: 'ab' },
      { from: 'ab', to: 'mail_a', handle: 'a' },
      { from: 'ab', to: 'mail_b', handle: 'b' },
      { from: 'mail_a', to: 'end' },
      { from: 'mail_b', to: 'end' },
    ],
    settings: { reentry: { mode: 'always' }, ...settings },
  };
}

async function enroll(campaignId: string, contactIds: string[]): Promise<void> {
  for (let i = 0; i < contactIds.length; i += 1000) {
    const response = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: contactIds.slice(i, i + 1000) } });
    expect(response.statusCode, response.body).toBe(200);
  }
}

/** The variant each contact got at the split, from the journey rows, newest pass last. */
async function variantsOf(campaignId: string): Promise<Map<string, string[]>> {
  const rows = await t.db.query<{ contact_id: string; handle: string }>(
    `SELECT e.contact_id, s.handle FROM enrollment_steps s JOIN enrollments e ON e.id = s.enrollment_id WHERE s.campaign_id = $1 AND s.node_id = 'ab' ORDER BY s.id`,
    [campaignId],
  );
  const out = new Map<string, string[]>();
  for (const r of rows.rows) out.set(r.contact_id, [...(out.get(r.contact_id) ?? []), r.handle]);
  return out;
}

async function results(campaignId: string, as: Caller = caller) {
  const response = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/splits`, headers: as.bearer });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

describe('automatic winner', () => {
  it('picks B (8 % clicks) over A (4 %) at the first look after the minimum sample and time; later contacts go to B, earlier ones keep their variant', async () => {
    const campaignId = await publishCampaign(t.app, caller, 'Subject test', splitDefinition({ metric: 'click', minSamplePerVariant: 1000, minHours: 1 }));
    const contacts = await insertContacts(t.db, caller.workspaceId, 2400, 'ab-8');
    await enroll(campaignId, contacts);
    await engineOf(t).runDue();

    // Simulated engagement, seed 8 over contacts md5("ab-8:1…2400") (the same split every run): B's recipients click at 8 %, A's at 4 %; a mail scanner also
    // opens and clicks every 10th message (machineOpen: true), which must not count.
    const messages = await t.db.query<{ id: string; contact_id: string; key: string }>(
      `SELECT id, contact_id, idempotency_key AS key FROM messages WHERE workspace_id = $1 AND source_type = 'campaign' AND source_id = $2 ORDER BY array_position($3::uuid[], contact_id)`,
      [caller.workspaceId, campaignId, contacts],
    );
    expect(messages.rows).toHaveLength(2400);
    const random = seededRandom(8);
    const expected = { a: { assigned: 0, opened: 0, clicked: 0 }, b: { assigned: 0, opened: 0, clicked: 0 } };
    const events = [];
    for (const [i, m] of messages.rows.entries()) {
      const variant = m.key.endsWith(':node:mail_b') ? 'b' : 'a';
      expected[variant].assigned += 1;
      const opened = random() < 0.3;
      const clicked = random() < (variant === 'b' ? 0.08 : 0.04);
      if (opened) expected[variant].opened += 1;
      if (clicked) expected[variant].clicked += 1;
      if (opened) events.push({ contactId: m.contact_id, type: 'email' as const, name: 'opened', properties: { messageId: m.id, machineOpen: false } });
      if (clicked) events.push({ contactId: m.contact_id, type: 'email' as const, name: 'clicked', properties: { messageId: m.id, url: 'https://example.com/', machineOpen: false } });
      if (i % 10 === 0) {
        events.push({ contactId: m.contact_id, type: 'email' as const, name: 'opened', properties: { messageId: m.id, machineOpen: true } });
        events.push({ contactId: m.contact_id, type: 'email' as const, name: 'clicked', properties: { messageId: m.id, url: 'https://example.com/', machineOpen: true } });
      }
    }
    await recordEvents(t.db, NO_EVENT_SINK, caller.workspaceId, events, clock.now());
    expect(expected.a.assigned).toBeGreaterThanOrEqual(1000);
    expect(expected.b.assigned).toBeGreaterThanOrEqual(1000);

    // Counts from raw rows equal what the simulation produced; no sends yet (the sender did not run).
    const before = await results(campaignId);
    const split = before.splits[0];
    expect(split).toMatchObject({ nodeId: 'ab', name: 'Subject test', status: 'running', looks: 0, maxLooks: 4, winner: null });
    for (const v of split.variants as Array<{ id: 'a' | 'b'; assigned: number; opened: number; clicked: number; sends: number; rates: Record<'open' | 'click' | 'conversion', { rate: number; low: number; high: number }> }>) {
      expect({ assigned: v.assigned, opened: v.opened, clicked: v.clicked }).toEqual(expected[v.id]);
      expect(v.rates.click.rate).toBeCloseTo(expected[v.id].clicked / expected[v.id].assigned, 10);
      expect(v.rates.click.low).toBeLessThan(v.rates.click.rate);
      expect(v.rates.click.high).toBeGreaterThan(v.rates.click.rate);
    }

    // Before the minimum time (1 hour since the first assignment) no look is taken.
    clock.advance(30 * 60_000);
    await engineOf(t).runBatch();
    expect((await results(campaignId)).splits[0]).toMatchObject({ status: 'running', looks: 0 });

    // A contact assigned before the decision: which variant it got.
    const assignedBefore = await variantsOf(campaignId);
    const earlyA = contacts.find((c) => assignedBefore.get(c)?.[0] === 'a')!;

    clock.advance(HOUR);
    await engineOf(t).runBatch();
    const decided = (await results(campaignId)).splits[0];
    expect(decided).toMatchObject({ status: 'decided', looks: 1, winner: { variant: 'b', decidedBy: 'auto' } });
    const rateA = ((expected.a.clicked / expected.a.assigned) * 100).toFixed(1);
    const rateB = ((expected.b.clicked / expected.b.assigned) * 100).toFixed(1);
    expect(decided.winner.decision.summary).toMatch(new RegExp(`^Variant B won on click rate: ${rateB} % vs ${rateA} %, p (< 0\\.001|= 0\\.0\\d\\d), after 2,400 contacts$`));
    expect(decided.winner.decision.pValue).toBeLessThan(0.0125);
    console.log(`A/B simulation (seed 8): ${decided.winner.decision.summary}; A ${expected.a.clicked}/${expected.a.assigned}, B ${expected.b.clicked}/${expected.b.assigned}`);
    const audit = await t.db.query<{ actor_type: string; after: { summary: string; variant: string } }>(
      `SELECT actor_type, after FROM audit_log WHERE workspace_id = $1 AND resource_id = $2 AND action = 'campaign.split_winner'`,
      [caller.workspaceId, campaignId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'system', after: expect.objectContaining({ variant: 'b', summary: decided.winner.decision.summary }) }]);

    // Later contacts all go to B; the early A contact, entering again, keeps A.
    const later = await insertContacts(t.db, caller.workspaceId, 40);
    await enroll(campaignId, [...later, earlyA]);
    await engineOf(t).runDue();
    const after = await variantsOf(campaignId);
    expect(later.map((c) => after.get(c))).toEqual(later.map(() => ['b']));
    expect(after.get(earlyA)).toEqual(['a', 'a']);
    const kept = await t.db.query<{ detail: Record<string, unknown> }>(
      `SELECT s.detail FROM enrollment_steps s JOIN enrollments e ON e.id = s.enrollment_id WHERE s.campaign_id = $1 AND s.node_id = 'ab' AND e.contact_id = $2 ORDER BY s.id`,
      [campaignId, earlyA],
    );
    expect(kept.rows.map((r) => r.detail)).toEqual([{ variant: 'a' }, { variant: 'a', kept: true }]);

    // The decision is final: later ticks take no more looks.
    clock.advance(HOUR);
    await engineOf(t).runBatch();
    expect((await results(campaignId)).splits[0]).toMatchObject({ status: 'decided', looks: 1 });
    // 2,400 journeys through the engine: minutes on a loaded shared machine.
  }, 300_000);

  it('refuses a conversion test without a campaign goal, and takes conversions from goal exits', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'No goal', definition: splitDefinition({ metric: 'conversion', minSamplePerVariant: 100, minHours: 0 }) } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('CAMPAIGN_INVALID');
    expect(JSON.stringify(bad.json().error.details)).toContain('config.autoWinner.metric');
    const tooSmall = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Tiny', definition: splitDefinition({ metric: 'click', minSamplePerVariant: 5, minHours: 0 }) } });
    expect(tooSmall.statusCode).toBe(400);
    const ok = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Goal', definition: splitDefinition({ metric: 'conversion', minSamplePerVariant: 100, minHours: 0 }, { goal: { eventName: 'purchased' } }) } });
    expect(ok.statusCode, ok.body).toBe(201);
  });
});

describe('winner by hand', () => {
  it('picks and clears a winner, with the audit, and refuses bad input', async () => {
    const campaignId = await publishCampaign(t.app, caller, 'Manual', splitDefinition(null));
    const contacts = await insertContacts(t.db, caller.workspaceId, 60);
    await enroll(campaignId, contacts.slice(0, 30));
    await engineOf(t).runDue();
    expect((await results(campaignId)).splits[0]).toMatchObject({ status: 'off', autoWinner: null, winner: null });

    const url = `/api/campaigns/${campaignId}/splits/ab/winner`;
    const unknownVariant = await t.app.inject({ method: 'POST', url, headers: caller.bearer, payload: { variant: 'c' } });
    expect(unknownVariant.statusCode).toBe(400);
    expect(unknownVariant.json().error).toMatchObject({ code: 'SPLIT_VARIANT_UNKNOWN', details: { variants: ['a', 'b'] } });
    const unknownNode = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/splits/mail_a/winner`, headers: caller.bearer, payload: { variant: 'a' } });
    expect(unknownNode.statusCode).toBe(404);
    expect(unknownNode.json().error.code).toBe('SPLIT_NOT_FOUND');
    const extraField = await t.app.inject({ method: 'POST', url, headers: caller.bearer, payload: { variant: 'a', force: true } });
    expect(extraField.statusCode).toBe(400);
    expect(extraField.json().error.code).toBe('VALIDATION_FAILED');
    const badNodeId = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/splits/a%20b/winner`, headers: caller.bearer, payload: { variant: 'a' } });
    expect(badNodeId.statusCode).toBe(400);
    const nothingToClear = await t.app.inject({ method: 'DELETE', url, headers: caller.bearer });
    expect(nothingToClear.statusCode).toBe(409);
    expect(nothingToClear.json().error.code).toBe('SPLIT_NO_WINNER');

    const picked = await t.app.inject({ method: 'POST', url, headers: caller.session, payload: { variant: 'a' } });
    expect(picked.statusCode, picked.body).toBe(200);
    expect(picked.json()).toMatchObject({ status: 'decided', winner: { variant: 'a', decidedBy: 'manual', decision: { pValue: null, sample: 30 } } });
    expect(picked.json().winner.decision.summary).toMatch(/^Variant A picked by hand: click rate 0\.0 % vs 0\.0 %, after 30 contacts$/);

    await enroll(campaignId, contacts.slice(30));
    await engineOf(t).runDue();
    const assigned = await variantsOf(campaignId);
    expect(contacts.slice(30).map((c) => assigned.get(c))).toEqual(contacts.slice(30).map(() => ['a']));

    const cleared = await t.app.inject({ method: 'DELETE', url, headers: caller.session });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ status: 'cleared', winner: null });
    const actions = await t.db.query<{ action: string; actor_type: string }>(
      `SELECT action, actor_type FROM audit_log WHERE workspace_id = $1 AND resource_id = $2 AND action LIKE 'campaign.split%' ORDER BY id`,
      [caller.workspaceId, campaignId],
    );
    expect(actions.rows).toEqual([
      { action: 'campaign.split_winner', actor_type: 'user' },
      { action: 'campaign.split_winner_cleared', actor_type: 'user' },
    ]);
    // The activity log names the campaign and the split step of these entries, and of a journey's.
    const log = await t.app.inject({ method: 'GET', url: '/api/audit-log?entity=campaign&limit=50', headers: caller.bearer });
    expect(log.statusCode, log.body).toBe(200);
    const entries = (log.json() as { entries: Array<{ action: string; resourceId: string; campaign: unknown }> }).entries.filter((e) => e.resourceId === campaignId);
    const context = { id: campaignId, name: 'Manual', nodeId: 'ab', nodeName: 'Subject test' };
    expect(entries.filter((e) => e.action.startsWith('campaign.split')).map((e) => e.campaign)).toEqual([context, context]);
    expect(entries.find((e) => e.action === 'campaign.publish')!.campaign).toEqual({ ...context, nodeId: null, nodeName: null });
    const elsewhere = await t.app.inject({ method: 'GET', url: '/api/audit-log?entity=member', headers: caller.bearer });
    for (const e of elsewhere.json().entries as Array<{ campaign: unknown }>) expect(e.campaign).toBeNull();

    // After clearing, contacts are split by weight again (both variants appear among new ones).
    const more = await insertContacts(t.db, caller.workspaceId, 40);
    await enroll(campaignId, more);
    await engineOf(t).runDue();
    const again = await variantsOf(campaignId);
    expect(new Set(more.map((c) => again.get(c)![0]))).toEqual(new Set(['a', 'b']));

    // A journey's entry names its campaign too.
    const [late] = await insertContacts(t.db, caller.workspaceId, 1);
    await enroll(campaignId, [late!]);
    const enrollment = await t.db.query<{ id: string }>(`SELECT id FROM enrollments WHERE campaign_id = $1 AND contact_id = $2`, [campaignId, late]);
    const paused = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enrollments/${enrollment.rows[0]!.id}/pause`, headers: caller.bearer });
    expect(paused.statusCode, paused.body).toBe(204);
    const journey = await t.app.inject({ method: 'GET', url: '/api/audit-log?entity=campaign.enrollment', headers: caller.bearer });
    expect(journey.json().entries[0]).toMatchObject({ action: 'campaign.enrollment.pause', resourceType: 'enrollment', campaign: { id: campaignId, name: 'Manual', nodeId: null, nodeName: null } });
  });

  it('answers 404 for another workspace and 403 to a viewer changing the winner', async () => {
    const campaignId = await publishCampaign(t.app, caller, 'Private', splitDefinition(null));
    const stranger = await signUp(t.app, 'Stranger');
    const read = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/splits`, headers: stranger.bearer });
    expect(read.statusCode).toBe(404);
    expect(read.json().error.code).toBe('NOT_FOUND');
    const write = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/splits/ab/winner`, headers: stranger.bearer, payload: { variant: 'a' } });
    expect(write.statusCode).toBe(404);
    const clear = await t.app.inject({ method: 'DELETE', url: `/api/campaigns/${campaignId}/splits/ab/winner`, headers: stranger.bearer });
    expect(clear.statusCode).toBe(404);

    const viewer = await joinByInvitation(t.app, t.db, caller, { email: `viewer-${Date.now()}@example.com`, role: 'viewer' });
    expect((await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/splits`, headers: viewer.session })).statusCode).toBe(200);
    const refused = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/splits/ab/winner`, headers: viewer.session, payload: { variant: 'a' } });
    expect(refused.statusCode).toBe(403);

    // A draft (never published) has no splits to report yet.
    const draft = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Draft', definition: splitDefinition(null) } });
    expect((await results(draft.json().campaign.id)).splits).toEqual([]);
  });
});
