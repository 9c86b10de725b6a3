/**
 * What each request of the load mix costs (docs/load.md): `npm run bench:endpoints` on real
 * PostgreSQL (DATABASE_URL, required; over TCP or a Unix socket, `postgres://user@%2Fvar%2Frun%2Fpostgresql/db`). In a fresh database, the production
 * composition (one UNITE_ROLE=api process, one UNITE_ROLE=worker process, as load/run.ts starts
 * them) and the load profiles' workspace (load/seed.ts); then each endpoint of
 * load/scenarios.yml alone, with autocannon at a few connections for a few seconds, rotating over
 * the seeded credentials, contacts and links (a tag or a job title new each time, so that every write
 * changes something). For each: requests/s, p99, and the CPU per request of
 * the API process, of the worker (what the request leaves it to do: its CPU until it is back to its
 * idle rate, less that rate over the time) and of the database's PostgreSQL backends. Ends with `BENCH endpoint_cpu_us_<name>` lines
 * (all three processes together) and the mix's weighted mean, `BENCH load_mix_cpu_us_per_request`.
 * BENCH_ONLY=<substring> runs only the endpoints whose name contains it; BENCH_PG_SETTINGS sets
 * PostgreSQL settings for the server's sessions (see below); BENCH_SPLIT=user|system counts only that
 * part of the CPU time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { seedWorkspace } from '../load/seed.js';
import { createScratchDatabase, requireDatabaseUrl } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ONLY = process.env.BENCH_ONLY;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Row = Record<'apiKey' | 'writeKey' | 'sessionCookie' | 'csrf' | 'ip' | 'contactId' | 'contactEmail' | 'searchTerm' | 'campaignId' | 'templateId' | 'openPath' | 'clickPath' | 'loginEmail', string>;

interface Endpoint {
  name: string;
  /** How many requests of this endpoint one arrival of the load mix makes, on average (scenario weight × occurrences / 100). */
  perArrival: number;
  request(row: Row, loginPassword: string): { method: string; path: string; headers?: Record<string, string>; body?: unknown };
}

