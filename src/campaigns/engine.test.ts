import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, testConfig, type Caller, type TestApp } from '../../test/helpers.js';
import { createRuntime } from '../init.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { DAY, dripDefinition, engineOf, insertContact } from '../../test/campaign-support.js';

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

async function publish(definition: Record<string, unknown>, name = 'Drip'): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name, definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id as string;
  const published = await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
  expect(published.statusCode, published.body).toBe(200);
  return id;
}

async function enroll(campaignId: string, contactIds: string[]) {
  return t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: caller.bearer, payload: { contactIds } });
}

async function messagesOf(contactId: string) {
  const result = await t.db.query<{ subject: string; idempotency_key: string; source_type: string; to_address: string; html: string }>(
    'SELECT subject, idempotency_key, source_type, to_address, html FROM messages WHERE contact_id = $1 ORDER BY created_at, subject',
    [contactId],
  );
  return result.rows;
}

describe('foundation flow: trigger → email → wait 3 days → email → exit', () => {
  it('queues the first email, waits three days, queues the second, and completes', async () => {
    const campaignId = await publish(dripDefinition(), 'Onboarding');
    const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Grace' });
    const response = await enroll(campaignId, [contactId]);
    expect(response.statusCode, response.body).toBe(200);
    const [result] = response.json().results;
    expect(result.status).toBe('enrolled');

    await engineOf(t).runDue();
    let messages = await messagesOf(contactId);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.subject).toBe('Welcome Grace');
    expect(messages[0]!.source_type).toBe('campaign');
    expect(messages[0]!.idempotency_key).toBe(`enrollment:${result.enrollmentId}:node:welcome`);

    // Running again before the wait is over does nothing.
    clock.advance(3 * DAY - 1000);
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(1);

    clock.advance(1000);
    await engineOf(t).runDue();
    messages = await messagesOf(contactId);
    expect(messages.map((m) => m.subject)).toEqual(['Welcome Grace', 'Still there?']);
    expect(messages[1]!.html).toContain('Onboarding');

    const journey = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${result.enrollmentId}`, headers: caller.bearer });
    expect(journey.statusCode).toBe(200);
    expect(journey.json().enrollment.status).toBe('completed');
    expect(journey.json().enrollment.exitReason).toBe('done');
    expect(journey.json().steps.map((s: { nodeId: string }) => s.nodeId)).toEqual(['start', 'welcome', 'pause', 'followup', 'end']);

    const detail = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer });
    const metrics = detail.json().metrics;
    expect(metrics.nodes.welcome).toEqual({ entered: 1, completed: 1, waiting: 0, failed: 0 });
    expect(metrics.nodes.end).toEqual({ entered: 1, completed: 1, waiting: 0, failed: 0 });
    expect(metrics.emails.welcome.queued).toBe(1);
  });

  it('continues a wait after a restart: a new runtime on the same database sends the second email', async () => {
    const campaignId = await publish(dripDefinition());
    const contactId = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [contactId]);
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(1);
    const waiting = await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer });
    expect(waiting.json().metrics.nodes.pause.waiting).toBe(1);

    const restarted = await createRuntime(testConfig(), { db: t.db, clock, logger: createLogger('silent') });
    try {
      clock.advance(3 * DAY);
      const engine = (restarted.workers.find((w) => w.name === 'campaign-engine') as unknown as { engine: { runDue(): Promise<number> } }).engine;
      expect(await engine.runDue()).toBeGreaterThan(0);
      expect((await messagesOf(contactId)).map((m) => m.subject)).toEqual(expect.arrayContaining(['Still there?']));
      expect(await messagesOf(contactId)).toHaveLength(2);
    } finally {
      await restarted.close();
    }
  });

  it('wakes a started worker by NOTIFY and stops after finishing its batch', async () => {
    const campaignId = await publish(dripDefinition());
    const contactId = await insertContact(t.db, caller.workspaceId);
    const worker = t.runtime.workers.find((w) => w.name === 'campaign-engine')!;
    worker.start();
    try {
      await enroll(campaignId, [contactId]);
      for (let i = 0; i < 100 && (await messagesOf(contactId)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await messagesOf(contactId)).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });

  it('skips the email for an unsubscribed contact and records why', async () => {
    const campaignId = await publish(dripDefinition());
    const contactId = await insertContact(t.db, caller.workspaceId, { subscription_state: 'unsubscribed' });
    const { enrollmentId } = (await enroll(campaignId, [contactId])).json().results[0];
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(0);
    const journey = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`, headers: caller.bearer })).json();
    expect(journey.steps[1]).toMatchObject({ nodeId: 'welcome', outcome: 'skipped', detail: { reason: 'unsubscribed' } });
  });
});

