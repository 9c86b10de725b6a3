/**
 * bench:api side by side, for a machine too busy for runs one after another to compare: the server
 * of another checkout (AB_BASELINE, a worktree with its node_modules, e.g. main) and this one run at
 * the same time, each on its own database on DATABASE_URL's server seeded alike (10,000 contacts
 * and an API key, as bench/api.ts), and autocannon (50 connections) alternates between them in
 * slices of AB_SECONDS (order swapped every round, AB_ROUNDS rounds), so both see the same load.
 * Prints per slice req/s, p99, the server's and its PostgreSQL backends' CPU per request, and the
 * load average; then the totals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 5);
const SECONDS = Number(process.env.AB_SECONDS ?? 6);
const adminUrl = process.env.DATABASE_URL;
const baseline = process.env.AB_BASELINE;
if (!adminUrl || !baseline) {
  process.stderr.write('DATABASE_URL (postgres://…) and AB_BASELINE (the other checkout) are required\n');
  process.exit(78);
}
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
const autocannonBin = path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')), 'autocannon.js');
/** utime + stime of a process in ms, from /proc (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of the PostgreSQL backends connected to `db`. */
async function pgCpu(admin: pg.Client, db: string): Promise<number> {
  let total = 0;
  for (const { pid } of (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [db])).rows) {
    try {
      total += cpuMs(pid);
    } catch {
      // a backend that ended meanwhile
    }
  }
  return total;
}
function startServer(root: string, url: string): Promise<{ child: ChildProcess; app: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/api-server.ts')], { cwd: root, env: { ...process.env, DATABASE_URL: url, DATABASE_POOL_SIZE: '10', UNITE_ROLE: 'api', MAX_EVENT_LOOP_DELAY_MS: '0', NODE_ENV: 'production', LOG_LEVEL: 'warn', APP_SECRET: randomBytes(32).toString('hex'), PUBLIC_URL: 'http://127.0.0.1:3999', SECURE_COOKIES: 'false', DATA_DIR: path.join(os.tmpdir(), 'uh-bench-api') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const line = out.split('\n').find((l) => l.startsWith('{')); if (line) resolve({ child, app: (JSON.parse(line) as { app: number }).app }); });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}
function autocannon(url: string, headers: Record<string, string>, seconds: number): Promise<{ reqPerS: number; p99: number; requests: number; bad: number }> {
  const args = [autocannonBin, '-c', '50', '-d', String(seconds), '-j'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = ''; child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => { if (code !== 0) return reject(new Error('autocannon failed')); const r = JSON.parse(out); resolve({ reqPerS: r.requests.total / r.duration, p99: r.latency.p99, requests: r.requests.total, bad: r.errors + r.non2xx }); });
  });
}
async function seed(url: string, base: string): Promise<string> {
  const signup = await fetch(`${base}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `ab-${randomBytes(4).toString('hex')}@example.com`, password: 'bench password 123', name: 'Bench', organizationName: 'Bench' }) });
  const workspaceId = ((await signup.json()) as { workspace: { id: string } }).workspace.id;
  const cookies = signup.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('uh_csrf='))!.slice(8);
  const created = await fetch(`${base}/api/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'bench', role: 'admin' }) });
  const key = ((await created.json()) as { key: string }).key;
  const client = new pg.Client({ connectionString: url }); await client.connect();
  await client.query(`INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, status, tags, custom_fields, score, created_at, updated_at)
     SELECT $1, 'person' || i || '@example.com', 'First' || i, 'Last' || i, 'Company ' || (i % 500), 'Engineer', (ARRAY['prospect','lead','customer'])[1 + i % 3], ARRAY['tag' || (i % 20)],
            jsonb_build_object('plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END, 'seats', i % 50), i % 101, now() - make_interval(secs => $2 - i), now() - make_interval(secs => $2 - i)
       FROM generate_series(1, $2) AS i`, [workspaceId, 10000]);
  await client.query('ANALYZE contacts'); await client.end();
  return key;
}
const sides = [{ name: 'baseline', root: path.resolve(baseline) }, { name: 'this', root: here }];
const admin = new pg.Client({ connectionString: adminUrl }); await admin.connect();
const running: Array<{ name: string; db: string; child: ChildProcess; base: string; key: string }> = [];
try {
  for (const side of sides) {
    const db = `uh_ab_${side.name}_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${db}`);
    const url = withDatabase(adminUrl, db);
    const d = createPostgresDatabase(url, 2); await migrate(d); await d.close();
    const s = await startServer(side.root, url);
    const base = `http://127.0.0.1:${s.app}`;
    running.push({ name: side.name, db, child: s.child, base, key: await seed(url, base) });
  }
  const target = (r: (typeof running)[number]) => `${r.base}/api/contacts?limit=50`;
  for (const r of running) { const page = await (await fetch(target(r), { headers: { authorization: `Bearer ${r.key}` } })).json() as { contacts: unknown[] }; if (page.contacts.length !== 50) throw new Error('bad page'); await autocannon(target(r), { authorization: `Bearer ${r.key}` }, 4); }
  const totals = new Map<string, { req: number; cpu: number; pg: number; rates: number[] }>();
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? running : [...running].reverse();
    for (const r of order) {
      const c0 = cpuMs(r.child.pid!); const p0 = await pgCpu(admin, r.db);
      const run = await autocannon(target(r), { authorization: `Bearer ${r.key}` }, SECONDS);
      const c1 = cpuMs(r.child.pid!); const p1 = await pgCpu(admin, r.db);
      if (run.bad > 0) throw new Error(`${r.name}: ${run.bad} failed requests`);
      const t = totals.get(r.name) ?? { req: 0, cpu: 0, pg: 0, rates: [] };
      t.req += run.requests; t.cpu += c1 - c0; t.pg += p1 - p0; t.rates.push(run.reqPerS); totals.set(r.name, t);
      console.log(`round ${round + 1} ${r.name.padEnd(8)} ${run.reqPerS.toFixed(0).padStart(5)} req/s  p99 ${String(run.p99).padStart(4)} ms  server ${(((c1 - c0) * 1000) / run.requests).toFixed(0).padStart(5)} µs/req  PostgreSQL ${(((p1 - p0) * 1000) / run.requests).toFixed(0).padStart(4)} µs/req  load ${os.loadavg()[0]!.toFixed(2)}`);
    }
  }
  for (const [name, t] of totals) console.log(`TOTAL ${name.padEnd(8)} median ${[...t.rates].sort((a, b) => a - b)[Math.floor(t.rates.length / 2)]!.toFixed(0)} req/s, best ${Math.max(...t.rates).toFixed(0)} req/s, server ${((t.cpu * 1000) / t.req).toFixed(0)} µs/req, PostgreSQL ${((t.pg * 1000) / t.req).toFixed(0)} µs/req over ${t.req} requests`);
} finally {
  for (const r of running) { r.child.kill('SIGTERM'); await new Promise((res) => r.child.once('exit', res)); await admin.query(`DROP DATABASE IF EXISTS ${r.db} WITH (FORCE)`); }
  await admin.end();
}
