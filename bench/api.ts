/**
 * API read benchmark on real PostgreSQL (DATABASE_URL, required). In a fresh database: the real
 * app in its own process (bench/api-server.ts, role api), a workspace with an API key and 10,000
 * contacts, then autocannon — in a process of its own — at 50 connections against
 * `GET /api/contacts?limit=50` with the key, and against the floor (a bare Fastify route doing one
 * `SELECT 1` through the same pool in the same server process), alternated floor, api, floor, api.
 * BENCH_PATH picks another authenticated GET (e.g. /api/auth/me). Prints requests/s, p99 and the CPU per request of the server process, of its PostgreSQL
 * backends and of the load generator (its whole process, start-up included). The load generator shares the machine's cores with the server and PostgreSQL.
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

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 10_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const POOL = Number(process.env.BENCH_POOL ?? 10);
const PATH = process.env.BENCH_PATH ?? '/api/contacts?limit=50';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('DATABASE_URL is required (postgres://…)\n');
  process.exit(78);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const autocannonBin = path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')), 'autocannon.js');

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** utime + stime of a process in ms, from /proc (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** utime and stime (kernel: socket writes and reads) of a process in ms. */
function cpuSplitMs(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

async function backendsCpuMs(admin: pg.Client, database: string): Promise<number> {
  const pids = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  let total = 0;
  for (const { pid } of pids.rows) {
    try {
      total += cpuMs(pid);
    } catch {
      // a backend that ended meanwhile
    }
  }
  return total;
}

function startServer(url: string): Promise<{ child: ChildProcess; app: number; floor: number }> {
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'bench/api-server.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: String(POOL),
      UNITE_ROLE: 'api',
      // A closed loop (a fixed number of connections) limits itself: the throughput at that
      // concurrency is what is measured, so no request is shed for event-loop delay
      // (src/http/load-shedding.ts is for open arrivals: docs/load.md).
      MAX_EVENT_LOOP_DELAY_MS: '0',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      APP_SECRET: randomBytes(32).toString('hex'),
      PUBLIC_URL: 'http://127.0.0.1:3999',
      SECURE_COOKIES: 'false',
      DATA_DIR: path.join(os.tmpdir(), 'uh-bench-api'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { app: number; floor: number }) });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

interface Run {
  reqPerS: number;
  p99: number;
  p50: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU of the autocannon process over its whole run (µs per request), from this process's reaped children's times. */
  generatorCpuPerReq: number;
}

