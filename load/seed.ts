/**
 * Seeds a realistic workspace for the load profiles on a running server (through its API) and its
 * PostgreSQL database (bulk rows): an owner, 20 API keys, 5 write keys, 10 signed-in sessions,
 * 10,000 contacts with 5 events each, 3 templates, 3 dynamic segments, 3 published campaigns and
 * 2,000 sent messages whose signed open and click links recipients follow, and 500 members who sign
 * in during the run (one account each, so the per-account log-in throttle is not what is measured). Writes the Artillery
 * payload (one credential set and one contact per row) to `load/.run/payload.csv`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { LinkSigner } from '../src/email/links.js';
import { hashPassword } from '../src/identity/identity.js';

export interface SeedResult {
  payloadFile: string;
  ownerEmail: string;
  ownerPassword: string;
  /** The password of every signing-in account (payload column loginEmail). */
  loginPassword: string;
  rows: number;
}

const CONTACTS = Number(process.env.LOAD_CONTACTS ?? 10_000);
const EVENTS_PER_CONTACT = 5;
const MESSAGES = 2_000;
const API_KEYS = 20;
const WRITE_KEYS = 5;
const SESSIONS = 10;
/** Accounts of the signing-in scenario: each virtual user logs in to one of its own, as real users do. */
const LOGIN_USERS = Number(process.env.LOAD_LOGIN_USERS ?? 500);

/** A documentation-range address (RFC 5737) as the client address a proxy would forward. */
export function clientIp(n: number): string {
  return `203.0.113.${1 + (n % 250)}`;
}

async function call(base: string, method: string, url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: unknown; cookies: string[] }> {
  const send = () => fetch(`${base}${url}`, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  let response = await send();
  // A busy server (503 + Retry-After, docs/load.md#load-shedding) is asked again, as any client should.
  for (let attempt = 0; response.status === 503 && attempt < 10; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)));
    response = await send();
  }
  const text = await response.text();
  const json: unknown = text ? JSON.parse(text) : null;
  if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return { status: response.status, json, cookies: response.headers.getSetCookie().map((c) => c.split(';')[0]!) };
}

