import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '../core/events.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf } from '../../test/campaign-support.js';
import { RulesReplyClassifier } from './classifier.js';
import type { Engagement } from '../core/contact.js';
import { bandOf, computeScore, createLeadScoring } from './scoring.js';

describe('computeScore', () => {
  it('always sums its parts to the score, each part within its maximum', () => {
    const statuses = ['prospect', 'lead', 'customer'] as const;
    const titles = [null, 'CEO', 'VP Sales', 'Director of Marketing', 'Engineering Manager', 'Developer'];
    let checked = 0;
    for (const status of statuses) {
      for (const jobTitle of titles) {
        for (let n = 0; n < 30; n += 1) {
          const e: Engagement = { opens: n * 3, clicks: n, replies: Math.floor(n / 3), activity: n * 2, sentimentSum: n % 2 ? -0.5 * Math.floor(n / 3) : 0.7 * Math.floor(n / 3), sentimentCount: Math.floor(n / 3), maxIntent: (n % 6) / 5, intentReason: 'x' };
          const { score, breakdown } = computeScore({ jobTitle, status }, e);
          expect(breakdown.map((p) => p.part)).toEqual(['engagement', 'sentiment', 'intent', 'role', 'status']);
          expect(breakdown.reduce((s, p) => s + p.points, 0)).toBe(score);
          expect(breakdown.map((p) => p.max)).toEqual([40, 20, 20, 10, 10]);
          for (const part of breakdown) {
            expect(part.points).toBeGreaterThanOrEqual(0);
            expect(part.points).toBeLessThanOrEqual(part.max);
            expect(part.explanation.length).toBeGreaterThan(0);
          }
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(100);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(540);
  });

  it('bands: cold below 60, warm 60–79, hot 80–100', () => {
    expect([0, 59, 60, 79, 80, 100].map(bandOf)).toEqual(['cold', 'cold', 'warm', 'warm', 'hot', 'hot']);
  });

  it('scores the role from the job title and the status progression', () => {
    const none: Engagement = { opens: 0, clicks: 0, replies: 0, activity: 0, sentimentSum: 0, sentimentCount: 0, maxIntent: 0, intentReason: null };
    expect(computeScore({ jobTitle: 'Co-Founder & CEO', status: 'customer' }, none).score).toBe(20);
    expect(computeScore({ jobTitle: 'Head of Growth', status: 'lead' }, none).score).toBe(13);
    expect(computeScore({ jobTitle: null, status: 'prospect' }, none).score).toBe(0);
  });
});

describe('RulesReplyClassifier', () => {
  const classifier = new RulesReplyClassifier();
  it('reads positive replies with buying intent', async () => {
    const c = await classifier.classify('Thanks, this looks great! Could you send pricing for 20 seats?');
    expect(c.sentiment).toBeGreaterThan(0.5);
    expect(c.intent).toBe(0.8);
    expect(c.reason).toBe('asked about pricing');
  });
  it('reads negative replies as negative with no intent', async () => {
    const c = await classifier.classify('Not interested. Please unsubscribe me and stop emailing, what is the price of spam anyway');
    expect(c.sentiment).toBe(-1);
    expect(c.intent).toBe(0);
  });
  it('is neutral on plain text', async () => {
    expect(await classifier.classify('Received.')).toEqual({ sentiment: 0, intent: 0, reason: 'no buying signal' });
  });
});

describe('lead scoring as events arrive', () => {
  let t: TestApp;
  let a: Caller;
  beforeAll(async () => {
    t = await createTestApp();
    a = await signUp(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  /** Scores are applied by the event processor shortly after each commit; tests drain it. */
  async function contact(id: string) {
    await t.runtime.eventProcessor.drain();
    const response = await t.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: a.bearer });
    return response.json() as { score: number; scoreBreakdown: Array<{ part: string; points: number; explanation: string }> };
  }
  async function emailEvents(contactId: string, events: Array<{ name: string; properties?: Record<string, unknown> }>) {
    await t.db.transaction((tx) => recordEvents(tx, t.runtime.deps.eventSink, a.workspaceId, events.map((e) => ({ contactId, type: 'email' as const, ...e })), new Date()));
  }
  async function crossings(contactId: string) {
    const result = await t.db.query<{ properties: Record<string, unknown> }>(
      `SELECT properties FROM events WHERE workspace_id = $1 AND contact_id = $2 AND name = 'score_threshold_crossed' ORDER BY received_at, id`,
      [a.workspaceId, contactId],
    );
    return result.rows.map((r) => r.properties);
  }

  it('scores a new contact, rises with engagement and replies, and records band crossings', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'ceo@example.com', jobTitle: 'CEO', status: 'customer' } })).json();
    // The first score is written with the contact, so the creation answers with it.
    expect(created.score).toBe(20);
    const scored = await contact(created.id);
    expect(scored.score).toBe(20);
    expect(scored.scoreBreakdown.find((p: { part: string }) => p.part === 'role')?.points).toBe(10);

    await emailEvents(created.id, [{ name: 'opened' }, { name: 'opened' }, { name: 'opened' }, { name: 'opened' }, { name: 'opened' }, { name: 'clicked' }, { name: 'clicked' }, { name: 'clicked' }, { name: 'delivered' }]);
    const engaged = await contact(created.id);
    expect(engaged.score).toBe(20 + 10 + 12);
    expect(engaged.scoreBreakdown[0]?.explanation).toContain('5 opens');
    expect(await crossings(created.id)).toEqual([]);

    await emailEvents(created.id, [{ name: 'replied', properties: { text: 'Thanks, great product — can you send pricing?' } }, { name: 'replied', properties: { text: 'Thanks!' } }]);
    const hot = await contact(created.id);
    expect(hot.score).toBe(94);
    expect(hot.scoreBreakdown.reduce((s, p) => s + p.points, 0)).toBe(hot.score);
    expect(hot.scoreBreakdown.find((p) => p.part === 'intent')?.explanation).toContain('pricing');
    expect(await crossings(created.id)).toEqual([{ from: 'cold', to: 'hot', band: 'hot', score: 94, previousScore: 42, direction: 'up' }]);

    // Moving status back on purpose lowers the score into the warm band: a downward crossing.
    const demoted = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { status: 'prospect', force: true, jobTitle: 'Engineer' } });
    expect(demoted.statusCode).toBe(200);
    expect((await contact(created.id)).score).toBe(94 - 10 - 7);
    expect((await crossings(created.id)).at(-1)).toEqual({ from: 'hot', to: 'warm', band: 'warm', score: 77, previousScore: 94, direction: 'down' });
  });

  it('writes a contact only when its score or last activity changes: a same-rank title is explained, not rewritten', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'rank@example.com', jobTitle: 'Buyer A', status: 'lead' } })).json();
    await contact(created.id);
    const version = async () => (await t.db.query<{ v: string }>('SELECT xmin::text AS v FROM contacts WHERE id = $1', [created.id])).rows[0]!.v;

    // Another individual contributor's title: the same score, so the processor leaves the row alone.
    expect((await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { jobTitle: 'Buyer B' } })).statusCode).toBe(200);
    const written = await version();
    const same = await contact(created.id);
    expect(await version()).toBe(written);
    expect(same.score).toBe(3 + 5);
    expect(same.scoreBreakdown.find((p) => p.part === 'role')?.explanation).toBe('Buyer B: individual contributor');
    expect(same.scoreBreakdown.reduce((sum, p) => sum + p.points, 0)).toBe(same.score);

    // A recomputation with nothing changed sends no UPDATE at all.
    const sent: string[] = [];
    const scoring = createLeadScoring(new RulesReplyClassifier());
    const result = await t.db.transaction((tx) => scoring.recompute({ query: (sql, params) => (sent.push(sql), tx.query(sql, params)) }, a.workspaceId, [created.id]));
    expect(result.recomputed).toEqual([created.id]);
    expect(result.crossings).toEqual([]);
    expect(sent.filter((sql) => /^\s*UPDATE contacts/.test(sql))).toEqual([]);
    expect(await version()).toBe(written);

    // A title of another rank changes the score: written, with the new title in the stored inputs.
    expect((await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { jobTitle: 'VP Sales' } })).statusCode).toBe(200);
    const before = await version();
    const raised = await contact(created.id);
    expect(await version()).not.toBe(before);
    expect(raised.score).toBe(9 + 5);
    const stored = (await t.db.query<{ score_inputs: { jobTitle: string } }>('SELECT score_inputs FROM contacts WHERE id = $1', [created.id])).rows[0]!;
    expect(stored.score_inputs.jobTitle).toBe('VP Sales');
  });

  it('counts track events as activity and intent, including events attributed later by identify', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'buyer@example.com' } })).json();
    const tracked = await t.app.inject({ method: 'POST', url: '/api/events', headers: a.bearer, payload: { contactId: created.id, name: 'Checkout Started' } });
    expect(tracked.statusCode).toBe(201);
    const after = await contact(created.id);
    expect(after.score).toBe(1 + 14);
    expect(after.scoreBreakdown.find((p) => p.part === 'intent')?.explanation).toContain('Checkout Started');

    const key = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: a.session, payload: { name: 'web' } })).json().key;
    const headers = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
    const pages = Array.from({ length: 3 }, (_, i) => ({ type: 'page', anonymousId: 'visitor-1', messageId: `p${i}`, properties: { path: `/p${i}` } }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/batch', headers, payload: { batch: pages } })).statusCode).toBe(200);
    await t.app.inject({ method: 'POST', url: '/v1/identify', headers, payload: { anonymousId: 'visitor-1', traits: { email: 'buyer@example.com' } } });
    const identified = await contact(created.id);
    expect(identified.score).toBe(4 + 14);
    expect(identified.scoreBreakdown[0]?.explanation).toContain('4 tracked events');
  });

  it('explains a score changed by a campaign action at once, adding up to the new score', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.bearer, payload: { email: 'adjusted@example.com', jobTitle: 'CEO', status: 'lead' } })).json();
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'bump', type: 'action', config: { kind: 'score_change', delta: 7 } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'bump' },
        { from: 'bump', to: 'x' },
      ],
    };
    const campaign = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: a.bearer, payload: { name: 'Bump', definition } })).json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign}/publish`, headers: a.bearer })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign}/enroll`, headers: a.bearer, payload: { contactIds: [created.id] } })).statusCode).toBe(200);
    await engineOf(t).runDue();
    // No event re-scores this contact: the stored inputs carry the adjustment themselves.
    const response = await t.app.inject({ method: 'GET', url: `/api/contacts/${created.id}`, headers: a.bearer });
    expect(response.statusCode, response.body).toBe(200);
    const adjusted = response.json() as { score: number; scoreBreakdown: Array<{ part: string; points: number }> };
    expect(adjusted.score).toBe(15 + 7);
    expect(adjusted.scoreBreakdown.find((p) => p.part === 'adjustment')?.points).toBe(7);
    expect(adjusted.scoreBreakdown.reduce((sum, p) => sum + p.points, 0)).toBe(adjusted.score);
  });
});

describe('score adjustments from campaign actions', () => {
  it('adds the adjustment as its own explained part, and clamps the total to 0–100', () => {
    const none = { opens: 0, clicks: 0, replies: 0, activity: 0, sentimentSum: 0, sentimentCount: 0, maxIntent: 0, intentReason: null };
    const raised = computeScore({ jobTitle: 'Head of Growth', status: 'lead', scoreAdjustment: 10 }, none);
    expect(raised.score).toBe(23);
    expect(raised.breakdown.at(-1)).toMatchObject({ part: 'adjustment', points: 10 });
    expect(raised.breakdown.reduce((sum, p) => sum + p.points, 0)).toBe(raised.score);
    expect(computeScore({ jobTitle: null, status: 'prospect', scoreAdjustment: -30 }, none).score).toBe(0);
    expect(computeScore({ jobTitle: null, status: 'prospect' }, none).breakdown.some((p) => p.part === 'adjustment')).toBe(false);
  });
});