describe('enrollment rules', () => {
  it('refuses a draft, a paused and another workspace’s campaign, and honours re-entry', async () => {
    const contactId = await insertContact(t.db, caller.workspaceId);
    const draft = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Draft', definition: dripDefinition() } });
    const draftEnroll = await enroll(draft.json().campaign.id, [contactId]);
    expect(draftEnroll.statusCode).toBe(409);
    expect(draftEnroll.json().error.code).toBe('CAMPAIGN_NOT_ACTIVE');

    const campaignId = await publish(dripDefinition());
    const pause = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/pause`, headers: caller.bearer });
    expect(pause.json().campaign.status).toBe('paused');
    expect((await enroll(campaignId, [contactId])).json().error.code).toBe('CAMPAIGN_NOT_ACTIVE');
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/resume`, headers: caller.bearer });

    const other = await signUp(t.app);
    const foreign = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: other.bearer, payload: { contactIds: [contactId] } });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('NOT_FOUND');

    expect((await enroll(campaignId, [contactId])).json().results[0].status).toBe('enrolled');
    const again = await enroll(campaignId, [contactId]);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ENROLLMENT_REFUSED');
    expect(again.json().error.details[0].status).toBe('already_enrolled');

    // Finish the journey; the default re-entry rule (never) still refuses.
    await engineOf(t).runDue();
    clock.advance(3 * DAY);
    await engineOf(t).runDue();
    const after = await enroll(campaignId, [contactId]);
    expect(after.json().error.details[0].status).toBe('reentry_refused');

    const unknown = await enroll(campaignId, ['00000000-0000-4000-8000-000000000000']);
    expect(unknown.json().error.code).toBe('ENROLLMENT_CONTACTS_NOT_FOUND');
  });

  it('lets a contact re-enter after N days when the rule says so', async () => {
    const definition = { ...dripDefinition(), settings: { reentry: { mode: 'after', days: 7 } } };
    const campaignId = await publish(definition);
    const contactId = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [contactId]);
    await engineOf(t).runDue();
    clock.advance(3 * DAY);
    await engineOf(t).runDue();
    expect((await enroll(campaignId, [contactId])).statusCode).toBe(409);
    clock.advance(4 * DAY + 1000);
    expect((await enroll(campaignId, [contactId])).json().results[0].status).toBe('enrolled');
  });

  it('does not advance enrollments of a paused campaign until it resumes', async () => {
    const campaignId = await publish(dripDefinition());
    const contactId = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [contactId]);
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/pause`, headers: caller.bearer });
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(0);
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/resume`, headers: caller.bearer });
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(1);
  });
});

describe('enrollment pause and resume', () => {
  it('holds one enrollment at its node until resumed', async () => {
    const campaignId = await publish(dripDefinition());
    const contactId = await insertContact(t.db, caller.workspaceId);
    const { enrollmentId } = (await enroll(campaignId, [contactId])).json().results[0];
    await engineOf(t).runDue();
    const url = `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`;
    expect((await t.app.inject({ method: 'POST', url: `${url}/pause`, headers: caller.bearer })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'POST', url: `${url}/pause`, headers: caller.bearer })).json().error.code).toBe('ENROLLMENT_STATE_CONFLICT');
    clock.advance(3 * DAY);
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(1);
    expect((await t.app.inject({ method: 'POST', url: `${url}/resume`, headers: caller.bearer })).statusCode).toBe(204);
    await engineOf(t).runDue();
    expect(await messagesOf(contactId)).toHaveLength(2);
  });
});

