import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import type { ResolvedAddress } from './webhooks.js';

/** What the fake DNS answers; a string is an error code thrown by the lookup. */
const answers: Record<string, string> = {
  'hooks.example.com': '93.184.216.34',
  vm: '10.0.0.5',
  'localhost.': '127.0.0.1',
  'metadata.google.internal': '169.254.169.254',
  'mixed.example.com': '93.184.216.34,192.168.1.20',
  'nowhere.example.com': 'ENOTFOUND',
  'flaky-dns.example.com': 'EAI_AGAIN',
};
const dns = {
  async resolve(host: string): Promise<ResolvedAddress[]> {
    const answer = answers[host];
    if (answer === undefined || answer.startsWith('E')) throw Object.assign(new Error(`lookup ${host} failed`), { code: answer ?? 'ENOTFOUND' });
    return answer.split(',').map((address) => ({ address, family: 4 as const }));
  },
};

let t: TestApp;
let caller: Caller;
beforeAll(async () => {
  t = await createTestApp({ dns });
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

describe('webhook URLs are resolved when a campaign is saved', () => {
  it.each([
    ['http://vm:8080/hook', /vm resolves to a non-public address \(10\.0\.0\.5\)/],
    ['http://LOCALHOST./hook', /points to localhost, a private or local address/],
    ['http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal resolves to a non-public address \(169\.254\.169\.254\)/],
    ['https://mixed.example.com/in', /non-public address \(192\.168\.1\.20\)/],
    ['https://nowhere.example.com/in', /nowhere\.example\.com does not (resolve|exist)/],
  ])('refuses %s on create and lists it as a problem of the saved draft, saying why', async (url, reason) => {
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Hooks', definition: definition(url) } });
    expect(created.statusCode).toBe(400);
    expect(created.json().error).toMatchObject({ code: 'CAMPAIGN_INVALID', details: [expect.objectContaining({ nodeId: 'hook', field: 'config.url', message: expect.stringMatching(reason) })] });
    const draft = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Hooks', definition: definition('https://hooks.example.com/in') } });
    expect(draft.statusCode).toBe(201);
    const saved = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${draft.json().campaign.id}`, headers: caller.bearer, payload: { definition: definition(url) } });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().problems[0]).toMatchObject({ nodeId: 'hook', field: 'config.url', message: expect.stringMatching(reason) });
    const published = await t.app.inject({ method: 'POST', url: `/api/campaigns/${draft.json().campaign.id}/publish`, headers: caller.bearer });
    expect(published.json().error.code).toBe('CAMPAIGN_INVALID');
  });

  it('accepts a public host, and a host whose lookup fails only for now (delivery checks again)', async () => {
    for (const url of ['https://hooks.example.com/in', 'https://flaky-dns.example.com/in']) {
      const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Hooks', definition: definition(url) } });
      expect(created.statusCode, url).toBe(201);
    }
  });
});
