/**
 * docs/api.md, step by step, against a real server process with its workers and the real clock:
 * sign up, API key, contact, campaign, publish, enroll, and both emails in the dev inbox — the
 * second only after the wait. Runs on this file's PostgreSQL database when DATABASE_URL is set,
 * otherwise on the embedded default.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(path.join(tmpdir(), 'unite-hub-walkthrough-'));
const port = 30_000 + Math.floor(Math.random() * 10_000);
const base = `http://127.0.0.1:${port}`;
let server: ChildProcess;
let testDb: TestDatabase | undefined;

/** The drip campaign of docs/api.md, read from the page itself. */
function dripFromDocs(): { name: string; definition: { nodes: Array<{ id: string; config: Record<string, unknown> }> } } {
  const doc = readFileSync(path.join(root, 'docs/api.md'), 'utf8');
  const match = /cat > drip\.json <<'JSON'\n([\s\S]*?)\nJSON/.exec(doc);
  if (!match) throw new Error('docs/api.md lost its drip.json block');
  return JSON.parse(match[1]!);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'warn', PUBLIC_URL: base, WORKER_POLL_MS: '200' };
  delete env.DATABASE_URL;
  if (process.env.DATABASE_URL) {
    testDb = await createTestDatabase();
    env.DATABASE_URL = testDb.url!;
  }
  server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor('readiness', async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined), 120_000);
}, 180_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await testDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the API walk-through', { timeout: 180_000 }, () => {
  it('signs up, creates a key, a contact and a campaign, and delivers both emails, the second after the wait', async () => {
    const signup = await fetch(`${base}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'you@example.com', password: 'a long password', name: 'You', organizationName: 'Acme' }) });
    expect(signup.status).toBe(201);
    const { csrfToken } = (await signup.json()) as { csrfToken: string };
    const cookie = signup.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

    const keyResponse = await fetch(`${base}/api/api-keys`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'walk-through', role: 'admin' }) });
    expect(keyResponse.status).toBe(201);
    const { key } = (await keyResponse.json()) as { key: string };
    const auth = { authorization: `Bearer ${key}` };
    const post = (url: string, body?: unknown) => fetch(`${base}${url}`, { method: 'POST', headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    const contactResponse = await post('/api/contacts', { email: 'ada@example.com', firstName: 'Ada', company: 'Analytical Engines' });
    expect(contactResponse.status).toBe(201);
    const contact = (await contactResponse.json()) as { id: string };
    expect((await post('/api/contacts', { email: 'ADA@example.com' })).status).toBe(409);

    const drip = dripFromDocs();
    const created = await post('/api/campaigns', drip);
    expect(created.status).toBe(201);
    const campaignId = ((await created.json()) as { campaign: { id: string } }).campaign.id;

    const early = await post(`/api/campaigns/${campaignId}/enroll`, { contactIds: [contact.id] });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('CAMPAIGN_NOT_ACTIVE');

    expect((await post(`/api/campaigns/${campaignId}/publish`)).status).toBe(200);
    const enrolled = await post(`/api/campaigns/${campaignId}/enroll`, { contactIds: [contact.id] });
    expect(enrolled.status).toBe(200);
    expect(((await enrolled.json()) as { results: Array<{ status: string }> }).results[0]!.status).toBe('enrolled');
    const enrolledAt = Date.now();

    const inbox = async () => ((await (await fetch(`${base}/api/inbox`, { headers: auth })).json()) as { messages: Array<{ id: string; subject: string; to: string }> }).messages;
    const first = await waitFor('the welcome email', async () => {
      const messages = await inbox();
      return messages.length >= 1 ? messages : undefined;
    }, 30_000);
    expect(first.map((m) => m.subject)).toEqual(['Welcome, Ada']);
    expect(first[0]!.to).toContain('ada@example.com');

    const both = await waitFor('the follow-up email', async () => {
      const messages = await inbox();
      return messages.length >= 2 ? messages : undefined;
    }, 60_000);
    // The wait is 10 seconds in docs/api.md: the follow-up cannot have come sooner.
    expect(Date.now() - enrolledAt).toBeGreaterThanOrEqual(10_000);
    expect(both.map((m) => m.subject).sort()).toEqual(['How is it going?', 'Welcome, Ada']);

    const detail = (await (await fetch(`${base}/api/inbox/${first[0]!.id}`, { headers: auth })).json()) as { text: string; html: string; headers: Record<string, string> };
    expect(detail.text).toContain('Hi Ada, welcome to Acme.');
    expect(JSON.stringify(detail.headers)).toMatch(/List-Unsubscribe/i);

    const campaign = (await (await fetch(`${base}/api/campaigns/${campaignId}`, { headers: auth })).json()) as { metrics: { nodes: Record<string, { entered: number; completed: number }> } };
    expect(campaign.metrics.nodes.end!.entered).toBe(1);
  });
});