describe('failures and retries', () => {
  it('parks an enrollment whose template cannot render as failed, and retries it on request', async () => {
    const definition = dripDefinition() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    definition.nodes[1]!.config = { subject: 'Your plan: {{ contact.plan }}', html: '<p>Hi</p>' };
    const campaignId = await publish(definition as unknown as Record<string, unknown>);
    const contactId = await insertContact(t.db, caller.workspaceId);
    const { enrollmentId } = (await enroll(campaignId, [contactId])).json().results[0];
    await engineOf(t).runDue();
    const journey = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}`, headers: caller.bearer })).json();
    expect(journey.enrollment.status).toBe('failed');
    expect(journey.enrollment.currentNodeId).toBe('welcome');
    expect(journey.enrollment.lastError).toMatch(/plan/);
    const metrics = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: caller.bearer })).json().metrics;
    expect(metrics.nodes.welcome.failed).toBe(1);

    const notFailed = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}/retry`, headers: caller.bearer });
    expect(notFailed.statusCode).toBe(204);
    const twice = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enrollments/${enrollmentId}/retry`, headers: caller.bearer });
    expect(twice.json().error.code).toBe('ENROLLMENT_NOT_FAILED');
    await t.db.query(`UPDATE contacts SET custom_fields = '{"plan":"Pro"}' WHERE id = $1`, [contactId]);
    await engineOf(t).runDue();
    expect((await messagesOf(contactId)).map((m) => m.subject)).toEqual(['Your plan: Pro']);
  });
});

describe('versioning', () => {
  it('keeps running enrollments on their version, and moves them only through the migrate endpoint', async () => {
    const campaignId = await publish(dripDefinition());
    const onV1 = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [onV1]);
    await engineOf(t).runDue();

    const v2 = dripDefinition() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    v2.nodes[3]!.config = { subject: 'Version two', html: '<p>v2</p>' };
    await t.app.inject({ method: 'PUT', url: `/api/campaigns/${campaignId}`, headers: caller.bearer, payload: { definition: v2 } });
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer })).json().campaign.currentVersion).toBe(2);
    const onV2 = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [onV2]);
    await engineOf(t).runDue();

    clock.advance(3 * DAY);
    await engineOf(t).runDue();
    expect((await messagesOf(onV1)).map((m) => m.subject)).toContain('Still there?');
    expect((await messagesOf(onV2)).map((m) => m.subject)).toContain('Version two');

    // A contact waiting on v2 when v3 is published moves only when asked to.
    const waitingOnV2 = await insertContact(t.db, caller.workspaceId);
    await enroll(campaignId, [waitingOnV2]);
    await engineOf(t).runDue();
    const v3 = dripDefinition() as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    v3.nodes[3]!.config = { subject: 'Version three', html: '<p>v3</p>' };
    await t.app.inject({ method: 'PUT', url: `/api/campaigns/${campaignId}`, headers: caller.bearer, payload: { definition: v3 } });
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: caller.bearer });
    const migrated = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/migrate`, headers: caller.bearer, payload: { fromVersion: 2 } });
    expect(migrated.statusCode, migrated.body).toBe(200);
    expect(migrated.json()).toEqual({ toVersion: 3, moved: 1, stayed: 0 });
    clock.advance(3 * DAY);
    await engineOf(t).runDue();
    expect((await messagesOf(waitingOnV2)).map((m) => m.subject)).toContain('Version three');
  });
});

describe('frequency caps across campaigns', () => {
  it('defers (never drops) emails over the cap, keeps a slot for lifecycle, and never caps transactional', async () => {
    const other = await signUp(t.app);
    const put = await t.app.inject({ method: 'PUT', url: '/api/campaigns/frequency-cap', headers: other.bearer, payload: { frequencyCap: { maxEmails: 2, windowHours: 24 } } });
    expect(put.statusCode, put.body).toBe(200);
    const oneEmail = (subject: string, priority: string) => ({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'mail', type: 'email', config: { subject, html: '<p>x</p>' } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'mail' },
        { from: 'mail', to: 'x' },
      ],
      settings: { priority },
    });
    const publishAs = async (definition: Record<string, unknown>) => {
      const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: other.bearer, payload: { name: 'Cap', definition } });
      const id = created.json().campaign.id as string;
      await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: other.bearer });
      return id;
    };
    const lifecycle = await publishAs(oneEmail('Lifecycle', 'lifecycle'));
    const promo1 = await publishAs(oneEmail('Promo 1', 'promotional'));
    const promo2 = await publishAs(oneEmail('Promo 2', 'promotional'));
    const receipt = await publishAs(oneEmail('Receipt', 'transactional'));
    const contactId = await insertContact(t.db, other.workspaceId);
    const enrollIn = async (id: string) => {
      await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/enroll`, headers: other.bearer, payload: { contactIds: [contactId] } });
      await engineOf(t).runDue();
    };
    await enrollIn(promo1);
    await enrollIn(promo2); // promotional: one slot of two is kept for lifecycle → deferred
    await enrollIn(lifecycle);
    await enrollIn(receipt);
    expect((await messagesOf(contactId)).map((m) => m.subject).sort()).toEqual(['Lifecycle', 'Promo 1', 'Receipt']);
    const waiting = await t.db.query<{ current_node_id: string; status: string }>('SELECT current_node_id, status FROM enrollments WHERE campaign_id = $1', [promo2]);
    expect(waiting.rows[0]).toEqual({ current_node_id: 'mail', status: 'active' });
    clock.advance(25 * 3_600_000);
    await engineOf(t).runDue();
    expect((await messagesOf(contactId)).map((m) => m.subject).sort()).toEqual(['Lifecycle', 'Promo 1', 'Promo 2', 'Receipt']);
  });
});
