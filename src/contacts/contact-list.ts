/**
 * The contact list: filters, search terms and the density-estimating planner that answers
 * "newest first + filter" in bounded phases over the created_at and GIN indexes, keyset-paginated
 * on (created_at, id) with the cursors of src/http/cursor.ts.
 */
import { arrayRows, preparedStatement, type Queryable } from '../db/database.js';
import { contactTextColumns, contactTextRowOf, type ContactTextRow } from '../core/contact.js';
import type { Contact, ContactStatus } from '../core/contact.schemas.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { cursorTimeFromUtcText } from '../platform/utc-text.js';
import { parseEmail, toContactFromText } from './contact-model.js';

export interface ContactFilters {
  limit: number;
  cursor?: string | undefined;
  search?: string | undefined;
  status?: ContactStatus | undefined;
  tag?: string | undefined;
  minScore?: number | undefined;
  maxScore?: number | undefined;
  /** Custom field equality, compared as text (`{"plan": "pro"}`). */
  customFields?: Record<string, string> | undefined;
  /** Last activity at or after this time. */
  activeSince?: string | undefined;
  /** No activity at or after this time (includes contacts never active). */
  inactiveSince?: string | undefined;
}

/**
 * The words of a search query as tsquery terms. Words are runs of letters and digits, as in the
 * stored search_document (migrations 085 and 087). A word the query goes on past with punctuation is
 * complete and matches exactly (`person7@` → `person7`, `acme.` → `acme`); a word followed by a
 * space or ending the query may be the start of a longer one and matches as a prefix (`ada:*`),
 * so `gra hop` still finds Grace Hopper while she is being typed.
 */
export function searchTerms(search: string): string[] {
  const terms: string[] = [];
  for (const match of search.toLowerCase().matchAll(/([\p{L}\p{N}\p{M}]+)(\S?)/gu)) {
    const word = match[1]!.slice(0, 64);
    terms.push(match[2] ? word : `${word}:*`);
    if (terms.length === 8) break;
  }
  return terms;
}

// Times as UTC text (src/platform/utc-text.ts): the answer's ISO strings and the cursor's exact
// microsecond time (a JS Date would drop the microseconds) come from the same text, with no Date
// parsed per row and no to_char per row in PostgreSQL.
const LIST_COLUMNS = contactTextColumns('c');

/** The most of the newest contacts (after the cursor) the first phase of a filtered list reads (see LIST_FIRST). */
export const LIST_WINDOW = 2000;
/** How many matches the second phase collects and sorts before it gives way to the ordered scan. */
export const LIST_CANDIDATE_CAP = 10_000;
/** The widest window the first phase may grow to when matches are sparse but not rare. */
export const LIST_MAX_WINDOW = 100_000;
/**
 * One row fetched through a bitmap (random heap page) costs about this many rows of the ordered
 * window scan (sequential pages, index order = insertion order); estimated from timings at 1M
 * contacts (≈ 10 µs against ≈ 0.7 µs).
 */
export const RANDOM_FETCH_COST = 15;
/** How many times the ordered reading may go on past a window that fell short. */
export const LIST_WIDENINGS = 3;

// Every filter is optional: a NULL parameter disables it. Parameters: $4 search (tsquery text),
// $5 status, $6 tag, $7/$8 score range, $9 custom fields compared as text (json), $11 exact email,
// $12 custom fields that only a JSON string can equal, as a containment (GIN contacts_custom_fields_idx),
// $13 (phase 2 only) the rarer words of the search, which then alone drive the GIN index while the
// whole query is checked by ts_match_vq (the function form of @@, which no index matches),
// $14 active since, $15 inactive since (last_activity_at, index contacts_workspace_last_activity_idx).
// $16 is the window or candidate cap of the phase that needs one.
const FILTERS = `($4::text IS NULL
          OR ($13::text IS NULL AND c.search_document @@ to_tsquery('simple'::regconfig, $4))
          OR ($13::text IS NOT NULL AND c.search_document @@ to_tsquery('simple'::regconfig, $13) AND ts_match_vq(c.search_document, to_tsquery('simple'::regconfig, $4))))
        AND ($11::text IS NULL OR c.email = $11)
        AND ($5::text IS NULL OR c.status = $5)
        AND ($6::text IS NULL OR c.tags @> ARRAY[$6::text])
        AND ($7::int IS NULL OR c.score >= $7)
        AND ($8::int IS NULL OR c.score <= $8)
        AND ($12::jsonb IS NULL OR c.custom_fields @> $12::jsonb)
        AND ($14::timestamptz IS NULL OR c.last_activity_at >= $14::timestamptz)
        AND ($15::timestamptz IS NULL OR c.last_activity_at IS NULL OR c.last_activity_at < $15::timestamptz)
        AND ($9::jsonb IS NULL OR NOT EXISTS (
              SELECT 1 FROM jsonb_each_text($9::jsonb) f WHERE (c.custom_fields ->> f.key) IS DISTINCT FROM f.value))`;
