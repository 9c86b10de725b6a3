/** A webhook step shows where its delivery stands, in the campaign journey and the contact timeline. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { deliverDueWebhooks, type ResolvedAddress, type WebhookRequest } from './webhooks.js';

let t: TestApp;
let caller: Caller;
const clock = new ManualClock();
const dns = { resolve: async (): Promise<ResolvedAddress[]> => [{ address: '93.184.216.34', family: 4 }] };
beforeAll(async () => {
  t = await createTestApp({ clock, dns });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

function delivery(statuses: number[]) {
  return {
    db: t.db,
    clock,
    logger: createLogger('silent'),
    holder: t.runtime.holder,
    random: () => 0.5,
    dns,
    http: { post: async (_request: WebhookRequest) => ({ status: statuses.shift() ?? 200, location: null }) },
  };
}

describe('webhook delivery status on the journey step', () => {
  it('is queued, then retrying with the last answer, then sent — in GET enrollment and in the contact timeline; other steps have none', async () => {
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: 'hooked' } },
        { id: 'hook', type: 'action', config: { kind: 'webhook', url: 'https://hooks.example.com/in', secret: 'a-secret-of-16-chars+' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'tag' },
        { from: 'tag', to: 'hook' },
        { from: 'hook', to: 'x' },
      ],
    };
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Hooks', definition } });
    expect(created.statusCode, created.body).toBe(201);
    const campaignId = created.json().campaign.id;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Hook' });
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } });
    expect(enrolled.statusCode, enrolled.body).toBeLessThan(300);
    const enrollmentId = (await t.db.query<{ id: string }>('SELECT id FROM enrollments WHERE campaign_id = $1', [campaignId])).rows[0]!.id;
    await engineOf(t).runDue();

    const journeyStep = async (nodeId: string) => {
      const journey = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`, headers: caller.bearer });
      expect(journey.statusCode).toBe(200);
      return (journey.json().steps as Array<{ nodeId: string; delivery: unknown }>).find((s) => s.nodeId === nodeId)!;
    };
    const timelineStep = async () => {
      const timeline = await t.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/timeline`, headers: caller.bearer });
      expect(timeline.statusCode).toBe(200);
      return (timeline.json().items as Array<{ kind: string; nodeId?: string; delivery?: unknown }>).find((i) => i.kind === 'step' && i.nodeId === 'hook')!;
    };

    expect((await journeyStep('tag')).delivery).toBeNull();
    expect((await journeyStep('hook')).delivery).toEqual({ status: 'queued', attempts: 0, lastStatus: null, lastError: null, sentAt: null, nextAttemptAt: expect.any(String) });

    await deliverDueWebhooks(delivery([503]));
    const retrying = { status: 'queued', attempts: 1, lastStatus: 503, lastError: 'HTTP 503', sentAt: null, nextAttemptAt: expect.stringMatching(/Z$/) };
    expect((await journeyStep('hook')).delivery).toEqual(retrying);
    expect((await timelineStep()).delivery).toEqual(retrying);

    clock.advance(3_600_000);
    await deliverDueWebhooks(delivery([204]));
    const sent = { status: 'sent', attempts: 2, lastStatus: 204, lastError: null, sentAt: clock.now().toISOString(), nextAttemptAt: null };
    expect((await journeyStep('hook')).delivery).toEqual(sent);
    expect((await timelineStep()).delivery).toEqual(sent);
  });
});
