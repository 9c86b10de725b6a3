/**
 * Web benchmark (`npm run bench:web`, DATABASE_URL required): builds the production web app,
 * sums the gzip size of the JavaScript the first page loads (the entry chunk and its preloads:
 * `web_initial_js_kb_gzip`), then starts the real server (src/server.ts, NODE_ENV=production) on
 * a fresh database, signs up, creates a 200-step campaign through the API, and opens it in
 * Chromium until the builder is interactive — the canvas drew a visible card and the draft's save
 * state shows, checked in the page every animation frame (`builder_open_200_nodes_ms`, the median
 * of BENCH_ROUNDS warm opens after one cold one). Prints the load average and the CPU used by the
 * server and the browser per open.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('DATABASE_URL is required (postgres://…)\n');
  process.exit(78);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist/web');

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** utime + stime of a process and its children that were waited for, in ms (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU of this process's descendants other than `exclude` (the browser and its renderers), in ms. */
function browserCpuMs(exclude: number): number {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parent.set(Number(entry), Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]));
    } catch {
      // ended meanwhile
    }
  }
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!mine.has(pid) && mine.has(ppid) && pid !== exclude) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  mine.delete(process.pid);
  let total = 0;
  for (const pid of mine) {
    try {
      total += cpuMs(pid);
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** The gzip size (KB) of the JavaScript index.html loads before anything else: the entry and its preloads. */
function initialJsKbGzip(): number {
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = new Set([...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g), ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map((m) => m[1]!));
  let bytes = 0;
  for (const file of files) bytes += gzipSync(readFileSync(path.join(dist, file.replace(/^\//, '')))).length;
  return bytes / 1024;
}

/** A valid campaign of `count` steps: trigger, then blocks of email → wait → condition (two ways, rejoining) → action, ending at an exit. */
function bigDefinition(count: number): unknown {
  const nodes: Array<Record<string, unknown>> = [{ id: 't', type: 'trigger', name: 'Start', config: { kind: 'manual' } }];
  const edges: Array<Record<string, unknown>> = [];
  let last = 't';
  let i = 0;
  while (nodes.length < count - 1) {
    i += 1;
    const [email, wait, cond, hot, cold] = [`email-${i}`, `wait-${i}`, `condition-${i}`, `action-${i}a`, `action-${i}b`];
    nodes.push(
      { id: email, type: 'email', name: `Email ${i}`, config: { subject: `Step ${i}`, html: `<p>Hello {{ contact.first_name }}, step ${i}</p>` } },
      { id: wait, type: 'wait', name: `Wait ${i}`, config: { kind: 'duration', seconds: 86_400 } },
      { id: cond, type: 'condition', name: `Engaged ${i}?`, config: { branches: [{ id: 'yes', match: { operator: 'and', rules: [{ kind: 'email', nodeId: email, event: 'opened', present: true }] } }] } },
      { id: hot, type: 'action', name: `Tag hot ${i}`, config: { kind: 'tag_add', tag: `hot-${i}` } },
      { id: cold, type: 'action', name: `Score ${i}`, config: { kind: 'score_change', delta: -1 } },
    );
    edges.push({ from: last, to: email }, { from: email, to: wait }, { from: wait, to: cond }, { from: cond, to: hot, handle: 'yes' }, { from: cond, to: cold, handle: 'default' }, { from: hot, to: cold });
    last = cold;
  }
  nodes.push({ id: 'exit', type: 'exit', name: 'Done', config: {} });
  edges.push({ from: last, to: 'exit' });
  return { entryNodeId: 't', nodes, edges };
}

/**
 * Run in the page every animation frame: the time since navigation once the builder is
 * interactive — a card drawn and visible, and the draft's save state shown — else false. Polling
 * each frame in the page measures the moment itself (Playwright's own waiting polls every 500 ms
 * after the first few tries, which rounded opens up to the next poll).
 */
function readyAt(): number | false {
  const card = document.querySelector('.react-flow__node');
  const saveState = document.querySelector('[data-testid="save-state"]');
  return card instanceof HTMLElement && saveState !== null && card.checkVisibility({ visibilityProperty: true }) ? performance.now() : false;
}

function startServer(url: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', UNITE_ROLE: 'api', NODE_ENV: 'production', SECURE_COOKIES: 'false', LOG_LEVEL: 'warn', APP_SECRET: randomBytes(32).toString('hex'), DATA_DIR: path.join(os.tmpdir(), 'uh-bench-web'), PUBLIC_URL: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) return resolve(child);
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) return reject(new Error('the server did not start within 60 s'));
      setTimeout(() => void poll(), 200);
    };
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    void poll();
  });
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', path.join(root, 'web/vite.config.ts'), '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  const initialKb = initialJsKbGzip();

  const name = `uh_bench_web_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const db = createPostgresDatabase(withDatabase(adminUrl!, name), 2);
  await migrate(db);
  await db.close();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    server = await startServer(withDatabase(adminUrl!, name), port);
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `bench-${Date.now()}@example.com`, password: 'correct horse battery staple', name: 'Bench', organizationName: 'Bench Co' }),
    });
    if (signup.status !== 201) throw new Error(`sign-up answered ${signup.status}: ${await signup.text()}`);
    const cookies = signup.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const csrf = cookies.find((c) => c.startsWith('uh_csrf='))!.split('=')[1]!;
    const definition = bigDefinition(STEPS);
    const created = await fetch(`${base}/api/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf, origin: base },
      body: JSON.stringify({ name: `${STEPS} steps`, definition }),
    });
    if (created.status !== 201) throw new Error(`creating the campaign answered ${created.status}: ${await created.text()}`);
    const campaignId = ((await created.json()) as { campaign: { id: string } }).campaign.id;

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addCookies(cookies.map((c) => ({ name: c.split('=')[0]!, value: c.slice(c.indexOf('=') + 1), url: base })));
    const page = await context.newPage();
    const times: number[] = [];
    const serverBefore = cpuMs(server.pid!);
    const browserBefore = browserCpuMs(server.pid!);
    for (let round = 0; round <= ROUNDS; round += 1) {
      await page.goto('about:blank');
      await page.goto(`${base}/campaigns/${campaignId}`, { waitUntil: 'commit' });
      const ms = (await page.waitForFunction(readyAt, undefined, { polling: 'raf', timeout: 60_000 }).then((handle) => handle.jsonValue())) as number;
      if (round > 0) times.push(ms);
      process.stdout.write(`open ${round === 0 ? 'cold' : round}: ${ms.toFixed(0)} ms (${await page.locator('.react-flow__node').count()} cards drawn)\n`);
    }
    const serverCpu = (cpuMs(server.pid!) - serverBefore) / (ROUNDS + 1);
    const browserCpu = (browserCpuMs(server.pid!) - browserBefore) / (ROUNDS + 1);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const [load1, load5] = os.loadavg();
    process.stdout.write(`load average ${load1!.toFixed(2)} / ${load5!.toFixed(2)} (1/5 min) on ${os.cpus().length} cores; CPU per open: server ${serverCpu.toFixed(0)} ms, Chromium ${browserCpu.toFixed(0)} ms\n`);
    process.stdout.write(`BENCH builder_open_${STEPS}_nodes_ms ${median.toFixed(0)} ms\n`);
    process.stdout.write(`BENCH web_initial_js_kb_gzip ${initialKb.toFixed(1)} KB\n`);
    await context.close();
  } finally {
    await browser.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