const AFTER_CURSOR = `($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2::timestamptz, $3::uuid))`;

/**
 * name: list-contacts-recent — phases 1 and 2: the newest $16 contacts after the cursor, read in order
 * from the (workspace_id, created_at, id) index, filtered, first $10 kept. Costs at most $16 rows
 * whatever the filters; exact when it fills the page (every older match comes after those found).
 */
const LIST_RECENT = `SELECT ${LIST_COLUMNS}
       FROM (SELECT * FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} ORDER BY c.created_at DESC, c.id DESC LIMIT $16) c
      WHERE ${FILTERS}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT $10`;

/**
 * name: list-contacts-first — phase 1: LIST_RECENT over a window sized in the same statement from
 * the table's row count (pg_class.reltuples), `window_rows` on every row. $16 is the largest
 * window, $17 the random fetch cost. Matches fewer than one in `break-even` rows are cheaper to
 * fetch at random through the indexes (count × cost) than to read in order until a page is full
 * (page ÷ density): the break-even density is √(page ÷ (cost × rows)). A window of three times its
 * inverse holds about three matches at that density, so one that holds none says the matches are
 * below it (95 %) and phase 3 is the cheaper way on. At 10,000 contacts that is 163 rows instead
 * of 2,000 (a rare word's search tested every one of them); at 1,000,000, 1,627; never more than
 * $16. An unknown count (never analysed: -1, or 0) keeps $16.
 */
const LIST_FIRST = `WITH w AS MATERIALIZED (
        SELECT CASE WHEN t.reltuples > 0 THEN greatest($10::int, least($16::int, ceil(3 * sqrt($17::float8 * t.reltuples / $10::int))::int)) ELSE $16::int END AS rows
          FROM pg_class t WHERE t.oid = 'contacts'::regclass)
     SELECT ${LIST_COLUMNS}, (SELECT rows FROM w) AS window_rows
       FROM (SELECT * FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} ORDER BY c.created_at DESC, c.id DESC LIMIT coalesce((SELECT rows FROM w), $16::int)) c
      WHERE ${FILTERS}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT $10`;

/**
 * name: list-contacts-page-<limit> (and -after-<limit>) — an unfiltered page: the newest contacts
 * after the cursor, straight from the (workspace_id, created_at, id) index, one short query (no
 * filter expressions to plan). The page size is written into the text, one prepared statement per
 * size (at most PAGE_STATEMENT_LIMIT of them): with `LIMIT $n` PostgreSQL costs a generic plan for
 * 10 % of the workspace's rows, finds it dearer than the plan for the actual limit and so plans the
 * statement again on every execution (pg_prepared_statements: 0 generic plans); with the limit known
 * it keeps the one generic plan after five executions, about a third of the statement's CPU.
 * Its rows come as arrays of values (`arrayRows`).
 */
const pageStatements = new Map<string, string>();
/** The largest page (limit + 1) that gets a prepared statement of its own; the API allows 501. */
export const PAGE_STATEMENT_LIMIT = 1001;

