/**
 * `npm run verify:docker`: builds the Dockerfile and runs the image and compose.yaml under a real
 * Docker daemon (docs/deploy.md#how-far-this-was-verified). Where `verify:container` simulates the
 * runtime stage without a daemon, this checks the image itself:
 * 1. `docker build` of both stages (the build stage's `npm ci`, `build:server` and `build:web`);
 * 2. the image: runs as `node` (uid 1000), no dev dependencies, the web app built, Node 20;
 * 3. the image on a fresh PostgreSQL database (DATABASE_URL names the server; default the local
 *    one), with Docker's own HEALTHCHECK scheduling: the probe fails while migrations are pending,
 *    the container turns `healthy` once the migration ran in a second container, it serves the web
 *    app, and `docker stop` (SIGTERM) ends it with code 0 after `shutdown complete`;
 * 4. the image with no DATABASE_URL (the embedded default, its data in /app/data) starts healthy;
 * 5. compose.yaml with `docker compose` (or `docker-compose` 1.29, which lacks the top-level `name`
 *    key: it gets a copy without it and `-p unite-hub-verify`): start order, the api/worker roles,
 *    networking and nginx, end to end (sign-up, log-in and a contact list through nginx on :8080),
 *    then `down` with every app container stopped by SIGTERM with code 0.
 *
 * Images that cannot be pulled from Docker Hub are replaced by stand-ins built from Debian's
 * packages (deploy/standin/): `node:20-bookworm-slim` by Debian bookworm with this machine's Node.js
 * (node-base.sh), `postgres:16-bookworm` by Debian's PostgreSQL 15 and `nginx:1.27-bookworm` by
 * Debian's nginx 1.22. The output says which ran. Prints `CHECK <name> ok` per check; exits 1 when
 * one fails, 2 when there is no Docker daemon.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createScratchDatabase } from '../bench/support.js';
import { freePort, sleep } from './support.js';

const root = path.resolve(import.meta.dirname, '..');
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const IMAGE = 'unite-hub:verify';
const failures: string[] = [];

function check(name: string, ok: boolean, detail = ''): boolean {
  console.log(`CHECK ${name} ${ok ? 'ok' : `FAILED ${detail}`}`);
  if (!ok) failures.push(name);
  return ok;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: options.cwd ?? root, encoding: 'utf8', env: options.env ?? process.env, timeout: options.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
}

function docker(...args: string[]): SpawnSyncReturns<string> {
  return run('docker', args);
}

async function waitFor(ms: number, condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

const imageExists = (image: string) => docker('image', 'inspect', image).status === 0;

/** The image to use for `official`: itself when present or pullable, else the stand-in (built once). */
function imageFor(official: string, standin: string, build: () => SpawnSyncReturns<string>): string {
  if (imageExists(official) || run('docker', ['pull', official], { timeout: 300_000 }).status === 0) {
    console.log(`using ${official}`);
    return official;
  }
  if (!imageExists(standin)) {
    console.log(`${official} cannot be pulled here: building the stand-in ${standin}`);
    const built = build();
    if (built.status !== 0) throw new Error(`building ${standin} failed:\n${built.stdout.slice(-2000)}\n${built.stderr.slice(-2000)}`);
  }
  console.log(`using the stand-in ${standin} for ${official}`);
  return standin;
}

function health(container: string): { status: string; exitCodes: number[] } {
  const out = docker('inspect', '-f', '{{json .State.Health}}', container).stdout.trim();
  const parsed = JSON.parse(out || 'null') as { Status: string; Log: Array<{ ExitCode: number }> } | null;
  return { status: parsed?.Status ?? 'none', exitCodes: (parsed?.Log ?? []).map((l) => l.ExitCode) };
}

async function httpStatus(url: string, init?: RequestInit): Promise<number> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

