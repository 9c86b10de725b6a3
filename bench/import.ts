/**
 * `npm run bench:import`: generates a 1,000,000-row CSV in a temp file, imports it through the
 * same code as `npm run cli -- import` into a fresh workspace on real PostgreSQL, then measures
 * contact search (GET /api/contacts?search=…) latency over the million contacts.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { runImport } from '../src/cli/import.js';
import { createBenchEnv, percentile, requireDatabaseUrl, signUpOwner } from './support.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SEARCHES = 200;
const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger', 'Radia', 'John'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman', 'Backus'];
const TITLES = ['CEO', 'VP Marketing', 'Director of Sales', 'Marketing Manager', 'Engineer', 'Analyst', ''];

const dir = mkdtempSync(path.join(tmpdir(), 'uh-bench-import-'));
const file = path.join(dir, 'contacts.csv');
const env = await createBenchEnv(requireDatabaseUrl(), 4);
try {
  const out = createWriteStream(file);
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write('email,first_name,last_name,company,title,status,tags,plan,city\n');
  for (let i = 0; i < ROWS; i += 1) {
    const company = `Company ${i % 50_000}`;
    await write(`person${i}@domain${i % 997}.example.com,${FIRST[i % 12]},${LAST[(i * 7) % 12]}${i},"${company}, Inc.",${TITLES[i % 7]},${['prospect', 'lead', 'customer'][i % 3]},${i % 5 === 0 ? 'vip;newsletter' : 'newsletter'},${i % 4 === 0 ? 'pro' : 'free'},City ${i % 300}\n`);
  }
  out.end();
  await once(out, 'finish');
  const bytes = statSync(file).size;

  const { app } = env;
  const owner = await signUpOwner(app);
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
  const started = performance.now();
  const report = await runImport(env.runtime, { file, workspaceId: owner.workspaceId, map: [], chunkSize: undefined }, process.stderr.isTTY ? process.stderr : quiet);
  const seconds = (performance.now() - started) / 1000;
  if (report.rowsCreated !== ROWS || report.rowsFailed !== 0) throw new Error(`unexpected report ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Search: a mix of rare (one contact) and common terms, through the API with an API key.
  const apiKey = (await app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.session, payload: { name: 'bench', role: 'admin' } })).json() as { key: string };
  const headers = { authorization: `Bearer ${apiKey.key}` };
  const latencies: number[] = [];
  for (let s = 0; s < SEARCHES; s += 1) {
    const n = (s * 104_729) % ROWS;
    const term = [`person${n}@`, `${LAST[(n * 7) % 12]}${n}`, `Company ${n % 50_000},`, 'hopper', `domain${n % 997}.`][s % 5]!;
    const t0 = performance.now();
    const response = await app.inject({ method: 'GET', url: `/api/contacts?limit=50&search=${encodeURIComponent(term)}`, headers });
    latencies.push(performance.now() - t0);
    if (response.statusCode !== 200 || (response.json() as { contacts: unknown[] }).contacts.length === 0) throw new Error(`search ${term} failed: ${response.statusCode}`);
  }
  latencies.sort((x, y) => x - y);
  console.log(`${ROWS} rows (${(bytes / 1048576).toFixed(0)} MB) imported in ${seconds.toFixed(1)} s = ${Math.round(ROWS / seconds)} rows/s, chunks of 5000`);
  console.log(`contact search over ${ROWS} contacts, ${SEARCHES} searches: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`);
  console.log(`BENCH import_1m_seconds ${seconds.toFixed(1)} s`);
  console.log(`BENCH import_peak_rss_mb ${peakRssMb.toFixed(0)} MB`);
  console.log(`BENCH contact_search_p99_ms ${percentile(latencies, 99).toFixed(0)} ms`);
} finally {
  await env.close();
  rmSync(dir, { recursive: true, force: true });
}