const session = (r: Row) => ({ cookie: r.sessionCookie });
const bearer = (r: Row) => ({ authorization: `Bearer ${r.apiKey}` });
const ENDPOINTS: Endpoint[] = [
  { name: 'contacts_list', perArrival: 0.22, request: (r) => ({ method: 'GET', path: '/api/contacts?limit=50', headers: session(r) }) },
  { name: 'contacts_search', perArrival: 0.22, request: (r) => ({ method: 'GET', path: `/api/contacts?limit=50&search=${r.searchTerm}`, headers: session(r) }) },
  { name: 'contact_get', perArrival: 0.2, request: (r) => ({ method: 'GET', path: `/api/contacts/${r.contactId}`, headers: session(r) }) },
  { name: 'contact_timeline', perArrival: 0.2, request: (r) => ({ method: 'GET', path: `/api/contacts/${r.contactId}/timeline`, headers: session(r) }) },
  { name: 'campaigns_list', perArrival: 0.2, request: (r) => ({ method: 'GET', path: '/api/campaigns', headers: session(r) }) },
  { name: 'campaign_get', perArrival: 0.2, request: (r) => ({ method: 'GET', path: `/api/campaigns/${r.campaignId}`, headers: session(r) }) },
  { name: 'contact_tag', perArrival: 0.22, request: (r) => ({ method: 'POST', path: `/api/contacts/${r.contactId}/tags`, headers: { ...session(r), 'x-csrf-token': r.csrf }, body: { tags: [`seen-${randomBytes(3).toString('hex')}`] } }) },
  { name: 'login', perArrival: 0.02, request: (r, password) => ({ method: 'POST', path: '/api/auth/login', headers: { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1` }, body: { email: r.loginEmail, password } }) },
  { name: 'contact_create', perArrival: 0.2, request: (r) => ({ method: 'POST', path: '/api/contacts', headers: bearer(r), body: { email: `bench-${randomBytes(6).toString('hex')}@example.com`, firstName: 'Load', company: 'Load Co', tags: ['api'] } }) },
  { name: 'contact_update', perArrival: 0.2, request: (r) => ({ method: 'PATCH', path: `/api/contacts/${r.contactId}`, headers: bearer(r), body: { jobTitle: `Buyer ${randomBytes(3).toString('hex')}`, customFields: { plan: 'pro' } } }) },
  { name: 'campaign_enroll', perArrival: 0.2, request: (r) => ({ method: 'POST', path: `/api/campaigns/${r.campaignId}/enroll`, headers: bearer(r), body: { contactIds: [r.contactId] } }) },
  { name: 'contacts_list_api_key', perArrival: 0.2, request: (r) => ({ method: 'GET', path: '/api/contacts?limit=50', headers: bearer(r) }) },
  {
    name: 'v1_batch',
    perArrival: 0.2,
    request: (r) => ({
      method: 'POST',
      path: '/v1/batch',
      headers: { authorization: `Basic ${Buffer.from(`${r.writeKey}:`).toString('base64')}` },
      body: {
        batch: [
          { type: 'identify', userId: r.contactEmail, traits: { email: r.contactEmail, plan: 'pro' } },
          { type: 'track', userId: r.contactEmail, event: 'Page Viewed', properties: { path: '/pricing' } },
          { type: 'track', userId: r.contactEmail, event: 'Feature Used', properties: { feature: 'export' } },
        ],
      },
    }),
  },
  { name: 'track_open', perArrival: 0.3, request: (r) => ({ method: 'GET', path: r.openPath }) },
  { name: 'track_click', perArrival: 0.3, request: (r) => ({ method: 'GET', path: r.clickPath }) },
  { name: 'templates_list', perArrival: 0.08, request: (r) => ({ method: 'GET', path: '/api/templates', headers: session(r) }) },
  { name: 'template_preview', perArrival: 0.08, request: (r) => ({ method: 'POST', path: `/api/templates/${r.templateId}/preview`, headers: { ...session(r), 'x-csrf-token': r.csrf }, body: { contactId: r.contactId } }) },
];

/** utime + stime of a process in ms, from /proc (USER_HZ = 100). */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    if (process.env.BENCH_SPLIT) return Number(fields[process.env.BENCH_SPLIT === 'user' ? 11 : 12]) * 10;
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

async function backendsMs(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const pids = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Map(pids.rows.map(({ pid }) => [pid, cpuMs(pid)]));
}

/** CPU the backends used between two readings (a backend that appeared counts from zero; one that ended is lost). */
function backendsDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

function parsePayload(file: string): Row[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const fields = header!.split(',');
  return lines.map((line) => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i += 1) {
      const ch = line[i]!;
      if (quoted && ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') {
        quoted = !quoted;
      } else if (ch === ',' && !quoted) {
        cells.push(cell);
        cell = '';
      } else {
        cell += ch;
      }
    }
    cells.push(cell);
    return Object.fromEntries(fields.map((f, i) => [f, cells[i] ?? ''])) as Row;
  });
}

async function waitReady(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/health/ready`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server was not ready within 60 s');
}

/**
 * The worker's CPU rate (ms per second) when nothing is asked of it: its background loops (claims,
 * heartbeats, Guardian) poll on their own. Measured over two seconds of quiet.
 */
async function idleRate(pid: number): Promise<number> {
  const before = cpuMs(pid);
  await new Promise((r) => setTimeout(r, 2000));
  return (cpuMs(pid) - before) / 2;
}

/**
 * Waits until the worker is back to its idle rate for a second (the work the requests left is
 * done); returns when that happened, so the idle share can be taken out of what it used meanwhile.
 */
async function workerSettled(pid: number, idle: number): Promise<number> {
  let last = cpuMs(pid);
  for (let i = 0; i < 30; i += 1) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuMs(pid);
    if (now - last <= idle + 10) return Date.now();
    last = now;
  }
  return Date.now();
}

async function main(): Promise<void> {
  const adminUrl = requireDatabaseUrl();
  const scratch = await createScratchDatabase(adminUrl, 'uh_bench_endpoints');
  const { name: database, url: databaseUrl } = scratch;
  // The admin session reads the backends' pids (pg_stat_activity) and applies BENCH_PG_SETTINGS.
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const children: ChildProcess[] = [];
  try {
    const db = createPostgresDatabase(databaseUrl, 2);
    await migrate(db);
    await db.close();
    // BENCH_PG_SETTINGS='a = 1; b = on': settings for the server's sessions (ALTER DATABASE … SET), e.g.
    // auto_explain (session_preload_libraries) or log_planner_stats, to see where PostgreSQL's CPU goes.
    for (const setting of (process.env.BENCH_PG_SETTINGS ?? '').split(';').map((s) => s.trim()).filter(Boolean)) {
      await admin.query(`ALTER DATABASE ${database} SET ${setting}`);
    }
    const appSecret = randomBytes(32).toString('hex');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const base = `http://127.0.0.1:${port}`;
    const env = { ...process.env, NODE_ENV: 'production', DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '10', APP_SECRET: appSecret, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, SECURE_COOKIES: 'false', TRUST_PROXY: 'loopback', LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', DATA_DIR: path.join(os.tmpdir(), database) };
    // BENCH_CPU_PROF=<dir>: the API process writes a V8 CPU profile there when it stops (node --cpu-prof).
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    const api = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, UNITE_ROLE: 'api' }, stdio: ['ignore', 'inherit', 'inherit'] });
    const worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, UNITE_ROLE: 'worker', PORT: '0' }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(api, worker);
    await waitReady(base, api);
    const seeded = await seedWorkspace(base, databaseUrl, appSecret, path.join(os.tmpdir(), `${database}-run`));
    const rows = parsePayload(seeded.payloadFile);
    process.stdout.write(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}; load average ${os.loadavg()[0]!.toFixed(2)}; ${SECONDS} s per endpoint at ${CONNECTIONS} connections\n`);
    process.stdout.write('| endpoint | req/s | p99 ms | non-2xx | API µs/req | worker µs/req | PostgreSQL µs/req | total µs/req |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
    const totals: Array<{ endpoint: Endpoint; total: number }> = [];
    for (const endpoint of ENDPOINTS.filter((e) => !ONLY || e.name.includes(ONLY))) {
      const idle = await idleRate(worker.pid!);
      let n = 0;
      const started = Date.now();
      const apiBefore = cpuMs(api.pid!);
      const workerBefore = cpuMs(worker.pid!);
      const pgBefore = await backendsMs(admin, database);
      const result = await autocannon({
        url: base,
        connections: endpoint.name === 'login' ? 2 : CONNECTIONS,
        duration: SECONDS,
        requests: [
          {
            setupRequest: (request: autocannon.Request) => {
              const row = rows[n++ % rows.length]!;
              const call = endpoint.request(row, seeded.loginPassword);
              return { ...request, method: call.method as 'GET', path: call.path, headers: { 'x-forwarded-for': row.ip, ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers }, body: call.body === undefined ? undefined : JSON.stringify(call.body) };
            },
          },
        ],
      });
      const apiMs = cpuMs(api.pid!) - apiBefore;
      const settled = await workerSettled(worker.pid!, idle);
      // What the requests cost the worker: its CPU meanwhile, less its idle rate over that time.
      const workerMs = Math.max(0, cpuMs(worker.pid!) - workerBefore - (idle * (settled - started)) / 1000);
      const pgMs = backendsDelta(pgBefore, await backendsMs(admin, database));
      const done = result.requests.total;
      const per = (ms: number) => Math.round((ms * 1000) / Math.max(1, done));
      const total = per(apiMs + workerMs + pgMs);
      totals.push({ endpoint, total });
      process.stdout.write(`| ${endpoint.name} | ${result.requests.average.toFixed(0)} | ${result.latency.p99} | ${result.non2xx} | ${per(apiMs)} | ${per(workerMs)} | ${per(pgMs)} | ${total} |\n`);
    }
    for (const { endpoint, total } of totals) process.stdout.write(`BENCH endpoint_cpu_us_${endpoint.name} ${total} us\n`);
    if (!ONLY) {
      const requests = totals.reduce((s, t) => s + t.endpoint.perArrival, 0);
      const weighted = totals.reduce((s, t) => s + t.endpoint.perArrival * t.total, 0) / requests;
      process.stdout.write(`BENCH load_mix_cpu_us_per_request ${Math.round(weighted)} us\n`);
    }
  } finally {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    // BENCH_KEEP_DATABASE=1 leaves the seeded database for a closer look (EXPLAIN).
    if (process.env.BENCH_KEEP_DATABASE) process.stdout.write(`kept database ${database}\n`);
    await admin.end();
    if (!process.env.BENCH_KEEP_DATABASE) await scratch.drop();
  }
}

await main();