function pageStatement(after: boolean, rows: number): { sql: string; sized: boolean } {
  const sized = Number.isSafeInteger(rows) && rows >= 1 && rows <= PAGE_STATEMENT_LIMIT;
  const name = `list-contacts-page-${after ? 'after-' : ''}${sized ? rows : 'n'}`;
  let sql = pageStatements.get(name);
  if (sql === undefined) {
    const text = `SELECT ${LIST_COLUMNS}
       FROM contacts c
      WHERE c.workspace_id = $1${after ? ' AND (c.created_at, c.id) < ($2::timestamptz, $3::uuid)' : ''}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT ${sized ? String(rows) : `$${after ? 4 : 2}::int`}`;
    // Rows as arrays (src/db/database.ts), made into rows of one shape by contactTextRowOf.
    sql = arrayRows(sized ? preparedStatement(name, text) : text);
    pageStatements.set(name, sql);
  }
  return { sql, sized };
}

/**
 * name: list-contacts-candidates — phase 3, when the newest contacts hold too few matches: the
 * matches are rare, so collect them through the selective indexes (GIN search_document, tags and
 * custom_fields, unique email, score) without any order — at most $16 of them — and sort those. `candidates`
 * tells whether the cap was reached (then the answer might be incomplete and phase 4 runs).
 */
const LIST_CANDIDATES = `WITH candidates AS MATERIALIZED (
        SELECT c.id, c.created_at FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} AND ${FILTERS} LIMIT $16)
     SELECT ${LIST_COLUMNS}, (SELECT count(*) FROM candidates) AS candidates
       FROM (SELECT id FROM candidates ORDER BY created_at DESC, id DESC LIMIT $10) top
       JOIN contacts c ON c.id = top.id
      ORDER BY c.created_at DESC, c.id DESC`;

/**
 * name: list-contacts-search-candidates — phase 3 of a search with no other filter: the same
 * answer as list-contacts-candidates with only the search's conditions, $5 (the rarer words, or
 * the whole query) driving the GIN index and $4 checked by ts_match_vq. PostgreSQL plans
 * list-contacts-candidates again on every execution (its generic plan, blind to which of the
 * optional filters are set, is a sequential scan); this short text costs about a quarter of that
 * planning, and its generic plan goes through the GIN index too.
 */
const SEARCH_CANDIDATES = `WITH candidates AS MATERIALIZED (
        SELECT c.id, c.created_at FROM contacts c
         WHERE c.search_document @@ to_tsquery('simple'::regconfig, $5) AND ts_match_vq(c.search_document, to_tsquery('simple'::regconfig, $4))
           AND c.workspace_id = $1 AND ${AFTER_CURSOR} LIMIT $7)
     SELECT ${LIST_COLUMNS}, (SELECT count(*) FROM candidates) AS candidates
       FROM (SELECT id FROM candidates ORDER BY created_at DESC, id DESC LIMIT $6) top
       JOIN contacts c ON c.id = top.id
      ORDER BY c.created_at DESC, c.id DESC`;

/**
 * name: list-contacts-word-hits — before phase 3 of a several-word search: how many of the newest
 * $4 contacts each word matches, so the common ones are left out of the GIN lookup.
 */
const WORD_HITS = `WITH terms AS MATERIALIZED (SELECT term, to_tsquery('simple'::regconfig, term) AS query FROM unnest($5::text[]) AS term)
     SELECT t.term, (SELECT count(*)::int FROM (SELECT c.search_document FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR}
                                                 ORDER BY c.created_at DESC, c.id DESC LIMIT $4) r
                      WHERE r.search_document @@ t.query) AS hits
       FROM terms t`;

/**
 * name: list-contacts-ordered — phase 4: newest first over every match, the planner choosing the
 * index. Reached with filters only when matches are both scarce among the newest contacts and
 * more than the cap in all.
 */
const LIST_ORDERED = `SELECT ${LIST_COLUMNS}
       FROM contacts c
      WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} AND ${FILTERS}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT $10`;

const JSON_NUMBER_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Splits custom-field filters in two. Equality is on the text form (`cf.seats=5` matches the
 * number 5), but a value that reads as neither a number, a boolean, an object nor an array can
 * only be equal to a JSON string: those become one containment object (answered by the GIN index
 * contacts_custom_fields_idx); the others are compared as text.
 */
