/**
 * `npm run verify:container`: checks the Dockerfile and compose.yaml as far as a machine without a
 * Docker daemon allows (docs/deploy.md#container says which checks run and which cannot):
 * 1. the Dockerfile's structure: stages, non-root USER, HEALTHCHECK on /health/ready, production
 *    dependencies only in the runtime stage, sources that exist and are not docker-ignored;
 * 2. the runtime stage simulated in a temp directory: `npm ci --omit=dev` of package.json and the
 *    lock file, dist/ and migrations/ copied in, then, as an unprivileged user, the image's CMD
 *    (`node dist/server/server.js`) on a fresh database with SENTRY_DSN and REDIS_URL set (so the
 *    lazily loaded @sentry/node and ioredis must be in the production install); the Dockerfile's
 *    own HEALTHCHECK command must fail while migrations are pending, pass once compose's `migrate`
 *    step (`node dist/server/cli/migrate.js`) ran, and the process must stop cleanly on SIGTERM;
 * 3. compose.yaml parsed as YAML (merge keys resolved): the services, roles, dependencies and
 *    mounted files; the nginx configuration it mounts checked by `nginx -t` with the `api` host
 *    name replaced by 127.0.0.1 (compose's DNS does not exist here).
 * Prints `CHECK <name> ok` per check and exits 1 when one fails.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { createScratchDatabase } from '../bench/support.js';
import { freePort, sleep } from './support.js';

const root = path.resolve(import.meta.dirname, '..');
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const failures: string[] = [];

function check(name: string, ok: boolean, detail = ''): void {
  console.log(`CHECK ${name} ${ok ? 'ok' : `FAILED ${detail}`}`);
  if (!ok) failures.push(name);
}

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions by stage (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Array<{ from: string; name: string | null; instructions: Instruction[] }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Array<{ from: string; name: string | null; instructions: Instruction[] }> = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2] ?? null, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op!.toUpperCase(), args });
    }
  }
  return stages;
}

function dockerfileChecks(): string[] {
  const stages = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  check('dockerfile: multi-stage (build + runtime)', stages.length >= 2 && stages[0]!.name !== null, `${stages.length} stages`);
  const runtime = stages.at(-1)!;
  const all = (op: string) => runtime.instructions.filter((i) => i.op === op);
  const user = all('USER').at(-1)?.args;
  check('dockerfile: runtime runs as a non-root user', user !== undefined && !['root', '0', '0:0'].includes(user), `USER ${user}`);
  const runs = all('RUN').map((i) => i.args).join(' && ');
  check('dockerfile: runtime installs production dependencies only', /npm ci\b[^&]*--omit=dev/.test(runs) && !/npm (ci|install)(?![^&]*--omit=dev)/.test(runs), runs);
  // The embedded default (no DATABASE_URL) writes PGlite's files to ./data under WORKDIR.
  const workdir = all('WORKDIR').at(-1)?.args ?? '/';
  check(`dockerfile: ${workdir}/data exists and belongs to USER (the embedded default)`, new RegExp(`mkdir -p ${workdir}/data\\b.*chown ${user}(:\\S+)? ${workdir}/data\\b`).test(runs), runs);
  check('dockerfile: runtime copies the build from the build stage', all('COPY').some((i) => i.args.startsWith(`--from=${stages[0]!.name}`) && i.args.includes('dist')));
  const health = all('HEALTHCHECK').at(-1)?.args ?? '';
  check('dockerfile: HEALTHCHECK on /health/ready', health.includes('/health/ready'), health);
  const cmd = all('CMD').at(-1)?.args ?? '';
  check('dockerfile: CMD is the production server', cmd === '["node", "dist/server/server.js"]', cmd);
  // Every COPY source of the build context exists and is not excluded by .dockerignore.
  const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const sources = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1)));
  const missing = sources.filter((s) => !existsSync(path.join(root, s)) || ignored.some((pattern) => s === pattern || s.startsWith(`${pattern}/`)));
  check('dockerfile: COPY sources exist and are not docker-ignored', missing.length === 0, missing.join(', '));
  // The exec-form HEALTHCHECK command, to run as the image would.
  const json = /CMD\s+(\[.*\])/.exec(health)?.[1];
  return json ? (JSON.parse(json) as string[]) : [];
}


async function runtimeChecks(healthcheck: string[]): Promise<void> {
  if (!existsSync(path.join(root, 'dist/server/server.js'))) {
    console.log('building dist/server (npm run build:server)');
    execFileSync('npm', ['run', 'build:server'], { cwd: root, stdio: 'inherit' });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'unite-hub-image-'));
  const app = path.join(dir, 'app');
  mkdirSync(app);
  const scratch = await createScratchDatabase(adminUrl, 'uh_image');
  const url = scratch.url;
  try {
    for (const file of ['package.json', 'package-lock.json']) cpSync(path.join(root, file), path.join(app, file));
    const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: app, encoding: 'utf8', timeout: 600_000 });
    check('runtime: npm ci --omit=dev succeeds', install.status === 0, install.stderr.slice(-2000));
    check('runtime: no EBADENGINE warning', !/EBADENGINE/.test(install.stderr), install.stderr.slice(-500));
    // (typescript itself is in the production tree: mjml → htmlnano → cosmiconfig's peer dependency.)
    const devOnly = ['vitest', 'vite', 'eslint', 'playwright-core', 'smtp-server', '@vitejs/plugin-react'].filter((name) => existsSync(path.join(app, 'node_modules', name)));
    check('runtime: dev dependencies absent', devOnly.length === 0, devOnly.join(', '));
    cpSync(path.join(root, 'migrations'), path.join(app, 'migrations'), { recursive: true });
    cpSync(path.join(root, 'dist'), path.join(app, 'dist'), { recursive: true });
    // Unprivileged, as USER node in the image: root runs it as nobody.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    const ids = asRoot ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) } : {};
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: url,
      APP_SECRET: 'image-check-secret-that-is-at-least-32-characters',
      LOG_LEVEL: 'info',
      SENTRY_DSN: 'http://publickey@127.0.0.1:9/1',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    };
    let output = '';
    const server = spawn(process.execPath, ['dist/server/server.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    server.stdout.on('data', (c) => (output += String(c)));
    server.stderr.on('data', (c) => (output += String(c)));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const probe = () => {
      const [hc, ...hcArgs] = healthcheck;
      return spawnSync(hc === 'node' ? process.execPath : hc!, hcArgs, { cwd: app, env, timeout: 5_000, ...ids }).status;
    };
    const waitFor = async (what: string, ms: number, condition: () => boolean) => {
      const deadline = Date.now() + ms;
      while (!condition()) {
        if (Date.now() > deadline || server.exitCode !== null) return false;
        await sleep(250);
      }
      return true;
    };
    const listening = await waitFor('listening', 60_000, () => output.includes('Unite Hub started'));
    check('runtime: the CMD starts as an unprivileged user with SENTRY_DSN and REDIS_URL (loads @sentry/node and ioredis)', listening, output.slice(-2000));
    check('runtime: HEALTHCHECK fails while migrations are pending', listening && probe() === 1);
    const migrate = spawnSync(process.execPath, ['dist/server/cli/migrate.js'], { cwd: app, env, encoding: 'utf8', timeout: 120_000, ...ids });
    check("runtime: compose's migrate step (node dist/server/cli/migrate.js)", migrate.status === 0, migrate.stderr.slice(-1000));
    const ready = await waitFor('ready', 30_000, () => probe() === 0);
    check('runtime: HEALTHCHECK passes once the schema is up to date', ready, output.slice(-2000));
    server.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
    check('runtime: stops cleanly on SIGTERM (STOPSIGNAL)', code === 0 && output.includes('shutdown complete'), `exit ${String(code)}`);
    if (code === 'timeout') server.kill('SIGKILL');
  } finally {
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function composeChecks(): void {
  const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: string; image?: string; command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; volumes?: string[]; healthcheck?: { disable?: boolean } }>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services ?? {};
  check('compose: services postgres, migrate, api, worker, nginx', ['postgres', 'migrate', 'api', 'worker', 'nginx'].every((s) => s in services), Object.keys(services).join(', '));
  check('compose: api and worker roles', services.api?.environment?.UNITE_ROLE === 'api' && services.worker?.environment?.UNITE_ROLE === 'worker');
  check('compose: app services build this Dockerfile', ['migrate', 'api', 'worker'].every((s) => services[s]?.build === '.'));
  check('compose: app services share one DATABASE_URL on the postgres service', ['migrate', 'api', 'worker'].every((s) => services[s]?.environment?.DATABASE_URL?.includes('@postgres:5432/')));
  const dependencies = Object.entries(services).flatMap(([name, s]) => Object.entries(s.depends_on ?? {}).map(([on, d]) => ({ name, on, condition: d.condition })));
  check('compose: dependencies name existing services and valid conditions', dependencies.every((d) => d.on in services && ['service_started', 'service_healthy', 'service_completed_successfully'].includes(d.condition)));
  check('compose: api and worker wait for the migration', ['api', 'worker'].every((s) => services[s]?.depends_on?.migrate?.condition === 'service_completed_successfully'));
  const binds = Object.values(services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0]!)).filter((v) => v.startsWith('.'));
  check('compose: mounted files exist', binds.every((b) => existsSync(path.join(root, b))), binds.join(', '));
  const named = Object.values(services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0]!)).filter((v) => !v.startsWith('.') && !v.startsWith('/'));
  check('compose: named volumes are declared', named.every((v) => compose.volumes && v in compose.volumes));

  // The mounted nginx configuration, with compose's service name resolved to loopback.
  const dir = mkdtempSync(path.join(tmpdir(), 'unite-hub-nginx-'));
  try {
    const conf = readFileSync(path.join(root, 'deploy/nginx.compose.conf'), 'utf8').replace('server api:3008;', 'server 127.0.0.1:3008;').replaceAll('/tmp/', `${dir}/`);
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    // Inherited output: the configuration logs to /dev/stdout and /dev/stderr, which must be openable.
    const tested = spawnSync('nginx', ['-t', '-p', `${dir}/`, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')], { stdio: 'inherit' });
    check('compose: nginx -t accepts deploy/nginx.compose.conf (api → 127.0.0.1)', tested.status === 0, 'see nginx output above');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const healthcheck = dockerfileChecks();
composeChecks();
if (healthcheck.length > 0) await runtimeChecks(healthcheck);
else check('dockerfile: HEALTHCHECK in exec form', false);
console.log(failures.length === 0 ? 'verify:container: all checks passed' : `verify:container: ${failures.length} failed: ${failures.join('; ')}`);
process.exit(failures.length === 0 ? 0 : 1);
