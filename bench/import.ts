/**
 * `npm run bench:import`: generates a 1,000,000-row CSV in a temp file, imports it through the
 * same code as `npm run cli -- import` into a fresh workspace on real PostgreSQL, then measures
 * contact search (GET /api/contacts?search=…) and filtered-list latency over the million contacts:
 * a mix of rare and common words, typed prefixes, exact emails, status, tag, score range, custom
 * field and last-activity filters, with second pages through the cursor. BENCH_ROWS and BENCH_QUERIES (per kind) scale it.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { runImport } from '../src/cli/import.js';
import { backendCpuMs, createBenchEnv, percentile, requireDatabaseUrl, signUpOwner } from './support.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const QUERIES_PER_KIND = Number(process.env.BENCH_QUERIES ?? 40);
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
  const cpuBefore = process.cpuUsage();
  const pgBefore = await backendCpuMs(env.db);
  const started = performance.now();
  const report = await runImport(env.runtime, { file, workspaceId: owner.workspaceId, map: [], chunkSize: undefined }, process.stderr.isTTY ? process.stderr : quiet);
  const seconds = (performance.now() - started) / 1000;
  if (report.rowsCreated !== ROWS || report.rowsFailed !== 0) throw new Error(`unexpected report ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const cpu = process.cpuUsage(cpuBefore);
  const pgAfter = await backendCpuMs(env.db);
  const perK = (ms: number) => ((ms / ROWS) * 1000).toFixed(0);

  // Listing over the million through the API (an API key), newest first, 50 per page. Each kind
  // of query runs QUERIES_PER_KIND times with varying terms; latency is the whole inject() call.
  const apiKey = (await app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.session, payload: { name: 'bench', role: 'admin' } })).json() as { key: string };
  const headers = { authorization: `Bearer ${apiKey.key}` };
  const get = async (query: string) => {
    const t0 = performance.now();
    const response = await app.inject({ method: 'GET', url: `/api/contacts?limit=50&${query}`, headers });
    const ms = performance.now() - t0;
    if (response.statusCode !== 200) throw new Error(`GET /api/contacts?${query} answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
    return { ms, body: response.json() as { contacts: Array<{ email: string }>; nextCursor: string | null } };
  };
  const PREFIXES = ['jo', 'gr', 'a', 'ma', 'li', 'tu', 'ri', 'ba', 'de', 'ke'];
  const pick = (k: number) => (k * 104_729 + 7) % ROWS;
  // Imported contacts have done nothing yet. For the activity filters, one contact in ten gets a
  // last activity spread over the past ~43 days, as the event processor would have written it.
  const activityEpoch = Date.now();
  await env.db.query(
    `UPDATE contacts SET last_activity_at = $2::timestamptz - (abs(hashtext(id::text)) % 1024) * interval '1 hour'
      WHERE workspace_id = $1 AND abs(hashtext(email)) % 10 = 0`,
    [owner.workspaceId, new Date(activityEpoch)],
  );
  await env.db.query('ANALYZE contacts');
  const daysAgo = (days: number) => encodeURIComponent(new Date(activityEpoch - days * 86_400_000).toISOString());
  const SEARCH_KINDS: Record<string, (k: number) => string> = {
    'email local part (rare)': (k) => `person${pick(k)}@`,
    'exact email': (k) => `person${pick(k)}@domain${pick(k) % 997}.example.com`,
    'unique surname (rare)': (k) => `${LAST[(pick(k) * 7) % 12]}${pick(k)}`,
    'company name (word in every row + number)': (k) => `Company ${pick(k) % 50_000},`,
    'common surname': (k) => LAST[k % 12]!.toLowerCase(),
    'domain (0.1% of rows)': (k) => `domain${pick(k) % 997}.`,
    'typed prefix, 1-2 letters': (k) => PREFIXES[k % PREFIXES.length]!,
    'first + last name prefix': (k) => `${FIRST[k % 12]} ${LAST[(k * 7) % 12]!.slice(0, 3)}`,
  };
  const FILTER_KINDS: Record<string, (k: number) => string> = {
    'no filter': () => '',
    'status': (k) => `status=${['prospect', 'lead', 'customer'][k % 3]}`,
    'tag': (k) => `tag=${k % 2 ? 'vip' : 'newsletter'}`,
    'score range': (k) => `minScore=${5 + (k % 10)}&maxScore=${15 + (k % 6)}`,
    'custom field (25%)': (k) => `cf.plan=${k % 2 ? 'pro' : 'free'}`,
    'custom field (0.3%)': (k) => `cf.city=${encodeURIComponent(`City ${pick(k) % 300}`)}`,
    'active in the last 1-7 days (~0.2-1.6%)': (k) => `activeSince=${daysAgo(1 + (k % 7))}`,
    'inactive for 30 days (~93%)': () => `inactiveSince=${daysAgo(30)}`,
    'status + tag + custom field': (k) => `status=${['prospect', 'lead', 'customer'][k % 3]}&tag=vip&cf.plan=pro`,
  };
  const measure = async (kinds: Record<string, (k: number) => string>, param: (term: string) => string) => {
    const all: number[] = [];
    const rows: string[] = [];
    for (const [kind, term] of Object.entries(kinds)) {
      const latencies: number[] = [];
      for (let k = 0; k < QUERIES_PER_KIND; k += 1) {
        const { ms, body } = await get(param(term(k)));
        if (body.contacts.length === 0) throw new Error(`${kind}: no contact for ${term(k)}`);
        latencies.push(ms);
        // A second page through the cursor counts as one more query of the same kind.
        if (k % 4 === 0 && body.nextCursor) latencies.push((await get(`${param(term(k))}&cursor=${encodeURIComponent(body.nextCursor)}`)).ms);
      }
      latencies.sort((x, y) => x - y);
      all.push(...latencies);
      rows.push(`  ${kind.padEnd(44)} n=${String(latencies.length).padStart(3)}  p50 ${percentile(latencies, 50).toFixed(1).padStart(6)}  p95 ${percentile(latencies, 95).toFixed(1).padStart(6)}  p99 ${percentile(latencies, 99).toFixed(1).padStart(6)}  max ${latencies[latencies.length - 1]!.toFixed(1).padStart(6)} ms`);
    }
    all.sort((x, y) => x - y);
    return { all, rows };
  };
  console.log(`${ROWS} rows (${(bytes / 1048576).toFixed(0)} MB) imported in ${seconds.toFixed(1)} s = ${Math.round(ROWS / seconds)} rows/s, chunks of 5000, peak RSS ${peakRssMb.toFixed(0)} MB`);
  console.log(`CPU per 1,000 rows: node ${perK((cpu.user + cpu.system) / 1000)} ms, postgres backends ${pgBefore !== null && pgAfter !== null ? `${perK(pgAfter - pgBefore)} ms` : 'n/a'}`);
  // One untimed pass warms the caches the way a running server has them.
  await get('search=warm');
  const search = await measure(SEARCH_KINDS, (term) => `search=${encodeURIComponent(term)}`);
  const list = await measure(FILTER_KINDS, (query) => query);
  console.log(`contact search over ${ROWS} contacts (${search.all.length} queries):`);
  for (const row of search.rows) console.log(row);
  console.log(`contact list with filters (${list.all.length} queries):`);
  for (const row of list.rows) console.log(row);
  console.log(`BENCH import_1m_seconds ${seconds.toFixed(1)} s`);
  console.log(`BENCH import_peak_rss_mb ${peakRssMb.toFixed(0)} MB`);
  console.log(`BENCH contact_search_p50_ms ${percentile(search.all, 50).toFixed(1)} ms`);
  console.log(`BENCH contact_search_p99_ms ${percentile(search.all, 99).toFixed(1)} ms`);
  console.log(`BENCH contact_list_filtered_p99_ms ${percentile(list.all, 99).toFixed(1)} ms`);
} finally {
  await env.close();
  rmSync(dir, { recursive: true, force: true });
}