export function splitCustomFields(fields: Record<string, string>): { containment: string | null; text: string | null } {
  const entries = Object.entries(fields);
  const onlyString = ([, value]: [string, string]) => !JSON_NUMBER_TEXT.test(value) && value !== 'true' && value !== 'false' && !/^[[{]/.test(value);
  const strings = entries.filter(onlyString);
  const others = entries.filter((entry) => !onlyString(entry));
  return {
    containment: strings.length > 0 ? JSON.stringify(Object.fromEntries(strings)) : null,
    text: others.length > 0 ? JSON.stringify(Object.fromEntries(others)) : null,
  };
}

export interface ListPlan {
  window: number;
  candidateCap: number;
  maxWindow: number;
  randomFetchCost: number;
}

export const DEFAULT_LIST_PLAN: ListPlan = { window: LIST_WINDOW, candidateCap: LIST_CANDIDATE_CAP, maxWindow: LIST_MAX_WINDOW, randomFetchCost: RANDOM_FETCH_COST };

/** A word that matches at most this share of the newest contacts drives the GIN index alone. */
const RARE_WORD_SHARE = 0.02;

/**
 * Lists contacts newest first, keyset-paginated on (created_at, id). A search matches the stored
 * search_document: word prefixes of email, names and company.
 *
 * A single "newest first + filter" query is slow at a million contacts either way the planner
 * takes it: walking the created_at index is fast for common words and filters but reads the
 * whole table for a rare one; the GIN index is fast for rare words but sorts hundreds of thousands
 * of rows for a common one. So the query runs in bounded phases, each exact when it answers:
 * (1) the newest contacts, at most `window` of them, sized from the table's row count so that a
 * window without a match means phase 3 is the cheaper way on (LIST_FIRST), which fill the page
 * whenever matches are not rare; (2) when they hold some matches, reading on in order far enough for the rest of the page if that costs
 * less than fetching every match at random (again, from a better measured density, when a window
 * falls short); (3) rare matches: at most `candidateCap` of them collected through the
 * indexes (the rare search words alone driving GIN) and sorted; (4) only if there are more than
 * that (common overall, absent from the newest contacts) the ordered scan over everything.
 */
export async function listContacts(q: Queryable, workspaceId: string, filters: ContactFilters, plan: ListPlan = DEFAULT_LIST_PLAN): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
  const position = filters.cursor ? decodeCursor(filters.cursor) : null;
  // A complete address finds exactly that contact (unique index); anything else is a word search.
  const exactEmail = filters.search ? parseEmail(filters.search) : null;
  const terms = filters.search && !exactEmail ? searchTerms(filters.search) : [];
  const search = terms.length > 0 ? terms.join(' & ') : null;
  const customFields = splitCustomFields(filters.customFields ?? {});
  const params = [workspaceId, position?.at ?? null, position?.id ?? null, search, filters.status ?? null, filters.tag ?? null, filters.minScore ?? null, filters.maxScore ?? null, customFields.text, filters.limit + 1, exactEmail, customFields.containment, null, filters.activeSince ?? null, filters.inactiveSince ?? null];
  const filtered = search !== null || exactEmail !== null || filters.status !== undefined || filters.tag !== undefined || filters.minScore !== undefined || filters.maxScore !== undefined || customFields.text !== null || customFields.containment !== null || filters.activeSince !== undefined || filters.inactiveSince !== undefined;
  // Words and nothing else (search implies no exact email): phase 3 has a statement of its own.
  const searchOnly = search !== null && filters.status === undefined && filters.tag === undefined && filters.minScore === undefined && filters.maxScore === undefined && customFields.text === null && customFields.containment === null && filters.activeSince === undefined && filters.inactiveSince === undefined;
  const needed = filters.limit + 1;
  const window = Math.max(plan.window, needed);

  type Row = ContactTextRow;
  let rows: Row[] | null = null;
  // The matches found so far, in order. Each phase found every match up to where it stopped, so
  // the next one goes on after the last of them, asking only for the rest of the page.
  const found: Row[] = [];
  const onward = (limit: number) => {
    const next = [...params];
    const last = found[found.length - 1];
    if (last) [next[1], next[2]] = [cursorTimeFromUtcText(last.created_utc), last.id];
    next[9] = limit;
    return next;
  };
  if (!filtered) {
    // The most common list by far (the contacts page, API clients paging through everything).
    const page = pageStatement(position !== null, needed);
    const values: unknown[] = position ? [workspaceId, position.at, position.id] : [workspaceId];
    if (!page.sized) values.push(needed);
    rows = (await q.query<unknown[]>(page.sql, values)).rows.map(contactTextRowOf);
  } else if (!exactEmail) {
    const recent = await q.query<Row & { window_rows: number }>(LIST_FIRST, [...params, window, plan.randomFetchCost]);
    // Complete when the page is full.
    if (recent.rows.length >= needed) rows = recent.rows;
    else if (recent.rows.length > 0) {
      // Sparse, not rare: read on in order from the last match, far enough to fill the page at the
      // density measured so far, as long as that costs less than fetching every match of the table
      // through the indexes (density × table size). A window that falls short measured the density
      // on more rows: the next one is sized from that, for what is still missing.
      found.push(...recent.rows);
      let scanned = Number(recent.rows[0]!.window_rows);
      let tableRows: number | null = null;
      for (let attempt = 0; attempt < LIST_WIDENINGS; attempt += 1) {
        const density = found.length / scanned;
        const missing = needed - found.length;
        const expected = Math.ceil((missing / density) * 1.25);
        if (scanned + expected > plan.maxWindow) break;
        tableRows ??= Math.max(1, (await q.query<{ reltuples: number }>(`SELECT reltuples::float8 AS reltuples FROM pg_class WHERE oid = 'contacts'::regclass`)).rows[0]?.reltuples ?? 0);
        if (scanned + expected >= density * tableRows * plan.randomFetchCost) break;
        // The reading stops at the page's last match, so a longer window costs only when matches
        // are sparser than measured: it is sized for what a Poisson count of `missing` plausibly
        // falls to (about missing − 2√missing − 1), which matters when few are missing.
        const wider = Math.min(plan.maxWindow - scanned, Math.ceil(((missing + 2 * Math.sqrt(missing) + 1) / density) * 1.25));
        const more = (await q.query<Row>(LIST_RECENT, [...onward(missing), wider])).rows;
        found.push(...more);
        scanned += wider;
        if (found.length >= needed) {
          rows = found;
          break;
        }
        // None where a page's rest was expected: the contacts ran out, or the matches did.
        if (more.length === 0) break;
      }
    }
  }
  if (!rows) {
    const rest = onward(needed - found.length);
    // Rare matches. With several words, a word common among the newest contacts ("company" in
    // "company 12345") would make GIN read its whole posting list: the rare words drive the index.
    if (terms.length > 1) {
      const hits = await q.query<{ term: string; hits: number }>(WORD_HITS, [workspaceId, rest[1], rest[2], window, terms]);
      const share = new Map(hits.rows.map((r) => [r.term, r.hits / window]));
      const rare = terms.filter((t) => (share.get(t) ?? 0) <= RARE_WORD_SHARE);
      const drivers = rare.length > 0 ? rare : [terms.reduce((a, b) => ((share.get(a) ?? 0) <= (share.get(b) ?? 0) ? a : b))];
      if (drivers.length < terms.length) rest[12] = drivers.join(' & ');
    }
    const candidates = searchOnly
      ? await q.query<Row & { candidates: number }>(SEARCH_CANDIDATES, [workspaceId, rest[1], rest[2], search, rest[12] ?? search, rest[9], plan.candidateCap + 1])
      : await q.query<Row & { candidates: number }>(LIST_CANDIDATES, [...rest, plan.candidateCap + 1]);
    if (Number(candidates.rows[0]?.candidates ?? 0) <= plan.candidateCap) rows = [...found, ...candidates.rows];
    else {
      rest[12] = null;
      rows = [...found, ...(await q.query<Row>(LIST_ORDERED, rest)).rows];
    }
  }

  const page = rows.slice(0, filters.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > filters.limit && last ? encodeCursor({ at: cursorTimeFromUtcText(last.created_utc), id: last.id }) : null;
  return { contacts: page.map(toContactFromText), nextCursor };
}

