/**
 * `npm run chaos` (docs/reliability.md#chaos): the production server (`src/server.ts`) as
 * deployed — one UNITE_ROLE=api process and one UNITE_ROLE=worker process — sending campaign emails through SMTP to a local receiver that counts every
 * message, on a PostgreSQL cluster this script creates on its own port, under four faults:
 *   a. SIGKILL of both server processes three times while 10,000 campaign emails are in flight;
 *   b. PostgreSQL restarted (fast shutdown, 3 s down) mid-run;
 *   c. the SMTP server unreachable for 60 s mid-run;
 *   d. a statement timeout on one sender batch (a trigger stalls one message's claim past the
 *      database's statement_timeout once).
 * After each: every message is `sent` and was received exactly once, except those the product
 * reports `uncertain` (handed to SMTP when the fault hit, at most 100 per fault: docs/email.md),
 * which were received at most once; nothing else. Exits 1 when a check fails. Prints
 * `CHAOS <scenario> <json>` lines with the measurements.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { createPostgresDatabase } from '../src/db/database.js';
import { CredentialVault } from '../src/email/provider-settings.js';
import { migrate } from '../src/db/migrate.js';
import { createPgCluster, freePort, type PgCluster } from '../test/pg-cluster.js';

const root = path.resolve(import.meta.dirname, '..');
const APP_SECRET = 'chaos-secret-that-is-at-least-32-characters-long';
const METRICS_TOKEN = 'chaos-metrics-token-0123456789';
/** The sender's lanes × concurrency: the most messages one process holds past their hand-off mark. */
const IN_FLIGHT_BOUND = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failures: string[] = [];

