/**
 * PostgreSQL restarted under the running production server, from the outside: this test creates
 * its own PostgreSQL cluster (initdb + pg_ctl in a temp directory, on a free port; never the shared
 * one), starts `src/server.ts` on it as `npm start` does, stops the cluster while requests are in
 * flight, starts it again, and checks that the process lives on, `/health/ready` answered 503 while
 * the database was away and 200 again within 10 s, requests meanwhile were refused with
 * 503 SERVICE_UNAVAILABLE (never a 500), and work enqueued afterwards runs: an event posted through
 * the API starts a campaign whose email reaches the dev inbox. Workers poll only once a minute
 * here, so that email arrives in time only if the LISTEN connection came back.
 * PostgreSQL only (the embedded database has no server to restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createPgCluster, freePort, type PgCluster } from './pg-cluster.js';

const onPostgres = Boolean(process.env.DATABASE_URL);
const root = path.resolve(import.meta.dirname, '..');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!onPostgres)('PostgreSQL restarted under the running server', { timeout: 120_000 }, () => {
  let cluster: PgCluster | undefined;
  let appPort = 0;
  let server: ChildProcess | undefined;
  let output = '';
  const startCluster = () => cluster!.start();
  const stopCluster = () => cluster!.stop();

  beforeAll(async () => {
    cluster = await createPgCluster('unite-hub-pg-restart-');
    appPort = await freePort();
    const databaseUrl = cluster.url();
    const db = createPostgresDatabase(databaseUrl, 2);
    await migrate(db);
    await db.close();

    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: databaseUrl,
      PORT: String(appPort),
      HOST: '127.0.0.1',
      DATA_DIR: path.join(cluster.dir, 'app'),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      WORKER_POLL_MS: '60000',
    };
    delete env.SMTP_URL;
    server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (chunk) => (output += String(chunk)));
    server.stderr?.on('data', (chunk) => (output += String(chunk)));
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    cluster?.destroy();
  });

  it('lives on, reports the outage on /health/ready, recovers within 10 s and runs work enqueued after it', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    const ready = async () => {
      try {
        return (await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(3_000) })).status;
      } catch {
        return 0;
      }
    };
    const waitFor = async (what: string, ms: number, condition: () => Promise<boolean>) => {
      const deadline = Date.now() + ms;
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms; server output:\n${output}`);
        await sleep(50);
      }
    };
    await waitFor('ready', 40_000, async () => (await ready()) === 200);

    // A workspace, an API key, a contact and a campaign that an event starts.
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'restart@example.com', password: 'a long password', name: 'R', organizationName: 'Restart' }),
    });
    expect(signup.status).toBe(201);
    const cookie = signup.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const { csrfToken } = (await signup.json()) as { csrfToken: string };
    const key = await fetch(`${base}/api/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'restart', role: 'admin' }) });
    expect(key.status).toBe(201);
    const authorization = `Bearer ${((await key.json()) as { key: string }).key}`;
    const api = (method: string, url: string, body?: unknown) =>
      fetch(`${base}${url}`, {
        method,
        headers: body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    expect((await api('POST', '/api/contacts', { email: 'ada@example.com', firstName: 'Ada' })).status).toBe(201);
    const created = await api('POST', '/api/campaigns', {
      name: 'Probe',
      definition: {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'event', name: 'probe' } },
          { id: 'mail', type: 'email', config: { subject: 'Probe {{ event.n }}', html: '<p>probe</p>' } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [
          { from: 't', to: 'mail' },
          { from: 'mail', to: 'x' },
        ],
        settings: { reentry: { mode: 'always' } },
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const campaignId = ((await created.json()) as { campaign: { id: string } }).campaign.id;
    expect((await api('POST', `/api/campaigns/${campaignId}/publish`)).status).toBe(200);
    const subjects = async () => {
      const inbox = await api('GET', '/api/inbox');
      return inbox.status === 200 ? ((await inbox.json()) as { messages: Array<{ subject: string }> }).messages.map((m) => m.subject) : [];
    };
    const probe = async (n: number) => expect((await api('POST', '/api/events', { email: 'ada@example.com', name: 'probe', properties: { n } })).status).toBe(201);
    await probe(1);
    await waitFor('the first probe email', 10_000, async () => (await subjects()).includes('Probe 1'));

    // Requests keep arriving while PostgreSQL goes away (some of them mid-transaction).
    let loading = true;
    const answers: Array<{ status: number; code?: string }> = [];
    const load = Array.from({ length: 4 }, async () => {
      while (loading) {
        try {
          const response = await api('POST', '/api/events', { email: 'ada@example.com', name: 'ping' });
          const body = (await response.json().catch(() => ({}))) as { error?: { code: string } };
          answers.push({ status: response.status, ...(body.error ? { code: body.error.code } : {}) });
        } catch {
          answers.push({ status: 0 });
        }
        await sleep(10);
      }
    });
    await sleep(300);
    stopCluster();
    await waitFor('/health/ready to answer 503', 10_000, async () => (await ready()) === 503);
    // The outage lasts: workers' batches fail meanwhile and they go on looping.
    await sleep(2_000);
    expect(await ready()).toBe(503);
    loading = false;
    await Promise.all(load);

    startCluster();
    const restarted = Date.now();
    await waitFor('/health/ready to answer 200 again', 10_000, async () => (await ready()) === 200);
    const recoveredMs = Date.now() - restarted;
    expect(recoveredMs).toBeLessThan(10_000);
    expect(server!.exitCode).toBe(null);

    // Every request was either done or refused as unavailable (never a 500), and some were refused.
    expect(answers.filter((a) => a.status !== 201 && !(a.status === 503 && a.code === 'SERVICE_UNAVAILABLE'))).toEqual([]);
    expect(answers.some((a) => a.status === 503)).toBe(true);

    // Work enqueued after the restart runs: event → enrollment → engine → sender → dev inbox.
    await probe(2);
    await waitFor('the probe email after the restart', 10_000, async () => (await subjects()).includes('Probe 2'));
    expect(server!.exitCode).toBe(null);
    expect(output).not.toMatch(/DeprecationWarning|Unhandled|uncaught/i);
  });
});
