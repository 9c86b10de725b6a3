/**
 * "Never twice" under process death, counted from the outside. The production server process
 * (src/server.ts, UNITE_ROLE=all, real PostgreSQL) sends marketing emails of two workspaces: one
 * over a real SMTP conversation to a local smtp-server (SMTP_URL), one through the Postmark HTTP
 * API (no idempotency keys) answered by a local HTTP server (the process's fetch is pointed at it,
 * as a DNS entry would: test/fetch-redirect.ts). Both receivers record every message they accept.
 * The process is killed with SIGKILL three times at random moments of the sending and restarted
 * each time. Afterwards: every message was received exactly once, except those the product itself
 * reports as `uncertain`, which are exactly the messages the dead processes had handed to a
 * provider without a recorded answer — at most lanes × concurrency (100) per crash — and the dead
 * process's other messages went out again within seconds of the restart, not after a lease.
 * PostgreSQL only: the embedded database serves one process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialVault } from '../src/email/provider-settings.js';
import { createTestDatabase, insertWorkspaces, type TestDatabase } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const PER_CHANNEL = 1500;
const TOTAL = PER_CHANNEL * 2;
const KILLS = 3;
/** The sender's lanes × concurrency: the most messages one process can hold past their hand-off mark without a committed acceptance or outcome (one per delivery worker). */
const IN_FLIGHT_BOUND = 2 * 50;
const APP_SECRET = 'kill-test-secret-that-is-at-least-32-characters!';

let testDb: TestDatabase;
let smtp: SMTPServer;
let api: http.Server;
const received = new Map<string, number>();
const accept = (address: string) => received.set(address, (received.get(address) ?? 0) + 1);
const receivedTotal = () => [...received.values()].reduce((a, b) => a + b, 0);
const children = new Set<ChildProcess>();

function listening(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  // Accepted = the whole message and its terminator arrived (a message cut off mid-data never
  // ends its stream); the 250 follows after a few milliseconds, like a real server's queue write.
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 500,
    onData(stream, session, callback) {
      stream.on('error', () => undefined);
      stream.on('data', () => undefined);
      stream.on('end', () => {
        accept(session.envelope.rcptTo[0]!.address);
        setTimeout(() => callback(), Math.random() * 6);
      });
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  // Postmark's POST /email: accepted once the whole request arrived; answered a little later.
  api = http.createServer((req, res) => {
    let body = '';
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const to = (JSON.parse(body) as { To: string }).To;
      accept(to);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ To: to, MessageID: randomUUID(), ErrorCode: 0, Message: 'OK' }));
      }, Math.random() * 6);
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));

  const [smtpWorkspace, httpWorkspace] = await insertWorkspaces(testDb.db, 'Crash', ['smtp', 'http']);
  const workspaces = { smtp: smtpWorkspace!, http: httpWorkspace! };
  await testDb.db.query(`INSERT INTO email_providers (workspace_id, name, kind, credentials_encrypted) VALUES ($1, 'Postmark', 'postmark', $2)`, [
    workspaces.http,
    new CredentialVault(APP_SECRET).encrypt({ serverToken: 'pm-token' }),
  ]);
  // The two channels interleaved, so that every crash finds both in flight.
  await testDb.db.query(
    `INSERT INTO messages (workspace_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, next_attempt_at)
     SELECT w.id, 'crash:' || i, 'campaign', 'Crash <news@crash.test>', w.channel || '-' || i || '@example.com', 'Hello ' || i,
            '<html><body><p>Hello ' || i || '</p><a href="https://example.com/offer">Offer</a></body></html>', 'Hello ' || i,
            now() - interval '1 second' + i * interval '1 microsecond'
       FROM generate_series(1, $3) AS i CROSS JOIN (VALUES ($1::uuid, 'smtp'), ($2::uuid, 'http')) AS w(id, channel)`,
    [workspaces.smtp, workspaces.http, PER_CHANNEL],
  );
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  api?.closeAllConnections();
  await new Promise<void>((resolve) => api?.close(() => resolve()));
  await testDb?.drop();
});