function check(name: string, ok: boolean, detail: unknown = ''): void {
  console.log(`CHECK ${name} ${ok ? 'ok' : `FAILED ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  if (!ok) failures.push(name);
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out (${ms} ms) waiting for ${what}`);
    await sleep(100);
  }
}

// ---- the SMTP receiver, behind a TCP relay the chaos can cut ---------------------------------

const received = new Map<string, number>();
const receivedWith = (prefix: string) => [...received.entries()].filter(([a]) => a.startsWith(prefix));
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  maxClients: 500,
  onData(stream, session, callback) {
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      const to = session.envelope.rcptTo[0]!.address;
      received.set(to, (received.get(to) ?? 0) + 1);
      callback();
    });
  },
});
smtp.on('error', () => undefined);

/** What the server's SMTP_URL points at: forwards to the receiver while up; refuses and cuts while down. */
class Relay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}
  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

// ---- the server under test ---------------------------------------------------------------------

/** The production composition (docs/scaling.md): one process serving the API, one running the workers. */
interface Server {
  api: ChildProcess;
  worker: ChildProcess;
  output: () => string;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function startServer(databaseUrl: string, port: number, smtpPort: number, extraEnv: Record<string, string> = {}): Server {
  let output = '';
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    APP_SECRET,
    METRICS_TOKEN,
    PUBLIC_URL: 'https://app.example.com',
    SECURE_COOKIES: 'false',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  delete env.SENTRY_DSN;
  delete env.REDIS_URL;
  const start = (role: 'api' | 'worker') => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env: { ...env, UNITE_ROLE: role, PORT: role === 'api' ? String(port) : '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c) => (output = (output + `[${role}] ${String(c)}`).slice(-200_000)));
    child.stderr!.on('data', (c) => (output = (output + `[${role}] ${String(c)}`).slice(-200_000)));
    return child;
  };
  return { api: start('api'), worker: start('worker'), output: () => output };
}

/** Sends `signal` to both processes and waits for them (SIGKILL after 30 s). */
async function kill(server: Server, signal: NodeJS.Signals): Promise<void> {
  await Promise.all(
    [server.api, server.worker].map(async (child) => {
      if (!alive(child)) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await Promise.race([exited, sleep(30_000)]);
      if (alive(child)) child.kill('SIGKILL');
    }),
  );
}

async function status(port: number, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${url}`, { headers, signal: AbortSignal.timeout(3_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

// ---- a scenario: fresh database, workspace, campaign, contacts enrolled ------------------------

interface Scenario {
  name: string;
  db: pg.Client;
  databaseUrl: string;
  prefix: string;
  total: number;
  appPort: number;
}

async function prepare(cluster: PgCluster, name: string, total: number): Promise<Scenario> {
  const dbName = `chaos_${name}`;
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = cluster.url(dbName);
  const migrator = createPostgresDatabase(databaseUrl, 2);
  await migrate(migrator);
  await migrator.close();
  const db = new pg.Client({ connectionString: databaseUrl });
  db.on('error', () => undefined);
  await db.connect();
  return { name, db, databaseUrl, prefix: `${name}-`, total, appPort: await freePort() };
}

/** Signs up through the API, adds the contacts, publishes the campaign and enrolls them all. */
async function enrollAll(s: Scenario, beforeEnroll?: (workspaceId: string) => Promise<void>): Promise<void> {
  const base = `http://127.0.0.1:${s.appPort}`;
  const signup = await fetch(`${base}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `owner@${s.name}.test`, password: 'a long password', name: 'Chaos', organizationName: s.name }) });
  if (signup.status !== 201) throw new Error(`signup ${signup.status} ${await signup.text()}`);
  const cookie = signup.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = (await signup.json()) as { csrfToken: string };
  const key = await fetch(`${base}/api/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'chaos', role: 'admin' }) });
  const headers = { authorization: `Bearer ${((await key.json()) as { key: string }).key}`, 'content-type': 'application/json' };
  const workspace = await s.db.query<{ id: string }>('SELECT id FROM workspaces LIMIT 1');
  await beforeEnroll?.(workspace.rows[0]!.id);
  const contacts = await s.db.query<{ id: string }>(
    `INSERT INTO contacts (workspace_id, email, first_name) SELECT $1, $2 || i || '@example.com', 'C' FROM generate_series(1, $3) AS i RETURNING id`,
    [workspace.rows[0]!.id, s.prefix, s.total],
  );
  const created = await fetch(`${base}/api/campaigns`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      name: `Chaos ${s.name}`,
      definition: {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'manual' } },
          { id: 'mail', type: 'email', config: { subject: 'Chaos', html: '<p>Hello</p>' } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [
          { from: 't', to: 'mail' },
          { from: 'mail', to: 'x' },
        ],
      },
    }),
  });
  if (created.status !== 201) throw new Error(`campaign ${created.status} ${await created.text()}`);
  const campaignId = ((await created.json()) as { campaign: { id: string } }).campaign.id;
  const published = await fetch(`${base}/api/campaigns/${campaignId}/publish`, { method: 'POST', headers: { authorization: headers.authorization } });
  if (published.status !== 200) throw new Error(`publish ${published.status}`);
  const ids = contacts.rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 1000) {
    const enrolled = await fetch(`${base}/api/campaigns/${campaignId}/enroll`, { method: 'POST', headers, body: JSON.stringify({ contactIds: ids.slice(i, i + 1000) }) });
    if (enrolled.status !== 200) throw new Error(`enroll ${enrolled.status} ${await enrolled.text()}`);
  }
}

const receivedCount = (s: Scenario) => receivedWith(s.prefix).reduce((sum, [, n]) => sum + n, 0);

async function waitReady(s: Scenario, server: Server, ms = 120_000): Promise<void> {
  await until(`${s.name} server ready`, ms, async () => {
    if (!alive(server.api) || !alive(server.worker)) throw new Error(`server exited: ${server.output().slice(-3000)}`);
    return (await status(s.appPort, '/health/ready')).status === 200;
  });
}