/** utime + stime of this process's waited-for children in ms (/proc/self/stat cutime, cstime). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function autocannon(url: string, headers: Record<string, string>, seconds: number): Promise<Run> {
  const args = [autocannonBin, '-c', String(CONNECTIONS), '-d', String(seconds), '-j'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const children0 = childrenCpuMs();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const r = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p99: number; p50: number }; errors: number; non2xx: number; duration: number };
      const generatorCpuPerReq = ((childrenCpuMs() - children0) * 1000) / Math.max(1, r.requests.total);
      resolve({ reqPerS: r.requests.total / r.duration, p99: r.latency.p99, p50: r.latency.p50, requests: r.requests.total, errors: r.errors, non2xx: r.non2xx, generatorCpuPerReq });
    });
  });
}

async function seed(url: string, base: string): Promise<string> {
  const signup = await fetch(`${base}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${randomBytes(4).toString('hex')}@example.com`, password: 'bench password 123', name: 'Bench', organizationName: 'Bench' }),
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${await signup.text()}`);
  const workspaceId = ((await signup.json()) as { workspace: { id: string } }).workspace.id;
  const cookies = signup.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('uh_csrf='))!.slice('uh_csrf='.length);
  const created = await fetch(`${base}/api/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
    body: JSON.stringify({ name: 'bench', role: 'admin' }),
  });
  if (created.status !== 201) throw new Error(`api key failed: ${created.status} ${await created.text()}`);
  const key = ((await created.json()) as { key: string }).key;

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, status, tags, custom_fields, score, created_at, updated_at)
     SELECT $1, 'person' || i || '@example.com', 'First' || i, 'Last' || i, 'Company ' || (i % 500), 'Engineer',
            (ARRAY['prospect','lead','customer'])[1 + i % 3], ARRAY['tag' || (i % 20)], jsonb_build_object('plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END, 'seats', i % 50),
            i % 101, now() - make_interval(secs => $2 - i), now() - make_interval(secs => $2 - i)
       FROM generate_series(1, $2) AS i`,
    [workspaceId, CONTACTS],
  );
  await client.query('ANALYZE contacts');
  await client.end();
  return key;
}

async function main(): Promise<void> {
  const name = `uh_bench_api_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl!, name);
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    const db = createPostgresDatabase(url, 2);
    await migrate(db);
    await db.close();
    server = await startServer(url);
    const base = `http://127.0.0.1:${server.app}`;
    const key = await seed(url, base);
    const auth = { authorization: `Bearer ${key}` };
    const check = await fetch(`${base}${PATH}`, { headers: auth });
    const page = (await check.json()) as { contacts?: unknown[] };
    if (check.status !== 200) throw new Error(`${PATH} answered ${check.status}`);
    if (PATH.startsWith('/api/contacts?limit=50') && page.contacts?.length !== 50) throw new Error('the list did not answer 50 contacts');

    // Warm-up (JIT, prepared plans, pool connections) for both targets.
    await autocannon(`http://127.0.0.1:${server.floor}/select1`, {}, 2);
    await autocannon(`${base}${PATH}`, auth, 2);

    const results: Record<'floor' | 'api', Array<Run & { serverCpuPerReq: number; pgCpuPerReq: number; load: number }>> = { floor: [], api: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const kind of ['floor', 'api'] as const) {
        const target = kind === 'floor' ? `http://127.0.0.1:${server.floor}/select1` : `${base}${PATH}`;
        const split0 = cpuSplitMs(server.child.pid!);
        const cpu0 = split0.user + split0.system;
        const pg0 = await backendsCpuMs(admin, name);
        const run = await autocannon(target, kind === 'api' ? auth : {}, SECONDS);
        const split1 = cpuSplitMs(server.child.pid!);
        const cpu1 = split1.user + split1.system;
        const kernelShare = cpu1 > cpu0 ? (split1.system - split0.system) / (cpu1 - cpu0) : 0;
        const pg1 = await backendsCpuMs(admin, name);
        const load = os.loadavg()[0]!;
        const entry = { ...run, serverCpuPerReq: ((cpu1 - cpu0) * 1000) / run.requests, pgCpuPerReq: ((pg1 - pg0) * 1000) / run.requests, load };
        results[kind].push(entry);
        process.stdout.write(`${kind.padEnd(5)} round ${round + 1}: ${run.reqPerS.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, errors ${run.errors}, non-2xx ${run.non2xx}, server CPU ${entry.serverCpuPerReq.toFixed(0)} µs/req (${(kernelShare * 100).toFixed(0)} % in the kernel), PostgreSQL CPU ${entry.pgCpuPerReq.toFixed(0)} µs/req, load generator CPU ${run.generatorCpuPerReq.toFixed(0)} µs/req, load ${load.toFixed(2)}\n`);
        if (run.errors > 0 || run.non2xx > 0) throw new Error(`${kind}: ${run.errors} errors, ${run.non2xx} non-2xx answers`);
      }
    }
    const best = (kind: 'floor' | 'api') => results[kind].reduce((a, b) => (b.reqPerS > a.reqPerS ? b : a));
    const api = best('api');
    const floor = best('floor');
    process.stdout.write(`(the load generator, the server and PostgreSQL share this machine's ${os.cpus().length} cores; best of ${ROUNDS} alternated rounds of ${SECONDS} s at ${CONNECTIONS} connections, pool ${POOL})\n`);
    process.stdout.write(`BENCH api_read_req_per_s ${api.reqPerS.toFixed(0)} req/s\n`);
    process.stdout.write(`BENCH api_read_p99_ms ${api.p99} ms\n`);
    process.stdout.write(`BENCH api_floor_select1_req_per_s ${floor.reqPerS.toFixed(0)} req/s\n`);
    process.stdout.write(`BENCH api_read_share_of_floor ${(api.reqPerS / floor.reqPerS).toFixed(2)} ratio\n`);
    process.stdout.write(`BENCH api_read_server_cpu_per_req ${api.serverCpuPerReq.toFixed(0)} us\n`);
    process.stdout.write(`BENCH api_read_postgres_cpu_per_req ${api.pgCpuPerReq.toFixed(0)} us\n`);
    process.stdout.write(`BENCH api_read_generator_cpu_per_req ${api.generatorCpuPerReq.toFixed(0)} us\n`);
    process.stdout.write(`BENCH api_floor_server_cpu_per_req ${floor.serverCpuPerReq.toFixed(0)} us\n`);
    process.stdout.write(`BENCH load_average_1m ${os.loadavg()[0]!.toFixed(2)} load\n`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server!.child.once('exit', r));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
