import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { engineOf, insertContact } from '../../test/campaign-support.js';
import { validateDefinition } from './validator.js';
import { deliverDueWebhooks, isPublicAddress, reclaimDeadWebhookHolders, signWebhook, type ResolvedAddress, type WebhookRequest } from './webhooks.js';

let t: TestApp;
let clock: ManualClock;
let caller: Caller;
beforeAll(async () => {
  clock = new ManualClock();
  // Saving resolves webhook hosts too (webhook-urls.ts): the test hosts resolve to a public address.
  t = await createTestApp({ clock, dns: { resolve: async () => [{ address: '93.184.216.34', family: 4 }] } });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

const definition = (url: string) => ({
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'manual' } },
    { id: 'hook', type: 'action', config: { kind: 'webhook', url, secret: 'a-secret-of-16-chars+' } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'hook' },
    { from: 'hook', to: 'x' },
  ],
});

function fakes(dnsAnswers: Record<string, string>, responses: Array<{ status: number; location?: string }>) {
  const calls: WebhookRequest[] = [];
  return {
    calls,
    deps: {
      db: t.db,
      clock,
      holder: t.runtime.holder,
      logger: createLogger('silent'),
      random: () => 0.5,
      dns: { resolve: async (host: string): Promise<ResolvedAddress[]> => (dnsAnswers[host] ? [{ address: dnsAnswers[host]!, family: 4 }] : []) },
      http: {
        post: async (request: WebhookRequest) => {
          calls.push(request);
          const next = responses.shift() ?? { status: 200 };
          return { status: next.status, location: next.location ?? null };
        },
      },
    },
  };
}

async function queueWebhook(url: string): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Hooks', definition: definition(url) } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().campaign.id;
  await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
  const contactId = await insertContact(t.db, caller.workspaceId, { first_name: 'Hook' });
  await t.app.inject({ method: 'POST', url: `/api/campaigns/${id}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } });
  await engineOf(t).runDue();
  return id;
}

async function rowOf(campaignId: string) {
  const r = await t.db.query<{ status: string; attempts: number; last_error: string | null; next_attempt_at: Date }>('SELECT status, attempts, last_error, next_attempt_at FROM campaign_webhooks WHERE campaign_id = $1', [campaignId]);
  return r.rows;
}

describe('campaign webhooks', () => {
  it('knows public from non-public addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fc00::1', 'fe80::1', '::ffff:127.0.0.1', '224.0.0.1']) expect(isPublicAddress(a), a).toBe(false);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('refuses private literal addresses and localhost at save time', async () => {
    for (const url of ['http://127.0.0.1/hook', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data', 'http://localhost:8080/']) {
      const issues = await validateDefinition(definition(url));
      expect(issues, url).toEqual([expect.objectContaining({ nodeId: 'hook', field: 'config.url' })]);
    }
  });

  it('delivers once, signed, to the vetted address', async () => {
    const campaignId = await queueWebhook('https://hooks.example.com/in');
    const { calls, deps } = fakes({ 'hooks.example.com': '93.184.216.34' }, [{ status: 204 }]);
    expect(await deliverDueWebhooks(deps)).toBe(1);
    expect(await deliverDueWebhooks(deps)).toBe(0);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.address.address).toBe('93.184.216.34');
    expect(call.url.hostname).toBe('hooks.example.com');
    expect(call.headers['x-unitehub-signature']).toBe(signWebhook('a-secret-of-16-chars+', Number(call.headers['x-unitehub-timestamp']), call.body));
    expect(JSON.parse(call.body)).toMatchObject({ type: 'campaign.step', campaignId, nodeId: 'hook', contact: { firstName: 'Hook' } });
    expect(JSON.parse(call.body).contact).not.toHaveProperty('first_name');
    expect(await rowOf(campaignId)).toEqual([expect.objectContaining({ status: 'sent', attempts: 1 })]);
  });

  it('refuses a host that resolves to a metadata address, and a redirect to loopback, without calling them', async () => {
    const metadata = await queueWebhook('https://sneaky.example.com/in');
    const first = fakes({ 'sneaky.example.com': '169.254.169.254' }, []);
    await deliverDueWebhooks(first.deps);
    expect(first.calls).toHaveLength(0);
    expect(await rowOf(metadata)).toEqual([expect.objectContaining({ status: 'failed', last_error: expect.stringContaining('non-public') })]);

    const redirected = await queueWebhook('https://redirect.example.com/in');
    const second = fakes({ 'redirect.example.com': '93.184.216.34' }, [{ status: 302, location: 'http://127.0.0.1:9000/admin' }]);
    await deliverDueWebhooks(second.deps);
    expect(second.calls).toHaveLength(1);
    expect(await rowOf(redirected)).toEqual([expect.objectContaining({ status: 'failed', last_error: expect.stringContaining('127.0.0.1') })]);
  });

  it('retries a failing endpoint with backoff, then gives up', async () => {
    const campaignId = await queueWebhook('https://flaky.example.com/in');
    const { calls, deps } = fakes({ 'flaky.example.com': '93.184.216.34' }, Array.from({ length: 10 }, () => ({ status: 500 })));
    await deliverDueWebhooks(deps);
    let [row] = await rowOf(campaignId);
    expect(row).toMatchObject({ status: 'queued', attempts: 1, last_error: 'HTTP 500' });
    expect(row!.next_attempt_at.getTime()).toBeGreaterThan(clock.now().getTime());
    expect(await deliverDueWebhooks(deps)).toBe(0);
    for (let i = 0; i < 6; i++) {
      clock.advance(3_600_000);
      await deliverDueWebhooks(deps);
    }
    [row] = await rowOf(campaignId);
    expect(row).toMatchObject({ status: 'failed', attempts: 6 });
    expect(calls).toHaveLength(6);
  });

  it('delivers again at once, with the same delivery id, what a dead process was delivering; leaves a live process\'s row alone', async () => {
    const dead = await queueWebhook('https://dead.example.com/in');
    const live = await queueWebhook('https://live.example.com/in');
    const deadHolder = (await t.db.query<{ id: number }>(`SELECT nextval('work_holder_ids')::integer AS id`)).rows[0]!.id;
    const lease = new Date(clock.now().getTime() + 60_000);
    await t.db.query(`UPDATE campaign_webhooks SET holder_id = $2, attempts = 1, locked_until = $3 WHERE campaign_id = $1`, [dead, deadHolder, lease]);
    await t.db.query(`UPDATE campaign_webhooks SET holder_id = $2, attempts = 1, locked_until = $3 WHERE campaign_id = $1`, [live, await t.runtime.holder.id(), lease]);
    const { calls, deps } = fakes({ 'dead.example.com': '93.184.216.34', 'live.example.com': '93.184.216.35' }, [{ status: 200 }, { status: 200 }]);
    expect(await deliverDueWebhooks(deps)).toBe(0);
    // No lease to wait out: the dead holder's row is due again at once.
    expect(await reclaimDeadWebhookHolders(deps)).toBe(1);
    expect(await deliverDueWebhooks(deps)).toBe(1);
    expect(calls.map((c) => c.url.hostname)).toEqual(['dead.example.com']);
    const id = (await t.db.query<{ id: string }>('SELECT id FROM campaign_webhooks WHERE campaign_id = $1', [dead])).rows[0]!.id;
    expect(calls[0]!.headers['x-unitehub-delivery']).toBe(id);
    expect(await rowOf(dead)).toEqual([expect.objectContaining({ status: 'sent', attempts: 2 })]);
    expect(await rowOf(live)).toEqual([expect.objectContaining({ status: 'queued', attempts: 1 })]);
  });
});