async function imageChecks(nodeImage: string): Promise<boolean> {
  const started = Date.now();
  const build = run('docker', ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', IMAGE, '.'], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 1_800_000 });
  if (!check(`build: docker build of both stages on ${nodeImage} (${Math.round((Date.now() - started) / 1000)} s)`, build.status === 0, `${build.stdout.slice(-3000)}\n${build.stderr.slice(-2000)}`)) return false;
  const inImage = (...command: string[]) => run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', command[0]!, IMAGE, ...command.slice(1)]);
  const user = inImage('id', '-un').stdout.trim();
  const uid = inImage('id', '-u').stdout.trim();
  check('image: runs as the unprivileged node user', user === 'node' && uid !== '0', `${user} (${uid})`);
  const nodeVersion = inImage('node', '-v').stdout.trim();
  check('image: Node.js 20', /^v20\./.test(nodeVersion), nodeVersion);
  const devOnly = ['vitest', 'vite', 'eslint', 'playwright-core', 'smtp-server', 'artillery'].filter((name) => inImage('test', '-e', `node_modules/${name}`).status === 0);
  check('image: no dev dependencies', devOnly.length === 0, devOnly.join(', '));
  check('image: the web app was built (dist/web/index.html)', inImage('test', '-f', 'dist/web/index.html').status === 0);
  check('image: the build output is not writable by the app user', inImage('sh', '-c', 'test ! -w dist/server/server.js').status === 0);
  const config = JSON.parse(docker('image', 'inspect', '-f', '{{json .Config}}', IMAGE).stdout) as { User: string; Healthcheck?: { Test: string[] } };
  check('image: HEALTHCHECK on /health/ready', (config.Healthcheck?.Test ?? []).join(' ').includes('/health/ready'));
  const size = Number(docker('image', 'inspect', '-f', '{{.Size}}', IMAGE).stdout.trim());
  console.log(`image size: ${(size / 1_048_576).toFixed(0)} MB`);
  return true;
}

async function runChecks(): Promise<void> {
  const scratch = await createScratchDatabase(adminUrl, 'uh_docker');
  const url = scratch.url;
  const container = `uh-verify-${randomBytes(3).toString('hex')}`;
  const embedded = `${container}-embedded`;
  const port = await freePort();
  const env = ['-e', `DATABASE_URL=${url}`, '-e', 'HOST=127.0.0.1', '-e', `PORT=${port}`, '-e', 'APP_SECRET=docker-check-secret-that-is-at-least-32-characters'];
  try {
    const started = docker('run', '-d', '--network', 'host', '--name', container, ...env, IMAGE);
    check('run: the image starts on PostgreSQL', started.status === 0, started.stderr);
    const logs = () => {
      const l = docker('logs', container);
      return l.stdout + l.stderr;
    };
    // Docker runs the HEALTHCHECK every 10 s: its first probes fail while the schema lacks migrations.
    const probedPending = await waitFor(40_000, () => health(container).exitCodes.length > 0);
    const pending = health(container);
    check('run: Docker\'s HEALTHCHECK fails while migrations are pending', probedPending && pending.exitCodes[0] === 1 && pending.status !== 'healthy', JSON.stringify(pending));
    const migrate = run('docker', ['run', '--rm', '--network', 'host', ...env, IMAGE, 'node', 'dist/server/cli/migrate.js']);
    check('run: the migration in a second container of the image', migrate.status === 0, migrate.stderr.slice(-1000));
    const healthy = await waitFor(40_000, () => health(container).status === 'healthy');
    check('run: the container turns healthy once the schema is up to date', healthy, `${JSON.stringify(health(container))}\n${logs().slice(-1500)}`);
    check('run: serves the web app and /health/ready', (await httpStatus(`http://127.0.0.1:${port}/`)) === 200 && (await httpStatus(`http://127.0.0.1:${port}/health/ready`)) === 200);
    const stopped = docker('stop', '-t', '30', container);
    const exitCode = docker('inspect', '-f', '{{.State.ExitCode}}', container).stdout.trim();
    check('run: docker stop (SIGTERM) ends it with code 0 after a graceful shutdown', stopped.status === 0 && exitCode === '0' && logs().includes('shutdown complete'), `exit ${exitCode}`);

    // The embedded default: no DATABASE_URL, PGlite in /app/data.
    const embeddedPort = await freePort();
    docker('run', '-d', '--network', 'host', '--name', embedded, '-e', 'HOST=127.0.0.1', '-e', `PORT=${embeddedPort}`, '-e', 'APP_SECRET=docker-check-secret-that-is-at-least-32-characters', IMAGE);
    const embeddedReady = await waitFor(90_000, async () => (await httpStatus(`http://127.0.0.1:${embeddedPort}/health/ready`)) === 200);
    const embeddedLogs = docker('logs', embedded);
    check('run: with no DATABASE_URL, the embedded database in /app/data', embeddedReady, (embeddedLogs.stdout + embeddedLogs.stderr).slice(-1500));
  } finally {
    docker('rm', '-f', container, embedded);
    await scratch.drop();
  }
}

/** `docker compose` when the plugin exists, else Debian's `docker-compose` 1.29. */
function composeCommand(): { command: string; prefix: string[]; legacy: boolean } | null {
  if (run('docker', ['compose', 'version']).status === 0) return { command: 'docker', prefix: ['compose'], legacy: false };
  if (run('docker-compose', ['version']).status === 0) return { command: 'docker-compose', prefix: [], legacy: true };
  return null;
}

async function composeChecks(baseImage: string): Promise<void> {
  const compose = composeCommand();
  if (!check('compose: docker compose or docker-compose present', compose !== null)) return;
  const postgresImage = imageFor('postgres:16-bookworm', 'unite-hub-standin/postgres:15-bookworm', () =>
    run('docker', ['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${baseImage}`, '-f', 'postgres.Dockerfile', '-t', 'unite-hub-standin/postgres:15-bookworm', '.'], { cwd: path.join(root, 'deploy/standin'), env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 900_000 }),
  );
  const nginxImage = imageFor('nginx:1.27-bookworm', 'unite-hub-standin/nginx:1.22-bookworm', () =>
    run('docker', ['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${baseImage}`, '-f', 'nginx.Dockerfile', '-t', 'unite-hub-standin/nginx:1.22-bookworm', '.'], { cwd: path.join(root, 'deploy/standin'), env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 900_000 }),
  );
  // compose.yaml's app services build `.` as unite-hub:local: the image built above stands for it.
  docker('tag', IMAGE, 'unite-hub:local');
  const project = 'unite-hub-verify';
  const file = path.join(root, `.compose-verify-${randomBytes(3).toString('hex')}.yaml`);
  const source = readFileSync(path.join(root, 'compose.yaml'), 'utf8');
  // docker-compose 1.29 predates the top-level `name` (the project name is given with -p instead).
  writeFileSync(file, compose!.legacy ? source.replace(/^name: .*\n/m, '') : source);
  const files = ['-f', file, ...(postgresImage !== 'postgres:16-bookworm' || nginxImage !== 'nginx:1.27-bookworm' ? ['-f', path.join(root, 'deploy/standin/compose.standin.yaml')] : [])];
  const env = { ...process.env, APP_SECRET: `compose-check-${randomBytes(16).toString('hex')}`, PUBLIC_URL: 'http://127.0.0.1:8080' };
  const composeRun = (...args: string[]) => run(compose!.command, [...compose!.prefix, '-p', project, '--project-directory', root, ...files, ...args], { env, timeout: 600_000 });
  try {
    const config = composeRun('config', '-q');
    check(`compose: ${compose!.legacy ? 'docker-compose 1.29 (schema)' : 'docker compose'} accepts the file`, config.status === 0, config.stderr);
    const up = composeRun('up', '-d', '--no-build');
    check('compose: up (postgres → migrate → api and worker → nginx)', up.status === 0, `${up.stdout.slice(-2000)}\n${up.stderr.slice(-3000)}`);
    const through = await waitFor(180_000, async () => (await httpStatus('http://127.0.0.1:8080/health/ready')) === 200);
    check('compose: nginx on :8080 answers /health/ready from the api service', through, composeRun('logs', '--tail', '40').stdout.slice(-3000));
    const state = (service: string) => {
      const id = composeRun('ps', '-q', service).stdout.trim() || docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`).stdout.trim();
      return id ? JSON.parse(docker('inspect', '-f', '{{json .State}}', id.split('\n')[0]!).stdout) as { Status: string; ExitCode: number; Health?: { Status: string } } : null;
    };
    const migrate = state('migrate');
    check('compose: migrate ran once and exited 0', migrate?.Status === 'exited' && migrate.ExitCode === 0, JSON.stringify(migrate));
    check('compose: postgres and api healthy, worker running', state('postgres')?.Health?.Status === 'healthy' && state('api')?.Health?.Status === 'healthy' && state('worker')?.Status === 'running');
    const workerLogs = composeRun('logs', 'worker').stdout;
    check('compose: the worker process runs the worker role only', /"role":"worker"/.test(workerLogs) && !/listening/i.test(workerLogs), workerLogs.slice(-1500));

    // End to end through nginx: sign up, log in, list contacts.
    const base = 'http://127.0.0.1:8080';
    const email = `owner-${randomBytes(4).toString('hex')}@example.com`;
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const endToEnd = await (async () => {
      const signup = await fetch(`${base}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, name: 'Compose Check', organizationName: 'Compose Check' }) });
      const cookie = signup.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const contacts = await fetch(`${base}/api/contacts`, { headers: { cookie } });
      return { ok: signup.status === 201 && contacts.status === 200, detail: `signup ${signup.status} ${await signup.text()}; contacts ${contacts.status}` };
    })().catch((error: unknown) => ({ ok: false, detail: String(error) }));
    check('compose: sign-up and a contact list through nginx', endToEnd.ok, endToEnd.detail);

    // Stopped as compose stops them (SIGTERM to the app, its graceful shutdown): each exits 0.
    const stop = composeRun('stop', '--timeout', '30');
    const exits = ['api', 'worker'].map((service) => ({ service, state: state(service) }));
    check('compose: stop ends api and worker with code 0 (graceful shutdown)', stop.status === 0 && exits.every((e) => e.state?.Status === 'exited' && e.state.ExitCode === 0), JSON.stringify(exits));
  } finally {
    const down = composeRun('down', '-v', '--timeout', '30');
    check('compose: down removes the stack and its volume', down.status === 0, down.stderr.slice(-1500));
    rmSync(file, { force: true });
  }
}

if (run('docker', ['info']).status !== 0) {
  console.log('verify:docker needs a running Docker daemon (docker info failed); npm run verify:container checks what can be checked without one');
  process.exit(2);
}
const nodeImage = process.env.NODE_IMAGE ?? imageFor('node:20-bookworm-slim', 'unite-hub-standin/node:20-bookworm-slim', () => run(path.join(root, 'deploy/standin/node-base.sh'), ['unite-hub-standin/node:20-bookworm-slim'], { timeout: 900_000 }));
if (await imageChecks(nodeImage)) {
  await runChecks();
  await composeChecks(nodeImage);
}
console.log(failures.length === 0 ? 'verify:docker: all checks passed' : `verify:docker: ${failures.length} failed: ${failures.join('; ')}`);
process.exit(failures.length === 0 ? 0 : 1);
