/**
 * `npm run test:deploy`: blue-green behind a real nginx, from the outside. Builds the server when
 * dist/ is missing or older than src/, makes a fresh PostgreSQL database, and runs
 * deploy/blue-green.sh: `up` (blue + nginx on a free port), then three `switch`es while load flows
 * through nginx — authenticated API reads, open-tracking hits, and events that enroll contacts in
 * a published two-email campaign (email, wait 2 s, email) whose emails go to a local SMTP server.
 * Asserts: not one request failed (every answer the expected status, no connection error), each
 * switch drained the old colour cleanly, and every enrolled contact received each campaign email
 * exactly once (counted at the SMTP server and in the messages table): no step lost or doubled.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep } from './support.js';

const root = path.resolve(import.meta.dirname, '..');
const script = path.join(root, 'deploy/blue-green.sh');
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const run = promisify(execFile);

/** One request on a connection of its own; resolves with the status (0: a connection error). */
function request(port: number, method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, method, path: url, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) }, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    req.end(payload);
  });
}

const decodeQuotedPrintable = (text: string) => text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

describe('blue-green behind nginx', { timeout: 240_000 }, () => {
  const dbName = `uh_deploy_${randomBytes(4).toString('hex')}`;
  const databaseUrl = (() => {
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    return u.toString();
  })();
  const state = mkdtempSync(path.join(tmpdir(), 'unite-hub-deploy-'));
  const received = new Map<string, number>();
  const openPaths: string[] = [];
  let smtp: SMTPServer;
  let nginxPort = 0;
  let env: Record<string, string> = {};
  let db: pg.Client;
  let bearer: Record<string, string> = {};

  const deploy = async (command: string) => {
    const { stderr } = await run(script, [command], { cwd: root, env, timeout: 120_000 });
    return stderr;
  };

  beforeAll(async () => {
    // Build the production server when it is missing or older than the sources.
    const stale = spawnSync('sh', ['-c', 'test -f dist/server/server.js && test -z "$(find src migrations -newer dist/server/server.js -type f | head -n 1)"'], { cwd: root });
    if (stale.status !== 0) {
      const built = spawnSync('npm', ['run', 'build:server'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
      if (built.status !== 0) throw new Error(`npm run build:server failed:\n${built.stdout}${built.stderr}`);
    }
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();

    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          const subject = /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '';
          const key = `${session.envelope.rcptTo[0]!.address}|${subject}`;
          received.set(key, (received.get(key) ?? 0) + 1);
          const open = /\/t\/o\/[A-Za-z0-9_.-]+/.exec(decodeQuotedPrintable(raw));
          if (open && openPaths.length < 50) openPaths.push(open[0]);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as net.AddressInfo).port;

    nginxPort = await freePort();
    env = {
      ...(process.env as Record<string, string>),
      DEPLOY_STATE: state,
      NGINX_LISTEN: `127.0.0.1:${nginxPort}`,
      BLUE_PORT: String(await freePort()),
      GREEN_PORT: String(await freePort()),
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'production',
      APP_SECRET: 'deploy-test-secret-that-is-at-least-32-characters',
      SECURE_COOKIES: 'false',
      PUBLIC_URL: `http://127.0.0.1:${nginxPort}`,
      TRUST_PROXY: '127.0.0.1',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      LOG_LEVEL: 'info',
      WORKER_POLL_MS: '200',
      SHUTDOWN_TIMEOUT_MS: '20000',
    };
    delete env.SENTRY_DSN;
    delete env.REDIS_URL;
    await deploy('up');
  });

  afterAll(async () => {
    try {
      await deploy('down');
    } catch {
      // a failed test may leave either colour running or not
    }
    await db?.end();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    rmSync(state, { recursive: true, force: true });
  });

  it('switches colours three times under load with zero failed requests and every campaign step once', async () => {
    const call = (method: string, url: string, headers: Record<string, string> = {}, body?: unknown) => request(nginxPort, method, url, headers, body);

    // A workspace, an API key, contacts and a published campaign, all through nginx.
    const signup = await call('POST', '/api/auth/signup', {}, { email: 'deploy@example.com', password: 'a long password', name: 'D', organizationName: 'Deploy' });
    expect(signup.status, signup.body).toBe(201);
    const { csrfToken } = JSON.parse(signup.body) as { csrfToken: string };
    // Cookies of the sign-up answer (http.request leaves Set-Cookie to us).
    const cookieAnswer = await new Promise<string[]>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: nginxPort, method: 'POST', path: '/api/auth/login', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['set-cookie'] ?? []));
      });
      req.end(JSON.stringify({ email: 'deploy@example.com', password: 'a long password' }));
    });
    const cookie = cookieAnswer.map((c) => c.split(';')[0]).join('; ');
    const csrf = /uh_csrf=([^;]+)/.exec(cookie)?.[1] ?? csrfToken;
    const key = await call('POST', '/api/api-keys', { cookie, 'x-csrf-token': csrf }, { name: 'deploy', role: 'admin' });
    expect(key.status, key.body).toBe(201);
    bearer = { authorization: `Bearer ${(JSON.parse(key.body) as { key: string }).key}` };

    const CONTACTS = 600;
    const emails = Array.from({ length: CONTACTS }, (_, i) => `c${i}@example.com`);
    for (let i = 0; i < CONTACTS; i += 20) {
      const created = await Promise.all(emails.slice(i, i + 20).map((email) => call('POST', '/api/contacts', bearer, { email, firstName: 'C' })));
      for (const r of created) expect(r.status, r.body).toBe(201);
    }
    const campaign = await call('POST', '/api/campaigns', bearer, {
      name: 'Deploy',
      definition: {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'event', name: 'deploy_go' } },
          { id: 'one', type: 'email', config: { subject: 'Step one', html: '<p>one</p>' } },
          { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 2 } },
          { id: 'two', type: 'email', config: { subject: 'Step two', html: '<p>two</p>' } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [
          { from: 't', to: 'one' },
          { from: 'one', to: 'w' },
          { from: 'w', to: 'two' },
          { from: 'two', to: 'x' },
        ],
      },
    });
    expect(campaign.status, campaign.body).toBe(201);
    const campaignId = (JSON.parse(campaign.body) as { campaign: { id: string } }).campaign.id;
    expect((await call('POST', `/api/campaigns/${campaignId}/publish`, bearer)).status).toBe(200);

    // The load: readers, tracking hits, and an enroller posting one event per contact.
    const failures: string[] = [];
    let requests = 0;
    let loading = true;
    const check = async (what: string, expected: number, answer: Promise<{ status: number; body: string; error?: string }>) => {
      const r = await answer;
      requests += 1;
      if (r.status !== expected) failures.push(`${what}: ${r.status} ${r.error ?? r.body.slice(0, 200)}`);
    };
    const readers = Array.from({ length: 4 }, async (_, n) => {
      while (loading) {
        await check('GET /api/contacts', 200, call('GET', '/api/contacts?limit=20', bearer));
        await check('GET /api/campaigns', 200, call('GET', '/api/campaigns', bearer));
        const open = openPaths[n % Math.max(1, openPaths.length)];
        if (open) await check('GET /t/o', 200, call('GET', open, { 'user-agent': 'Mozilla/5.0' }));
      }
    });
    const enrolled: string[] = [];
    const enroller = (async () => {
      for (const email of emails) {
        if (!loading) break;
        await check('POST /api/events', 201, call('POST', '/api/events', bearer, { email, name: 'deploy_go' }));
        enrolled.push(email);
        await sleep(40);
      }
    })();

    await sleep(2_000);
    const logs: string[] = [];
    const switches: Array<{ ms: number; enrolledDuring: number; requestsDuring: number }> = [];
    for (let i = 0; i < 3; i += 1) {
      const [started, enrolledBefore, requestsBefore] = [Date.now(), enrolled.length, requests];
      logs.push(await deploy('switch'));
      switches.push({ ms: Date.now() - started, enrolledDuring: enrolled.length - enrolledBefore, requestsDuring: requests - requestsBefore });
      await sleep(1_000);
    }
    loading = false;
    await Promise.all([...readers, enroller]);

    // Every step of every enrolled contact: the campaign's messages all sent, none pending.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pending = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE status NOT IN ('completed', 'exited', 'failed')`);
      const unsent = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE status IN ('queued', 'sending')`);
      if (pending.rows[0]!.n === 0 && unsent.rows[0]!.n === 0) break;
      if (Date.now() > deadline) throw new Error(`campaign not finished: ${pending.rows[0]!.n} enrollments, ${unsent.rows[0]!.n} messages pending`);
      await sleep(200);
    }
    await sleep(300);

    console.log(`deploy test: ${requests} requests through nginx, ${failures.length} failed; switches ${JSON.stringify(switches)}; ${enrolled.length} contacts enrolled; ${[...received.values()].reduce((a, b) => a + b, 0)} emails received`);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(200);
    // Load and enrollments kept flowing during each switch, not only between them.
    for (const done of switches) expect(done.enrolledDuring).toBeGreaterThan(0);
    for (const done of switches) expect(done.requestsDuring).toBeGreaterThan(20);
    for (const log of logs) expect(log).toMatch(/stopped cleanly/);
    // Each enrolled contact got each step exactly once; nobody else got anything.
    const expected = enrolled.flatMap((email) => [`${email}|Step one`, `${email}|Step two`]).sort();
    expect([...received.keys()].sort()).toEqual(expected);
    expect([...received.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const stored = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM messages WHERE source_type = 'campaign' GROUP BY status`);
    expect(stored.rows).toEqual([{ status: 'sent', n: expected.length }]);
    const failed = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE status <> 'completed'`);
    expect(failed.rows[0]!.n).toBe(0);
  });

  it('lets a request in flight at SIGTERM finish: the live colour drains on down', async () => {
    const live = readFileSync(path.join(state, 'active'), 'utf8').trim();
    const port = Number(live === 'blue' ? env.BLUE_PORT : env.GREEN_PORT);
    const logFile = path.join(state, `${live}.log`);
    const logLength = readFileSync(logFile, 'utf8').length;
    // A request whose body is still arriving when the colour gets SIGTERM.
    const body = JSON.stringify({ email: 'in-flight@example.com', firstName: 'In flight' });
    let finish = () => undefined as void;
    const answer = new Promise<{ status: number; body: string }>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/contacts', agent: false, headers: { ...bearer, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', (error) => resolve({ status: 0, body: error.message }));
      req.write(body.slice(0, 10));
      finish = () => void req.end(body.slice(10));
    });
    await sleep(300);
    const down = deploy('down');
    const deadline = Date.now() + 60_000;
    while (!readFileSync(logFile, 'utf8').slice(logLength).includes('shutting down')) {
      if (Date.now() > deadline) throw new Error('the colour never logged "shutting down"');
      await sleep(50);
    }
    await sleep(500);
    finish();
    const answered = await answer;
    expect(answered.status, answered.body).toBe(201);
    expect(await down).toMatch(new RegExp(`${live} stopped cleanly`));
    const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts WHERE email = 'in-flight@example.com'`);
    expect(stored.rows[0]!.n).toBe(1);
  });
});
