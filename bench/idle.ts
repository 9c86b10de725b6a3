/**
 * What the worker costs when there is nothing to do: `npm run bench:idle` on real PostgreSQL
 * (DATABASE_URL, required; a Unix socket URL is best). In a fresh, migrated database, starts the
 * production process (`src/server.ts`, UNITE_ROLE=worker, or BENCH_ROLE=all), lets it settle
 * (BENCH_WARMUP seconds, default 30: past the full garbage collections V8 makes of the start-up
 * garbage 15–25 s in), then idles it for BENCH_SECONDS (default 20) and reports the CPU of the
 * process and of its PostgreSQL backends (from /proc) and the statements it sent, by kind
 * (counted inside the process by `bench/query-counter.ts`). Ends with
 * `BENCH worker_idle_cpu_ms_per_s` and `BENCH worker_idle_postgres_cpu_ms_per_s` (the median
 * 5-second slice; the whole window's rate is printed beside) and `BENCH worker_idle_queries_per_s`.
 * BENCH_CPU_PROF=<dir> writes the process's V8 CPU profile there.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createScratchDatabase, processCpuMs, requireDatabaseUrl } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 30);
const ROLE = process.env.BENCH_ROLE ?? 'worker';
const SLICE_MS = 5000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ms of this database's backends, by pid (the admin session is on another database). */
async function backends(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Map(rows.map(({ pid }) => [pid, processCpuMs(pid) ?? 0]));
}

/** CPU the backends used between two readings (a backend that appeared counts from zero; one that ended is lost). */
function backendsDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [backend, ms] of after) total += ms - (before.get(backend) ?? 0);
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Asks the process for its statement counts so far (SIGUSR2 → JSON file). */
async function statementCounts(pid: number, file: string): Promise<Map<string, number>> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(file); i += 1) await sleep(20);
  await sleep(20);
  return new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>));
}

async function main(): Promise<void> {
  const adminUrl = requireDatabaseUrl();
  const scratch = await createScratchDatabase(adminUrl, 'uh_bench_idle');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const countFile = path.join(os.tmpdir(), `${scratch.name}-statements.json`);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const db = createPostgresDatabase(scratch.url, 2);
    await migrate(db);
    await db.close();
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: scratch.url,
      DATABASE_POOL_SIZE: '10',
      APP_SECRET: randomBytes(32).toString('hex'),
      PORT: ROLE === 'worker' ? '0' : String(20_000 + Math.floor(Math.random() * 20_000)),
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://127.0.0.1:3999',
      LOG_LEVEL: 'warn',
      UNITE_ROLE: ROLE,
      DATA_DIR: path.join(os.tmpdir(), scratch.name),
      BENCH_QUERY_COUNT_FILE: countFile,
    };
    // BENCH_CPU_PROF=<dir>: the process writes a V8 CPU profile there when it stops (node --cpu-prof).
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    child = spawn(process.execPath, [...profile, '--import', 'tsx', '--import', path.join(root, 'bench/query-counter.ts'), path.join(root, 'src/server.ts')], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const pid = child.pid!;
    process.stderr.write(`UNITE_ROLE=${ROLE} process ${pid}, database ${scratch.name}\n`);
    await sleep(WARMUP * 1000);
    if (child.exitCode !== null) throw new Error(`the process exited with ${child.exitCode}`);

    const started = Date.now();
    const cpuBefore = processCpuMs(pid) ?? 0;
    const pgBefore = await backends(admin, scratch.name);
    const countsBefore = await statementCounts(pid, countFile);
    // CPU per 5-second slice too: the headline is the median slice, so that a one-off (a full
    // garbage collection that came late on a busy machine) does not pass for the idle rate.
    const slices: Array<{ process: number; postgres: number }> = [];
    let mark = { at: Date.now(), process: cpuBefore, pg: pgBefore };
    for (let left = SECONDS * 1000; left > 0; left -= SLICE_MS) {
      await sleep(Math.min(SLICE_MS, left));
      const now = { at: Date.now(), process: processCpuMs(pid) ?? 0, pg: await backends(admin, scratch.name) };
      const s = (now.at - mark.at) / 1000;
      slices.push({ process: (now.process - mark.process) / s, postgres: backendsDelta(mark.pg, now.pg) / s });
      mark = now;
    }
    const countsAfter = await statementCounts(pid, countFile);
    const cpuAfter = processCpuMs(pid) ?? 0;
    const pgAfter = await backends(admin, scratch.name);
    const seconds = (Date.now() - started) / 1000;
    const pgMs = backendsDelta(pgBefore, pgAfter);
    const kinds = [...countsAfter].map(([kind, n]) => [kind, n - (countsBefore.get(kind) ?? 0)] as const).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    const statements = kinds.reduce((s, [, n]) => s + n, 0);
    process.stdout.write(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}; load average ${os.loadavg()[0]!.toFixed(2)}; UNITE_ROLE=${ROLE}; ${seconds.toFixed(1)} s idle after ${WARMUP} s; ${pgAfter.size} backends\n`);
    process.stdout.write('| statement (first words) | per second |\n| --- | ---: |\n');
    for (const [kind, n] of kinds) process.stdout.write(`| ${kind.replaceAll('|', '\\|')} | ${(n / seconds).toFixed(2)} |\n`);
    process.stdout.write(`whole window: process ${((cpuAfter - cpuBefore) / seconds).toFixed(2)} ms/s, PostgreSQL ${(pgMs / seconds).toFixed(2)} ms/s; 5-s slices: process ${slices.map((x) => x.process.toFixed(1)).join(', ')}; PostgreSQL ${slices.map((x) => x.postgres.toFixed(1)).join(', ')}\n`);
    process.stdout.write(`BENCH worker_idle_cpu_ms_per_s ${median(slices.map((x) => x.process)).toFixed(2)} ms/s\n`);
    process.stdout.write(`BENCH worker_idle_postgres_cpu_ms_per_s ${median(slices.map((x) => x.postgres)).toFixed(2)} ms/s\n`);
    process.stdout.write(`BENCH worker_idle_queries_per_s ${(statements / seconds).toFixed(2)} /s\n`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(countFile, { force: true });
    await admin.end();
    await scratch.drop();
  }
}

await main();
