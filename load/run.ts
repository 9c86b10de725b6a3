/**
 * `npm run load -- basic|stress|spike`: the load profiles of issue 19 (docs/load.md) with Artillery.
 * Without TARGET: a fresh PostgreSQL database (DATABASE_URL names the server, default the local
 * one), migrated, and the real server as deployed (src/server.ts: one UNITE_ROLE=api process on a
 * free port, one UNITE_ROLE=worker process; behind-a-proxy config TRUST_PROXY=loopback); dropped at the end. With TARGET=http://…: that server,
 * whose database LOAD_DATABASE_URL and secret LOAD_APP_SECRET the seeder needs (bulk rows, signed
 * tracking links). Seeds a workspace (load/seed.ts), runs Artillery in its own process with the
 * profile's `ensure` thresholds, keeps the JSON under load/results/ and prints a summary table per
 * endpoint. Exits non-zero when a threshold fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPostgresDatabase } from '../src/db/database.js';
import { vacuumAsAutovacuumWould } from '../src/db/maintenance.js';
import { migrate } from '../src/db/migrate.js';
import { seedWorkspace } from './seed.js';
import { summarize } from './summary.js';

const PROFILES = ['basic', 'stress', 'spike'] as const;
const profile = process.argv[2] as (typeof PROFILES)[number] | undefined;
if (!profile || !PROFILES.includes(profile)) {
  process.stderr.write(`usage: npm run load -- ${PROFILES.join('|')}\n`);
  process.exit(64);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitReady(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server was not ready within 60 s');
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: here, env, stdio: 'inherit' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  // A PostgreSQL on this host is reached over its Unix socket, as a deployment with the database
  // beside the server should be (docs/deploy.md): over loopback TCP every statement also costs both
  // processes the kernel's TCP path, a third of the API's CPU per write here (docs/load.md).
  const localSocket = '/var/run/postgresql';
  const adminUrl = process.env.DATABASE_URL ?? (existsSync(`${localSocket}/.s.PGSQL.5432`) ? `postgres://postgres@${encodeURIComponent(localSocket)}/postgres` : 'postgres://postgres@127.0.0.1:5432/postgres');
  let base = process.env.TARGET?.replace(/\/$/, '');
  let databaseUrl = process.env.LOAD_DATABASE_URL;
  let appSecret = process.env.LOAD_APP_SECRET;
  let server: ChildProcess | null = null;
  let worker: ChildProcess | null = null;
  let database: string | null = null;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    if (!base) {
      database = `uh_load_${randomBytes(4).toString('hex')}`;
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const parsed = new URL(adminUrl);
      parsed.pathname = `/${database}`;
      databaseUrl = parsed.toString();
      const db = createPostgresDatabase(databaseUrl, 2);
      await migrate(db);
      await db.close();
      appSecret = randomBytes(32).toString('hex');
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const env = {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        DATABASE_POOL_SIZE: process.env.LOAD_POOL_SIZE ?? '10',
        APP_SECRET: appSecret,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: base,
        SECURE_COOKIES: 'false',
        // As deployed behind nginx (deploy/): client addresses come from X-Forwarded-For.
        TRUST_PROXY: 'loopback',
        LOG_LEVEL: 'warn',
        DATA_DIR: path.join(os.tmpdir(), `uh-load-${database}`),
      };
      // The production composition (docs/scaling.md): one process serving the API, one running the workers.
      // LOAD_CPU_PROF=<dir>: the API process writes a V8 CPU profile there when it stops.
      const profile = process.env.LOAD_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.LOAD_CPU_PROF] : [];
      server = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, UNITE_ROLE: 'api' }, stdio: ['ignore', 'inherit', 'inherit'] });
      worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, UNITE_ROLE: 'worker', PORT: '0' }, stdio: ['ignore', 'inherit', 'inherit'] });
      await waitReady(base, server);
    } else if (!databaseUrl || !appSecret) {
      process.stderr.write('With TARGET, set LOAD_DATABASE_URL (the target database, for bulk seeding) and LOAD_APP_SECRET (its APP_SECRET, to sign tracking links)\n');
      return 64;
    }

    const runDir = path.join(here, '.run');
    process.stdout.write(`seeding ${base} …\n`);
    const started = Date.now();
    const seeded = await seedWorkspace(base, databaseUrl!, appSecret!, runDir);
    process.stdout.write(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(path.join(here, 'results'), { recursive: true });
    const output = path.join(here, 'results', `${profile}-${stamp}.json`);
    const loadBefore = os.loadavg();
    const artillery = path.join(root, 'node_modules', '.bin', 'artillery');
    // A server whose autovacuum is off (this machine's PostgreSQL: conf.d/90-ci.conf) lets the
    // queue tables' dead rows pile up during the run, which no deployment would: meanwhile, every
    // 10 s, do what autovacuum would (docs/load.md): only the tables past its thresholds, throttled
    // by its cost delay (a whole-database VACUUM (ANALYZE) every 10 s cost ~1 s of a core each time).
    // One connection of its own: the throttle is a session setting (src/db/maintenance.ts).
    const vacuum = createPostgresDatabase(databaseUrl!, 1);
    const autovacuum = (await vacuum.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]?.autovacuum;
    let vacuuming = Promise.resolve();
    const vacuumer = autovacuum === 'off' ? setInterval(() => (vacuuming = vacuuming.then(() => vacuumAsAutovacuumWould(vacuum, { throttle: true }).then(() => undefined, () => undefined))), 10_000) : null;
    if (vacuumer) process.stdout.write('autovacuum is off on this server: the load database is vacuumed and analyzed as autovacuum would, checked every 10 s\n');
    const code = await run(artillery, ['run', '--quiet', '--target', base, '--config', path.join(here, 'profiles', `${profile}.yml`), '--output', output, path.join(here, 'scenarios.yml')], {
      ...process.env,
      LOAD_OWNER_EMAIL: seeded.ownerEmail,
      LOAD_OWNER_PASSWORD: seeded.ownerPassword,
      LOAD_LOGIN_PASSWORD: seeded.loginPassword,
      ARTILLERY_DISABLE_TELEMETRY: 'true',
    });
    if (vacuumer) clearInterval(vacuumer);
    await vacuuming;
    await vacuum.close();
    const loadAfter = os.loadavg();
    process.stdout.write(
      `\n${summarize(JSON.parse(readFileSync(output, 'utf8')) as Parameters<typeof summarize>[0], {
        profile: profile!,
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
        load: `${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after (1-min)`,
        file: path.relative(root, output),
      })}\n`,
    );
    return code;
  } finally {
    for (const child of [server, worker]) {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    if (database) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }
}

process.exitCode = await main();