const csvCell = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export async function seedWorkspace(base: string, databaseUrl: string, appSecret: string, runDir: string): Promise<SeedResult> {
  const ownerEmail = `load-owner-${randomBytes(4).toString('hex')}@example.com`;
  const ownerPassword = `load password ${randomBytes(6).toString('hex')}`;
  const signup = await call(base, 'POST', '/api/auth/signup', { email: ownerEmail, password: ownerPassword, name: 'Load Owner', organizationName: 'Load Co' }, { 'x-forwarded-for': clientIp(0) });
  const workspaceId = (signup.json as { workspace: { id: string } }).workspace.id;
  const csrf = signup.cookies.find((c) => c.startsWith('uh_csrf='))!.slice('uh_csrf='.length);
  const owner = { cookie: signup.cookies.join('; '), 'x-csrf-token': csrf, 'x-forwarded-for': clientIp(0) };

  const apiKeys: string[] = [];
  for (let i = 0; i < API_KEYS; i += 1) apiKeys.push(((await call(base, 'POST', '/api/api-keys', { name: `load client ${i}`, role: 'admin' }, owner)).json as { key: string }).key);
  const writeKeys: string[] = [];
  for (let i = 0; i < WRITE_KEYS; i += 1) writeKeys.push(((await call(base, 'POST', '/api/write-keys', { name: `load source ${i}` }, owner)).json as { key: string }).key);

  // Contacts and their history in bulk, as an import and months of tracking would have left them.
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, status, tags, custom_fields, score, last_activity_at, created_at, updated_at)
       SELECT $1, 'person' || i || '@example.com', 'First' || i, 'Last' || i, 'Company ' || (i % 500), (ARRAY['Engineer','Manager','Founder','Analyst'])[1 + i % 4],
              (ARRAY['prospect','lead','customer'])[1 + i % 3], ARRAY['tag' || (i % 20)] || CASE WHEN i % 7 = 0 THEN ARRAY['vip'] ELSE ARRAY[]::text[] END,
              jsonb_build_object('plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END, 'seats', i % 50), i % 101,
              now() - make_interval(hours => i % 720), now() - make_interval(secs => $2 - i), now() - make_interval(secs => $2 - i)
         FROM generate_series(1, $2) AS i`,
      [workspaceId, CONTACTS],
    );
    await client.query(
      `INSERT INTO events (workspace_id, contact_id, type, name, properties, occurred_at, received_at)
       SELECT c.workspace_id, c.id, 'track', (ARRAY['Page Viewed','Signed Up','Order Completed','Feature Used','Trial Started'])[1 + (n + (hashtext(c.email) & 1023)) % 5],
              jsonb_build_object('path', '/pricing', 'n', n), now() - make_interval(hours => n * 24), now() - make_interval(hours => n * 24)
         FROM contacts c CROSS JOIN generate_series(1, $2) AS n WHERE c.workspace_id = $1`,
      [workspaceId, EVENTS_PER_CONTACT],
    );
    const contactRows = (await client.query<{ id: string; email: string }>('SELECT id, email FROM contacts WHERE workspace_id = $1 ORDER BY created_at', [workspaceId])).rows;

    const templates: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await call(base, 'POST', '/api/templates', { name: `Newsletter ${i}`, subject: `Hello {{ contact.first_name | default: "there" }} (${i})`, html: `<h1>Hi {{ contact.first_name | default: "there" }}</h1><p>News number ${i} for {{ contact.company }}.</p><p><a href="https://example.com/offer/${i}">See the offer</a></p>` }, owner);
      templates.push((created.json as { id: string }).id);
    }
    const segments = [
      { name: 'VIP', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'vip' }] } },
      { name: 'Pro plan, engaged', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'custom_field', key: 'plan', op: 'eq', value: 'pro' }, { kind: 'score', op: 'gte', value: 50 }] } },
      { name: 'Buyers', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'event', name: 'Order Completed' }] } },
    ];
    for (const segment of segments) await call(base, 'POST', '/api/segments', segment, owner);

    const campaigns: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const definition = {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'manual' } },
          { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: `campaign-${i}` } },
          { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 86_400 } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [
          { from: 't', to: 'tag' },
          { from: 'tag', to: 'w' },
          { from: 'w', to: 'x' },
        ],
      };
      const created = await call(base, 'POST', '/api/campaigns', { name: `Onboarding ${i}`, definition }, owner);
      const id = (created.json as { campaign: { id: string } }).campaign.id;
      await call(base, 'POST', `/api/campaigns/${id}/publish`, undefined, owner);
      campaigns.push(id);
    }

    // Sent messages, so recipients' open and click links point at real messages.
    const messages = (
      await client.query<{ id: string; contact_id: string }>(
        `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, attempts, sent_at)
         SELECT $1, c.id, 'load:' || c.id, 'campaign', $3, 'news@example.com', c.email, 'News', '<p>News</p>', 'News', 'sent', 1, now()
           FROM (SELECT id, email FROM contacts WHERE workspace_id = $1 ORDER BY created_at DESC LIMIT $2) c
         RETURNING id, contact_id`,
        [workspaceId, MESSAGES, campaigns[0]],
      )
    ).rows;
    const signer = new LinkSigner(appSecret);

    // Members who sign in during the run, one account per payload row (round robin): the
    // per-account log-in throttle (src/identity/login-throttle.ts) counts attempts per email, so
    // thousands of virtual users on one account would measure the throttle, not the log-in. One
    // argon2 hash serves them all (same password, hashed once, as the server would).
    const loginPassword = `load member ${randomBytes(6).toString('hex')}`;
    const loginHash = await hashPassword(loginPassword);
    const loginEmails = (
      await client.query<{ email: string }>(
        `WITH u AS (
           INSERT INTO users (email, name, password_hash)
           SELECT 'load-member-' || i || '-' || $2 || '@example.com', 'Member ' || i, $3 FROM generate_series(1, $4) AS i
           RETURNING id, email)
         INSERT INTO memberships (workspace_id, user_id, role) SELECT $1, u.id, 'admin' FROM u
         RETURNING (SELECT email FROM u WHERE u.id = user_id) AS email`,
        [workspaceId, randomBytes(3).toString('hex'), loginHash, LOGIN_USERS],
      )
    ).rows.map((r) => r.email);

    const sessions: Array<{ cookie: string; csrf: string }> = [];
    for (let i = 0; i < SESSIONS; i += 1) {
      const login = await call(base, 'POST', '/api/auth/login', { email: ownerEmail, password: ownerPassword }, { 'x-forwarded-for': clientIp(1 + i) });
      const session = login.cookies.filter((c) => c.startsWith('uh_session=') || c.startsWith('uh_csrf='));
      sessions.push({ cookie: session.join('; '), csrf: (login.json as { csrfToken: string }).csrfToken });
    }

    const header = ['apiKey', 'writeKey', 'sessionCookie', 'csrf', 'ip', 'contactId', 'contactEmail', 'searchTerm', 'campaignId', 'templateId', 'openPath', 'clickPath', 'loginEmail'];
    const lines = [header.join(',')];
    const rows = Math.max(MESSAGES, 1000);
    for (let i = 0; i < rows; i += 1) {
      const message = messages[i % messages.length]!;
      const contact = contactRows[(i * 37) % contactRows.length]!;
      const session = sessions[i % sessions.length]!;
      const open = signer.sign({ t: 'o', w: workspaceId, m: message.id, c: message.contact_id });
      const click = signer.sign({ t: 'c', w: workspaceId, m: message.id, c: message.contact_id, u: `https://example.com/offer/${i % 3}` });
      lines.push(
        [apiKeys[i % apiKeys.length]!, writeKeys[i % writeKeys.length]!, session.cookie, session.csrf, clientIp(i), contact.id, contact.email, `first${(i * 37) % contactRows.length}`, campaigns[i % campaigns.length]!, templates[i % templates.length]!, `/t/o/${open}`, `/t/c/${click}`, loginEmails[i % loginEmails.length]!]
          .map(csvCell)
          .join(','),
      );
    }
    mkdirSync(runDir, { recursive: true });
    const payloadFile = path.join(runDir, 'payload.csv');
    writeFileSync(payloadFile, `${lines.join('\n')}\n`);
    await client.query('ANALYZE');
    return { payloadFile, ownerEmail, ownerPassword, loginPassword, rows };
  } finally {
    await client.end();
  }
}