/** Waits until every enrollment ran and no message is queued or sending; then checks exactly-once. */
async function settleAndCheck(s: Scenario, faults: number, ms: number): Promise<Record<string, unknown>> {
  await until(`${s.name} settled`, ms, async () => {
    const r = await s.db.query<{ pending: number; unsent: number; messages: number }>(
      `SELECT (SELECT count(*)::int FROM enrollments WHERE status = 'active') AS pending,
              (SELECT count(*)::int FROM messages WHERE status IN ('queued', 'sending')) AS unsent,
              (SELECT count(*)::int FROM messages WHERE source_type = 'campaign') AS messages`,
    );
    const row = r.rows[0]!;
    return row.pending === 0 && row.unsent === 0 && row.messages === s.total;
  });
  await sleep(300);
  const rows = await s.db.query<{ to_address: string; status: string }>(`SELECT to_address, status FROM messages WHERE source_type = 'campaign'`);
  const byStatus: Record<string, number> = {};
  for (const r of rows.rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const twice = receivedWith(s.prefix).filter(([, n]) => n > 1);
  const sentNotReceived = rows.rows.filter((r) => r.status === 'sent' && received.get(r.to_address) !== 1);
  const uncertain = byStatus.uncertain ?? 0;
  const uncertainReceived = rows.rows.filter((r) => r.status === 'uncertain' && received.get(r.to_address) === 1).length;
  check(`${s.name}: every message exists once`, rows.rows.length === s.total && new Set(rows.rows.map((r) => r.to_address)).size === s.total, rows.rows.length);
  check(`${s.name}: only sent or uncertain`, Object.keys(byStatus).every((k) => k === 'sent' || k === 'uncertain'), byStatus);
  check(`${s.name}: nothing received twice`, twice.length === 0, twice.slice(0, 5));
  check(`${s.name}: every sent message received exactly once`, sentNotReceived.length === 0, sentNotReceived.slice(0, 5));
  check(`${s.name}: uncertain within ${IN_FLIGHT_BOUND} per fault`, uncertain <= IN_FLIGHT_BOUND * Math.max(1, faults), uncertain);
  return { total: s.total, statuses: byStatus, receivedTotal: receivedCount(s), uncertain, uncertainThatArrived: uncertainReceived, duplicates: twice.length };
}

// ---- the scenarios -------------------------------------------------------------------------------

async function sigkill(cluster: PgCluster, smtpPort: number): Promise<void> {
  const s = await prepare(cluster, 'sigkill', 10_000);
  let server = startServer(s.databaseUrl, s.appPort, smtpPort);
  await waitReady(s, server);
  await enrollAll(s);
  const kills: Array<{ atReceived: number; sendingHeld: number; restartReadyMs: number }> = [];
  for (const fraction of [0.15, 0.4, 0.65]) {
    const threshold = Math.floor(s.total * fraction);
    await until(`${threshold} received`, 300_000, async () => receivedCount(s) >= threshold);
    await kill(server, 'SIGKILL');
    const held = await s.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE status = 'sending'`);
    const restarted = Date.now();
    server = startServer(s.databaseUrl, s.appPort, smtpPort);
    await waitReady(s, server);
    kills.push({ atReceived: receivedCount(s), sendingHeld: held.rows[0]!.n, restartReadyMs: Date.now() - restarted });
  }
  const result = await settleAndCheck(s, kills.length, 600_000);
  await kill(server, 'SIGTERM');
  await s.db.end();
  console.log(`CHAOS sigkill ${JSON.stringify({ kills, ...result })}`);
}

async function postgresRestart(cluster: PgCluster, smtpPort: number): Promise<void> {
  const s = await prepare(cluster, 'pgrestart', 3_000);
  const server = startServer(s.databaseUrl, s.appPort, smtpPort);
  await waitReady(s, server);
  await enrollAll(s);
  await until('20 % received', 300_000, async () => receivedCount(s) >= s.total * 0.2);
  await s.db.end();
  cluster.stop();
  const stoppedAt = Date.now();
  const outage = await until('/health/ready to report the outage', 10_000, async () => {
    const r = await status(s.appPort, '/health/ready');
    return r.status === 503 ? r.status : null;
  });
  await sleep(3_000);
  cluster.start();
  const startedAt = Date.now();
  await until('/health/ready back to 200', 30_000, async () => (await status(s.appPort, '/health/ready')).status === 200);
  const recoveredMs = Date.now() - startedAt;
  check('pgrestart: /health/ready reported the outage (503)', outage === 503);
  check('pgrestart: recovered within 10 s of PostgreSQL being back, no operator action', recoveredMs <= 10_000, recoveredMs);
  check('pgrestart: both server processes (api and worker) lived on', alive(server.api) && alive(server.worker), server.output().slice(-2000));
  s.db = new pg.Client({ connectionString: s.databaseUrl });
  s.db.on('error', () => undefined);
  await s.db.connect();
  const result = await settleAndCheck(s, 1, 600_000);
  await kill(server, 'SIGTERM');
  await s.db.end();
  console.log(`CHAOS pgrestart ${JSON.stringify({ downMs: startedAt - stoppedAt, readyAgainMs: recoveredMs, ...result })}`);
}

async function smtpOutage(cluster: PgCluster, relay: Relay): Promise<void> {
  const s = await prepare(cluster, 'smtpdown', 3_000);
  // The workspace's own SMTP provider (the default SMTP_URL has no circuit breaker: only workspace
  // providers do, docs/email.md), pointing at the relay; a private address, so allowed explicitly.
  const server = startServer(s.databaseUrl, s.appPort, relay.port, { SMTP_ALLOW_PRIVATE_HOSTS: 'true' });
  await waitReady(s, server);
  await enrollAll(s, async (workspaceId) => {
    await s.db.query(`INSERT INTO email_providers (workspace_id, name, kind, credentials_encrypted) VALUES ($1, 'Relay', 'smtp', $2)`, [workspaceId, new CredentialVault(APP_SECRET).encrypt({ url: `smtp://127.0.0.1:${relay.port}` })]);
  });
  await until('20 % received', 300_000, async () => receivedCount(s) >= s.total * 0.2);
  await relay.down();
  const downAt = Date.now();
  // Messages whose data had already passed the relay when it was cut still arrive (their 250 was
  // lost: they are the uncertain ones); count from a second later.
  await sleep(1_000);
  const atDown = receivedCount(s);
  let breakerOpen = false;
  let deepDetail = '';
  while (Date.now() - downAt < 60_000) {
    // The breaker lives in the worker process, which serves no HTTP; it reports its breakers every
    // 5 s (guardian_circuit_states) and the api process's /health/deep reads those reports.
    const deep = await status(s.appPort, '/health/deep', { authorization: `Bearer ${METRICS_TOKEN}` });
    if (/provider circuit\(s\) open/.test(deep.body)) {
      breakerOpen = true;
      deepDetail = deep.body.slice(0, 400);
    }
    await sleep(1_000);
  }
  const duringOutage = receivedCount(s) - atDown;
  const queuedAtReturn = await s.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE status IN ('queued', 'sending')`);
  await relay.up();
  const upAt = Date.now();
  check("smtpdown: the circuit breaker opened during the outage (the worker's breaker, in the api process's /health/deep)", breakerOpen, deepDetail);
  check('smtpdown: nothing was received while the SMTP server was down', duringOutage === 0, duringOutage);
  const result = await settleAndCheck(s, 1, 900_000);
  const drainedMs = Date.now() - upAt;
  check('smtpdown: no message failed for good', !('failed' in (result.statuses as Record<string, number>)));
  await kill(server, 'SIGTERM');
  await s.db.end();
  console.log(`CHAOS smtpdown ${JSON.stringify({ downMs: 60_000, breakerOpen, queuedAtReturn: queuedAtReturn.rows[0]!.n, deliveredAfterReturnWithinMs: drainedMs, ...result })}`);
}

async function statementTimeout(cluster: PgCluster, smtpPort: number): Promise<void> {
  const s = await prepare(cluster, 'stmttimeout', 3_000);
  const target = `${s.prefix}1500@example.com`;
  // One claim of the batch holding the target stalls past statement_timeout, once (a sequence is
  // not rolled back with the failed transaction, so the retry passes).
  await s.db.query(`CREATE SEQUENCE chaos_stalls`);
  await s.db.query(`CREATE FUNCTION chaos_stall() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.to_address = '${target}' AND OLD.status = 'queued' AND NEW.status = 'sending' AND nextval('chaos_stalls') = 1 THEN
        PERFORM pg_sleep(12);
      END IF;
      RETURN NEW;
    END $$`);
  await s.db.query(`CREATE TRIGGER chaos_stall BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION chaos_stall()`);
  await s.db.query(`ALTER DATABASE chaos_stmttimeout SET statement_timeout = '6s'`);
  const server = startServer(s.databaseUrl, s.appPort, smtpPort);
  await waitReady(s, server);
  await enrollAll(s);
  const stalled = await until('the stalled claim', 300_000, async () => {
    const r = await s.db.query<{ n: string }>(`SELECT last_value::text AS n FROM chaos_stalls WHERE is_called`);
    return r.rows.length > 0 ? Date.now() : null;
  });
  const atStall = receivedCount(s);
  await sleep(6_000);
  const duringStall = receivedCount(s) - atStall;
  const result = await settleAndCheck(s, 1, 600_000);
  const hits = await s.db.query<{ n: string }>(`SELECT last_value::text AS n FROM chaos_stalls`);
  const targetRow = await s.db.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM messages WHERE to_address = $1`, [target]);
  const timedOut = /statement timeout/.test(server.output());
  check('stmttimeout: the stalled batch hit the statement timeout and failed (logged)', timedOut, server.output().slice(-1500));
  check('stmttimeout: that batch was retried: the target was claimed again and sent once', Number(hits.rows[0]!.n) >= 2 && targetRow.rows[0]?.status === 'sent' && received.get(target) === 1, { hits: hits.rows[0]!.n, target: targetRow.rows[0], received: received.get(target) });
  check('stmttimeout: other batches went on meanwhile', duringStall > 0, duringStall);
  await kill(server, 'SIGTERM');
  await s.db.end();
  console.log(`CHAOS stmttimeout ${JSON.stringify({ stalledAt: new Date(stalled).toISOString(), receivedDuringStall6s: duringStall, stallTriggerHits: Number(hits.rows[0]!.n), target: targetRow.rows[0], ...result })}`);
}