/** A port nobody listens on now (asked of the kernel: a random guess collided on a shared machine). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startServer(): Promise<ChildProcess> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    UNITE_ROLE: 'all',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: testDb.url!,
    APP_SECRET,
    PUBLIC_URL: 'https://app.example.com',
    SMTP_URL: `smtp://127.0.0.1:${listening(smtp.server)}`,
    LOG_LEVEL: 'error',
    UNITE_TEST_FETCH_REDIRECT: `https://api.postmarkapp.com=http://127.0.0.1:${listening(api)}`,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/fetch-redirect.ts', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function statusCounts(): Promise<Record<string, number>> {
  const rows = await testDb.db.query<{ status: string; n: number }>('SELECT status, count(*)::integer AS n FROM messages GROUP BY status');
  return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
}

describe.skipIf(!process.env.DATABASE_URL)('email under SIGKILL of the production process', { timeout: 300_000 }, () => {
  it('delivers every email once, parks only the in-flight ones as uncertain, and resends the rest within seconds of a restart', async () => {
    const crashes: Array<{ handedOff: number; accepted: number; notHandedOff: number; unmarked: string[]; restartedAt: number; firstSendMs: number; resumedMs: number }> = [];
    let child = await startServer();
    for (let k = 0; k < KILLS; k += 1) {
      // A random moment while this process sends: after 40 to 200 more deliveries.
      const threshold = receivedTotal() + 40 + Math.floor(Math.random() * 160);
      await until(`${threshold} deliveries`, 120_000, async () => (receivedTotal() >= threshold ? true : null));
      await kill(child);
      // What the dead process held: accepted ones were sent, marked ones may have been accepted,
      // unmarked ones never left.
      const held = await testDb.db.query<{ id: string; handed: boolean; accepted: boolean; holder_id: number }>(
        `SELECT m.id, EXISTS (SELECT 1 FROM message_handoffs h WHERE h.message_id = m.id AND h.claim_token = m.claim_token AND NOT h.accepted) AS handed,
                EXISTS (SELECT 1 FROM message_handoffs h WHERE h.message_id = m.id AND h.claim_token = m.claim_token AND h.accepted) AS accepted, m.holder_id
           FROM messages m WHERE m.status = 'sending'`,
      );
      const unmarked = held.rows.filter((r) => !r.handed && !r.accepted).map((r) => r.id);
      const accepted = held.rows.filter((r) => r.accepted).length;
      const dead = [...new Set(held.rows.map((r) => r.holder_id))];
      const restartedAt = Date.now();
      const before = receivedTotal();
      child = await startServer();
      // Resumed: every message the dead process held is settled (uncertain) or in the new
      // process's hands (claimed again, or sent) — on its first run, no lease to wait out.
      await until("the dead process's messages resumed", 120_000, async () => {
        const left = await testDb.db.query<{ n: number }>(
          `SELECT count(*)::integer AS n FROM messages WHERE id = ANY($1) AND (status = 'queued' OR (status = 'sending' AND holder_id = ANY($2)))`,
          [held.rows.map((r) => r.id), dead],
        );
        return left.rows[0]!.n === 0 ? true : null;
      });
      const resumedMs = Date.now() - restartedAt;
      // Its first send (the process takes seconds to load on a busy machine).
      await until('the restarted process to send', 120_000, async () => (receivedTotal() > before ? true : null));
      crashes.push({ handedOff: held.rows.length - unmarked.length - accepted, accepted, notHandedOff: unmarked.length, unmarked, restartedAt, firstSendMs: Date.now() - restartedAt, resumedMs });
    }
    await until('every message settled', 90_000, async () => {
      const counts = await statusCounts();
      return (counts.queued ?? 0) + (counts.sending ?? 0) === 0 ? counts : null;
    });
    await kill(child);
    // Late answers in flight to the receivers have landed.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const rows = await testDb.db.query<{ id: string; to_address: string; status: string; last_error: string | null; sent_at: Date | null }>('SELECT id, to_address, status, last_error, sent_at FROM messages');
    const counts = await statusCounts();
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    // When the last crash's unmarked messages were sent again (earlier crashes' may have been
    // claimed again by a process that was killed in turn).
    const last = crashes.at(-1)!;
    const resent = last.unmarked
      .map((id) => byId.get(id)!.sent_at!.getTime() - last.restartedAt)
      .sort((a, b) => a - b);
    const report = crashes.map(({ unmarked: _unmarked, restartedAt: _at, ...crash }) => crash);
    const lastResent = { firstSendMs: last.firstSendMs, p50Ms: resent[Math.floor(resent.length / 2)] ?? 0, maxMs: resent.at(-1) ?? 0 };
    const uncertainBy = (prefix: string) => rows.rows.filter((r) => r.status === 'uncertain' && r.to_address.startsWith(prefix)).length;
    console.log(`crash test: ${JSON.stringify(report)}; last crash's unmarked sent again ${JSON.stringify(lastResent)}; statuses ${JSON.stringify(counts)} (uncertain smtp ${uncertainBy('smtp-')}, http ${uncertainBy('http-')}); received ${receivedTotal()} of ${TOTAL}`);
    expect(rows.rows).toHaveLength(TOTAL);
    expect(Object.keys(counts).filter((s) => s !== 'sent' && s !== 'uncertain')).toEqual([]);
    // None twice, at either receiver.
    expect([...received.entries()].filter(([, n]) => n > 1)).toEqual([]);
    // Every sent message arrived; an uncertain one may or may not have.
    const missing = rows.rows.filter((r) => r.status === 'sent' && received.get(r.to_address) !== 1);
    expect(missing).toEqual([]);
    // Uncertain are exactly the messages the dead processes had handed off without an acceptance recorded.
    const uncertain = rows.rows.filter((r) => r.status === 'uncertain');
    expect(uncertain.length).toBe(crashes.reduce((sum, c) => sum + c.handedOff, 0));
    for (const crash of crashes) expect(crash.handedOff).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
    for (const r of uncertain) expect(r.last_error).toContain('the sending process died after handing the message to');
    // Every crash happened while sending, with messages in hand.
    for (const crash of crashes) expect(crash.handedOff + crash.accepted + crash.notHandedOff).toBeGreaterThan(0);
    // Resumed on the restarted process's first run, and sent again within seconds of its first
    // send: not the five minutes of a lease.
    for (const crash of report) expect(crash.resumedMs).toBeLessThan(crash.firstSendMs + 5_000);
    expect(lastResent.maxMs).toBeLessThan(lastResent.firstSendMs + 15_000);
  });
});
