/**
 * The unfiltered contact list on real PostgreSQL: every page answers each contact exactly as
 * GET /api/contacts/:id does (times read as text give the answer Dates gave), the cursor pages
 * through every contact once, newest first, whether the page size has a prepared statement of its
 * own or not, and PostgreSQL keeps one generic plan for a page size instead of planning each page.
 * A search's first window is sized from the table's row count, and the search index keeps a short
 * pending list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import type { Queryable } from '../db/database.js';
import { DEFAULT_LIST_PLAN, listContacts, PAGE_STATEMENT_LIMIT } from './contact-list.js';

let t: TestApp;
let a: Caller;
let other: Caller;
const CONTACTS = 23;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUp(t.app);
  other = await signUp(t.app, 'Other');
  const scoreInputs = { opens: 3, clicks: 1, replies: 0, activity: 2, sentimentSum: 0, sentimentCount: 0, maxIntent: 0, intentReason: null, jobTitle: 'CTO', status: 'lead', scoreAdjustment: 0 };
  // Times with and without microseconds, a few sharing one created_at (the id breaks the tie),
  // some last active, one scored with its inputs (the answer's scoreBreakdown).
  await t.db.query(
    `INSERT INTO contacts (workspace_id, email, first_name, tags, custom_fields, score, score_inputs, last_activity_at, created_at, updated_at)
     SELECT $1, 'list' || i || '@example.com', 'List ' || i, ARRAY['t' || (i % 3)], jsonb_build_object('n', i, 'plan', 'pro'), i,
            CASE WHEN i = 5 THEN $3::jsonb END,
            CASE WHEN i % 4 = 0 THEN timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 1.000001) END,
            timestamptz '2026-06-01 12:00:00.123456+00' + make_interval(secs => (i / 3) * 0.5),
            timestamptz '2026-07-01 08:30:00+00' + make_interval(secs => i * 0.25)
       FROM generate_series(1, $2::int) AS i`,
    [a.workspaceId, CONTACTS, JSON.stringify(scoreInputs)],
  );
  await t.app.inject({ method: 'POST', url: '/api/contacts', headers: other.bearer, payload: { email: 'not-yours@example.com' } });
});
afterAll(async () => {
  await t.close();
});

async function pageThrough(limit: number): Promise<Array<Record<string, unknown>>> {
  const seen: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages += 1) {
    const page = await listContacts(t.db, a.workspaceId, { limit, cursor });
    seen.push(...page.contacts);
    if (!page.nextCursor) return seen;
    cursor = page.nextCursor;
  }
  throw new Error('the cursor did not end');
}

describe('the unfiltered contact list', () => {
  it('answers each contact as GET /api/contacts/:id does, every contact once, newest first', async () => {
    const viaApi = await t.app.inject({ method: 'GET', url: '/api/contacts?limit=500', headers: a.bearer });
    expect(viaApi.statusCode).toBe(200);
    const all = viaApi.json<{ contacts: Array<{ id: string; createdAt: string }>; nextCursor: string | null }>();
    expect(all.contacts).toHaveLength(CONTACTS);
    expect(all.nextCursor).toBeNull();
    for (const contact of all.contacts) {
      const one = await t.app.inject({ method: 'GET', url: `/api/contacts/${contact.id}`, headers: a.bearer });
      expect(contact).toEqual(one.json());
    }
    expect(all.contacts.some((c) => 'scoreBreakdown' in c)).toBe(true);
    const times = all.contacts.map((c) => c.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    // A page size with a prepared statement of its own, and one past them (the limit as a parameter).
    for (const limit of [4, PAGE_STATEMENT_LIMIT]) expect(await pageThrough(limit)).toEqual(all.contacts);
    // Through the API, with the cursor of each answer.
    const paged: unknown[] = [];
    let url = '/api/contacts?limit=5';
    for (;;) {
      const page = (await t.app.inject({ method: 'GET', url, headers: a.bearer })).json<{ contacts: unknown[]; nextCursor: string | null }>();
      paged.push(...page.contacts);
      if (!page.nextCursor) break;
      url = `/api/contacts?limit=5&cursor=${encodeURIComponent(page.nextCursor)}`;
    }
    expect(paged).toEqual(all.contacts);
  });

  it('is planned once per page size on a connection: PostgreSQL keeps a generic plan', async () => {
    if (t.db.kind !== 'postgres') return;
    const plans = await t.db.transaction(async (tx) => {
      let cursor: string | undefined;
      for (let i = 0; i < 8; i += 1) {
        const first = await listContacts(tx, a.workspaceId, { limit: 3 });
        const next = await listContacts(tx, a.workspaceId, { limit: 3, cursor: cursor ?? first.nextCursor! });
        cursor = next.nextCursor ?? undefined;
      }
      return (await tx.query<{ name: string; generic_plans: number; custom_plans: number }>(`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'list-contacts-page-%4' ORDER BY name`)).rows;
    });
    expect(plans.map((p) => p.name)).toEqual(['list-contacts-page-4', 'list-contacts-page-after-4']);
    for (const plan of plans) expect(plan.generic_plans).toBeGreaterThan(0);
  });
});

describe('a search', () => {
  it('reads a first window sized from the table row count, never past the plan window, and answers exactly', async () => {
    await t.db.query('ANALYZE contacts');
    const reltuples = Number((await t.db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'contacts'::regclass`)).rows[0]!.n);
    expect(reltuples).toBeGreaterThan(CONTACTS);
    const answered: Array<Array<Record<string, unknown>>> = [];
    const recording: Queryable = {
      async query<R>(sql: string, params?: readonly unknown[]) {
        const result = await t.db.query<R>(sql, params);
        answered.push(result.rows as Array<Record<string, unknown>>);
        return result;
      },
    };
    const everyone = (await listContacts(t.db, a.workspaceId, { limit: 3 })).contacts;
    for (const [plan, window] of [
      [DEFAULT_LIST_PLAN, Math.ceil(3 * Math.sqrt((DEFAULT_LIST_PLAN.randomFetchCost * reltuples) / 4))],
      [{ ...DEFAULT_LIST_PLAN, window: 5 }, 5],
      [{ ...DEFAULT_LIST_PLAN, window: 1 }, 4],
    ] as const) {
      answered.length = 0;
      // Every contact of the workspace is a "List" one: the first window fills the page.
      const page = await listContacts(recording, a.workspaceId, { search: 'list', limit: 3 }, plan);
      expect(page.contacts).toEqual(everyone);
      expect(answered).toHaveLength(1);
      expect(answered[0]!.map((row) => Number(row.window_rows))).toEqual([window, window, window, window]);
    }
    expect(Math.ceil(3 * Math.sqrt((15 * reltuples) / 4))).toBeLessThan(DEFAULT_LIST_PLAN.window);
    // A rare word: the window holds it or phase 3 finds it through the index, alone.
    const rare = await listContacts(t.db, a.workspaceId, { search: 'list7', limit: 50 });
    expect(rare.contacts.map((c) => c.email)).toEqual(['list7@example.com']);
    expect(rare.nextCursor).toBeNull();
  });

  it('goes through a search index whose pending list stays short (migration 125)', async () => {
    const options = await t.db.query<{ reloptions: string[] | null }>(`SELECT reloptions FROM pg_class WHERE oid = 'contacts_search_idx'::regclass`);
    expect(options.rows[0]?.reloptions).toContain('gin_pending_list_limit=64');
  });
});