// ---- main ----------------------------------------------------------------------------------------

const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);
const cluster = await createPgCluster('unite-hub-chaos-');
await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
const smtpPort = (smtp.server.address() as net.AddressInfo).port;
const relay = new Relay(await freePort(), smtpPort);
await relay.up();
const started = Date.now();
try {
  for (const [name, run] of [
    ['sigkill', () => sigkill(cluster, relay.port)],
    ['pgrestart', () => postgresRestart(cluster, relay.port)],
    ['smtpdown', () => smtpOutage(cluster, relay)],
    ['stmttimeout', () => statementTimeout(cluster, relay.port)],
  ] as const) {
    if (!wanted(name)) continue;
    const t0 = Date.now();
    try {
      await run();
    } catch (error) {
      check(`${name}: ran to the end`, false, (error as Error).message);
    }
    console.log(`CHAOS ${name} took ${Math.round((Date.now() - t0) / 1000)} s`);
  }
} finally {
  await relay.down();
  smtp.close(() => undefined);
  cluster.destroy();
}
console.log(failures.length === 0 ? `chaos: all checks passed in ${Math.round((Date.now() - started) / 1000)} s` : `chaos: ${failures.length} failed: ${failures.join('; ')}`);
process.exit(failures.length === 0 ? 0 : 1);
