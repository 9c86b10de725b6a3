/**
 * Contacts: the people a workspace markets to. Every mutation runs in one transaction with its
 * audit entry and its events (contact_created, tag_added, tag_removed, field_updated), so the
 * campaign engine sees exactly what was stored. Emails are normalized (trimmed, lower-cased) and
 * unique per workspace; status only moves forward (prospect → lead → customer) unless forced.
 */
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink, type NewEvent } from '../events/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { normalizeEmail } from '../identity/tokens.js';
import type { Clock } from '../platform/clock.js';
import { explainScore, NO_ENGAGEMENT, scoreInputs, scoreOf, type ScoreInputs } from '../scoring/scoring.js';
import { applyFieldTypes, invalidCustomField, loadFieldTypes } from './custom-fields.js';
import type { StepDelivery } from './contacts.schemas.js';

/** Persisted strings: never rename. Order is the progression. */
export const CONTACT_STATUSES = ['prospect', 'lead', 'customer'] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];
export const SUBSCRIPTION_STATES = ['subscribed', 'unsubscribed'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

export interface ScorePart {
  /** `adjustment` appears only when campaign actions changed the score on purpose. */
  part: 'engagement' | 'sentiment' | 'intent' | 'role' | 'status' | 'adjustment';
  points: number;
  max: number;
  explanation: string;
}

export interface Contact {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  jobTitle: string | null;
  phone: string | null;
  status: ContactStatus;
  tags: string[];
  customFields: Record<string, unknown>;
  timezone: string | null;
  subscriptionState: SubscriptionState;
  score: number;
  scoreBreakdown?: ScorePart[];
  /** When the contact last acted (tracked event, page/screen view, email open/click/reply); null if never. */
  lastActivityAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The writable fields; strings may be null to clear them (email excepted). */
export interface ContactFields {
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  jobTitle?: string | null;
  phone?: string | null;
  status?: ContactStatus;
  tags?: string[];
  customFields?: Record<string, unknown>;
  timezone?: string | null;
  subscriptionState?: SubscriptionState;
}

export interface ContactsDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}

/** The free-text profile columns that merges fill from one record into another. */
export const PROFILE_FIELDS = ['first_name', 'last_name', 'company', 'job_title', 'phone', 'timezone'] as const;
export type Profile = Record<(typeof PROFILE_FIELDS)[number], string | null>;

/** Each profile field from `preferred`, or from `fallback` where `preferred` has none. */
export function fillProfile(preferred: Profile, fallback: Profile): Profile {
  return Object.fromEntries(PROFILE_FIELDS.map((field) => [field, preferred[field] ?? fallback[field]])) as Profile;
}

/**
 * fillProfile in SQL, for `INSERT INTO contacts AS c … ON CONFLICT … DO UPDATE SET`: each profile
 * column from the incoming row (EXCLUDED), or the stored value where the incoming one is NULL.
 */
export const FILL_PROFILE_ON_CONFLICT = PROFILE_FIELDS.map((field) => `${field} = COALESCE(EXCLUDED.${field}, c.${field})`).join(',\n       ');

export interface ContactRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  status: ContactStatus;
  tags: string[];
  custom_fields: Record<string, unknown>;
  timezone: string | null;
  subscription_state: SubscriptionState;
  score: number;
  score_inputs: ScoreInputs | null;
  last_activity_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CONTACT_COLUMNS = `id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields,
  timezone, subscription_state, score, score_inputs, last_activity_at, created_at, updated_at`;

export function toContact(row: ContactRow): Contact {
  const contact: Contact = {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    company: row.company,
    jobTitle: row.job_title,
    phone: row.phone,
    status: row.status,
    tags: row.tags,
    customFields: row.custom_fields,
    timezone: row.timezone,
    subscriptionState: row.subscription_state,
    score: row.score,
    lastActivityAt: row.last_activity_at ? new Date(row.last_activity_at).toISOString() : null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
  if (row.score_inputs) contact.scoreBreakdown = explainScore(row.score_inputs);
  return contact;
}

// Pragmatic address check (the HTML living standard's): a local part, an @, a dotted domain.
const EMAIL_PATTERN = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The normalized email, or null when it is not a plausible address. */
export function parseEmail(raw: string): string | null {
  const email = normalizeEmail(raw);
  return email.length <= 254 && EMAIL_PATTERN.test(email) ? email : null;
}

export function requireEmail(raw: string): string {
  const email = parseEmail(raw);
  if (!email) throw new AppError('INVALID_EMAIL', `"${raw.slice(0, 100)}" is not a valid email address`, { field: 'email' });
  return email;
}

export function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function requireTimezone(zone: string | null | undefined): void {
  if (zone && !isValidTimezone(zone)) throw new AppError('VALIDATION_FAILED', `"${zone}" is not an IANA time zone`, { field: 'timezone' });
}

/** Tags are trimmed; blanks dropped, duplicates removed, first spelling kept. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

export function statusRank(status: ContactStatus): number {
  return CONTACT_STATUSES.indexOf(status);
}

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

async function lockContact(q: Queryable, workspaceId: string, id: string): Promise<ContactRow & { erased_at: Date | null }> {
  const result = await q.query<ContactRow & { erased_at: Date | null }>(`SELECT ${CONTACT_COLUMNS}, erased_at FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Contact');
  return row;
}

export async function getContact(q: Queryable, workspaceId: string, id: string): Promise<Contact> {
  const result = await q.query<ContactRow>(`SELECT ${CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Contact');
  return toContact(row);
}

/** Custom field values converted to their declared types (400 INVALID_CUSTOM_FIELD when one does not fit). */
async function typedCustomFields(q: Queryable, workspaceId: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (Object.keys(fields).length === 0) return fields;
  const typed = applyFieldTypes(await loadFieldTypes(q, workspaceId), fields);
  if ('problem' in typed) throw invalidCustomField(typed.problem);
  return typed.fields;
}

export async function createContact(deps: ContactsDeps, workspaceId: string, actor: Actor, input: ContactFields & { email: string }): Promise<Contact> {
  const email = requireEmail(input.email);
  requireTimezone(input.timezone);
  const tags = normalizeTags(input.tags ?? []);
  const now = deps.clock.now();
  // The first score (role and status, no engagement yet) is written with the contact, as import
  // does; later changes reach the score through the event processor.
  const inputs = scoreInputs({ jobTitle: input.jobTitle ?? null, status: input.status ?? 'prospect' }, NO_ENGAGEMENT);
  return deps.db.transaction(async (tx) => {
    const customFields = await typedCustomFields(tx, workspaceId, input.customFields ?? {});
    // ON CONFLICT DO NOTHING: a duplicate returns no row instead of aborting the transaction.
    const inserted = await tx.query<ContactRow>(
      `INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, subscription_state, score, score_inputs, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $13, $13)
       ON CONFLICT (workspace_id, email) DO NOTHING
       RETURNING ${CONTACT_COLUMNS}`,
      [
        workspaceId,
        email,
        input.firstName ?? null,
        input.lastName ?? null,
        input.company ?? null,
        input.jobTitle ?? null,
        input.phone ?? null,
        input.status ?? 'prospect',
        tags,
        JSON.stringify(customFields),
        input.timezone ?? null,
        input.subscriptionState ?? 'subscribed',
        now,
        scoreOf(inputs),
        JSON.stringify(inputs),
      ],
    );
    const row = inserted.rows[0];
    if (!row) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
    const events: NewEvent[] = [{ contactId: row.id, type: 'system', name: 'contact_created', properties: { email, source: actor.type } }];
    for (const tag of tags) events.push({ contactId: row.id, type: 'system', name: 'tag_added', properties: { tag } });
    await recordEvents(tx, deps.eventSink, workspaceId, events, now);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.create', resourceType: 'contact', resourceId: row.id, after: toContact(row) });
    return getContact(tx, workspaceId, row.id);
  });
}

const FIELD_COLUMNS = {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  company: 'company',
  jobTitle: 'job_title',
  phone: 'phone',
  status: 'status',
  timezone: 'timezone',
  subscriptionState: 'subscription_state',
} as const;

export interface ContactPatch extends ContactFields {
  /** Allows moving status backwards (customer → lead, …). */
  force?: boolean;
}

/**
 * Applies a partial update. `tags` replaces the set (recording tag_added/tag_removed for the
 * difference); `customFields` merges shallowly and a null value removes that key.
 */
export async function updateContact(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, patch: ContactPatch): Promise<Contact> {
  const email = patch.email === undefined ? undefined : requireEmail(patch.email);
  requireTimezone(patch.timezone);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await lockContact(tx, workspaceId, id);
    if (before.erased_at) throw new AppError('CONTACT_ERASED', 'This contact was erased; its personal data is gone and it cannot be edited');
    if (patch.status && !patch.force && statusRank(patch.status) < statusRank(before.status)) {
      throw new AppError('CONTACT_STATUS_REGRESSION', `Status cannot move back from ${before.status} to ${patch.status}; send "force": true to do so on purpose`, { from: before.status, to: patch.status });
    }
    const next: Record<string, unknown> = {};
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [field, column] of Object.entries(FIELD_COLUMNS) as Array<[keyof typeof FIELD_COLUMNS, string]>) {
      const value = field === 'email' ? email : patch[field];
      if (value === undefined) continue;
      const current = (before as unknown as Record<string, unknown>)[column];
      if (value !== current) {
        next[column] = value;
        changes[field] = { from: current, to: value };
      }
    }
    let customFields = before.custom_fields;
    if (patch.customFields) {
      customFields = { ...before.custom_fields };
      for (const [key, value] of Object.entries(await typedCustomFields(tx, workspaceId, patch.customFields))) {
        if (value === null) delete customFields[key];
        else customFields[key] = value;
      }
      if (JSON.stringify(customFields) !== JSON.stringify(before.custom_fields)) changes.customFields = { from: before.custom_fields, to: customFields };
    }
    const tags = patch.tags ? normalizeTags(patch.tags) : before.tags;
    const added = tags.filter((t) => !before.tags.includes(t));
    const removed = before.tags.filter((t) => !tags.includes(t));
    if (Object.keys(changes).length === 0 && added.length === 0 && removed.length === 0) return toContact(before);

    let row: ContactRow;
    try {
      const updated = await tx.query<ContactRow>(
        `UPDATE contacts SET email = $3, first_name = $4, last_name = $5, company = $6, job_title = $7, phone = $8, status = $9,
                timezone = $10, subscription_state = $11, custom_fields = $12, tags = $13, updated_at = $14
          WHERE workspace_id = $1 AND id = $2
          RETURNING ${CONTACT_COLUMNS}`,
        [
          workspaceId,
          id,
          next.email ?? before.email,
          'first_name' in next ? next.first_name : before.first_name,
          'last_name' in next ? next.last_name : before.last_name,
          'company' in next ? next.company : before.company,
          'job_title' in next ? next.job_title : before.job_title,
          'phone' in next ? next.phone : before.phone,
          next.status ?? before.status,
          'timezone' in next ? next.timezone : before.timezone,
          next.subscription_state ?? before.subscription_state,
          JSON.stringify(customFields),
          tags,
          now,
        ],
      );
      row = updated.rows[0]!;
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CONTACT_EMAIL_EXISTS', `A contact with email ${email} already exists in this workspace`, { email });
      throw error;
    }
    const events: NewEvent[] = [];
    if (Object.keys(changes).length > 0) events.push({ contactId: id, type: 'system', name: 'field_updated', properties: { changes } });
    for (const tag of added) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
    for (const tag of removed) events.push({ contactId: id, type: 'system', name: 'tag_removed', properties: { tag } });
    await recordEvents(tx, deps.eventSink, workspaceId, events, now);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.update', resourceType: 'contact', resourceId: id, before: toContact(before), after: toContact(row) });
    return getContact(tx, workspaceId, id);
  });
}

export async function deleteContact(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const before = await lockContact(tx, workspaceId, id);
    await tx.query(`DELETE FROM contacts WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
    // events.contact_id is no foreign key (migration 083): the contact's events go here.
    await tx.query(`DELETE FROM events WHERE workspace_id = $1 AND contact_id = $2`, [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'contact.delete', resourceType: 'contact', resourceId: id, before: toContact(before) });
  });
}

/** Adds tags (already present ones are ignored); records tag_added for each new one. */
export async function addTags(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tags: string[]): Promise<Contact> {
  const current = await getContact(deps.db, workspaceId, id);
  return updateContact(deps, workspaceId, actor, id, { tags: [...current.tags, ...normalizeTags(tags)] });
}

export async function removeTag(deps: ContactsDeps, workspaceId: string, actor: Actor, id: string, tag: string): Promise<Contact> {
  const current = await getContact(deps.db, workspaceId, id);
  return updateContact(deps, workspaceId, actor, id, { tags: current.tags.filter((t) => t !== tag.trim()) });
}

/* ---------- listing ---------- */

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

interface Position {
  at: string;
  id: string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** A cursor's parts: a JSON array in base64url whose first part is a time, or null. */
function cursorParts(cursor: string): unknown[] | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) && typeof parsed[0] === 'string' && !Number.isNaN(Date.parse(parsed[0])) ? parsed : null;
  } catch {
    return null;
  }
}

const invalidCursor = () => new AppError('INVALID_CURSOR', 'The cursor is not one this API returned');

export function decodeCursor(cursor: string): Position {
  const parts = cursorParts(cursor);
  if (parts?.length === 2 && typeof parts[1] === 'string' && /^[0-9a-f-]{36}$/.test(parts[1])) return { at: parts[0] as string, id: parts[1] };
  throw invalidCursor();
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


// Exact microsecond timestamps for the cursor: a JS Date would drop the microseconds.
const EXACT_CREATED_AT = `to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;
const LIST_COLUMNS = CONTACT_COLUMNS.split(',').map((column) => `c.${column.trim()}`).join(', ');

/** How many of the newest contacts (after the cursor) the first phase of a filtered list reads. */
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
const LIST_RECENT = `SELECT ${LIST_COLUMNS}, ${EXACT_CREATED_AT}
       FROM (SELECT * FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} ORDER BY c.created_at DESC, c.id DESC LIMIT $16) c
      WHERE ${FILTERS}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT $10`;

/**
 * name: list-contacts-candidates — phase 3, when the newest contacts hold too few matches: the
 * matches are rare, so collect them through the selective indexes (GIN search_document, tags and
 * custom_fields, unique email, score) without any order — at most $16 of them — and sort those. `candidates`
 * tells whether the cap was reached (then the answer might be incomplete and phase 4 runs).
 */
const LIST_CANDIDATES = `WITH candidates AS MATERIALIZED (
        SELECT c.id, c.created_at FROM contacts c WHERE c.workspace_id = $1 AND ${AFTER_CURSOR} AND ${FILTERS} LIMIT $16)
     SELECT ${LIST_COLUMNS}, ${EXACT_CREATED_AT}, (SELECT count(*) FROM candidates) AS candidates
       FROM (SELECT id FROM candidates ORDER BY created_at DESC, id DESC LIMIT $10) top
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
const LIST_ORDERED = `SELECT ${LIST_COLUMNS}, ${EXACT_CREATED_AT}
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
 * (1) the newest `window` contacts, which fill the page whenever matches are not rare; (2) when
 * they hold some matches, reading on in order far enough for the rest of the page if that costs
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
  const needed = filters.limit + 1;
  const window = Math.max(plan.window, needed);

  type Row = ContactRow & { created_key: string };
  let rows: Row[] | null = null;
  // The matches found so far, in order. Each phase found every match up to where it stopped, so
  // the next one goes on after the last of them, asking only for the rest of the page.
  const found: Row[] = [];
  const onward = (limit: number) => {
    const next = [...params];
    const last = found[found.length - 1];
    if (last) [next[1], next[2]] = [last.created_key, last.id];
    next[9] = limit;
    return next;
  };
  if (!exactEmail) {
    const recent = await q.query<Row>(LIST_RECENT, [...params, window]);
    // Complete when the page is full, or when nothing was filtered out (the window held every contact left).
    if (recent.rows.length >= needed || !filtered) rows = recent.rows;
    else if (recent.rows.length > 0) {
      // Sparse, not rare: read on in order from the last match, far enough to fill the page at the
      // density measured so far, as long as that costs less than fetching every match of the table
      // through the indexes (density × table size). A window that falls short measured the density
      // on more rows: the next one is sized from that, for what is still missing.
      found.push(...recent.rows);
      let scanned = window;
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
    const candidates = await q.query<Row & { candidates: number }>(LIST_CANDIDATES, [...rest, plan.candidateCap + 1]);
    if (Number(candidates.rows[0]?.candidates ?? 0) <= plan.candidateCap) rows = [...found, ...candidates.rows];
    else {
      rest[12] = null;
      rows = [...found, ...(await q.query<Row>(LIST_ORDERED, rest)).rows];
    }
  }

  const page = rows.slice(0, filters.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > filters.limit && last ? encodeCursor({ at: last.created_key, id: last.id }) : null;
  return { contacts: page.map(toContact), nextCursor };
}

/* ---------- timeline ---------- */

export type TimelineItem =
  | { kind: 'event'; id: string; at: string; type: string; name: string; properties: Record<string, unknown> }
  | { kind: 'message'; id: string; at: string; subject: string; status: string; toAddress: string; sentAt: string | null }
  | { kind: 'step'; id: string; at: string; campaignId: string; campaignName: string; enrollmentId: string; nodeId: string; outcome: string; detail: Record<string, unknown>; delivery: StepDelivery | null };

/**
 * SQL for the delivery of a webhook step `s` (an enrollment_steps row) as jsonb, NULL on other
 * steps: its campaign_webhooks row, found by the idempotency key the engine gave it, through
 * campaign_webhooks_idempotency_key. Read by the timeline and by campaign journeys.
 */
export function stepDeliverySql(s: string): string {
  return `CASE WHEN ${s}.detail ? 'webhook' THEN (
            SELECT jsonb_build_object('status', w.status, 'attempts', w.attempts, 'lastStatus', w.last_status, 'lastError', w.last_error,
                                      'sentAt', w.sent_at, 'nextAttemptAt', CASE WHEN w.status = 'queued' THEN w.next_attempt_at END)
              FROM campaign_webhooks w
             WHERE w.workspace_id = ${s}.workspace_id AND w.idempotency_key = 'enrollment:' || ${s}.enrollment_id || ':node:' || ${s}.node_id) END`;
}

/** jsonb spells a timestamptz with its offset; the API answers ISO-8601 in UTC. */
export function toStepDelivery(raw: StepDelivery | null | undefined): StepDelivery | null {
  if (!raw) return null;
  const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());
  return { ...raw, sentAt: iso(raw.sentAt), nextAttemptAt: iso(raw.nextAttemptAt) };
}

/** The timeline's sources, in their order among items of the same instant. */
const TIMELINE_KINDS = ['event', 'message', 'step'] as const;
type TimelineKind = (typeof TIMELINE_KINDS)[number];

interface TimelineRow {
  kind: TimelineKind;
  id: string;
  at_key: string;
  at: Date;
  /** The item's own fields, built by its source's branch of the query. */
  item: Record<string, unknown>;
}

interface TimelinePosition {
  at: string;
  rank: number;
  id: string;
}

function encodeTimelineCursor(position: TimelinePosition): string {
  return Buffer.from(JSON.stringify([position.at, position.rank, position.id])).toString('base64url');
}

/** [at, rank, id]; a cursor from before campaign steps joined the timeline ([at, uuid]) still reads. */
function decodeTimelineCursor(cursor: string): TimelinePosition {
  const parts = cursorParts(cursor);
  const [at, rank, id] = parts ?? [];
  if (parts?.length === 3 && Number.isInteger(rank) && (rank as number) >= 0 && (rank as number) < TIMELINE_KINDS.length && typeof id === 'string' && /^[0-9a-f-]{1,36}$/.test(id)) {
    return { at: at as string, rank: rank as number, id };
  }
  const legacy = decodeCursor(cursor);
  return { at: legacy.at, rank: 0, id: legacy.id };
}

/**
 * name: contact-timeline — the contact's events, emails and campaign steps merged newest first.
 * Events and emails use their (workspace_id, contact_id, time DESC) indexes; steps come through
 * the contact's enrollments (enrollments_contact_idx, then enrollment_steps_enrollment_idx). The
 * cursor is (time, source, id as text), one total order over the three sources.
 */
export async function contactTimeline(q: Queryable, workspaceId: string, contactId: string, limit: number, cursor?: string): Promise<{ items: TimelineItem[]; nextCursor: string | null }> {
  await getContact(q, workspaceId, contactId);
  const position = cursor ? decodeTimelineCursor(cursor) : null;
  // Before the cursor: an earlier time, or the same time and (source, id) before it.
  const before = (at: string, rank: string, id: string) =>
    `($3::timestamptz IS NULL OR (${at} <= $3::timestamptz AND (${at} < $3::timestamptz OR ${rank} < $4::int OR (${rank} = $4::int AND ${id} COLLATE "C" < $6::text COLLATE "C"))))`;
  const result = await q.query<TimelineRow>(
    `SELECT m.*, to_char(m.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key FROM (
        (SELECT 'event' AS kind, 0 AS rank, id::text AS id, occurred_at AS at, jsonb_build_object('type', type, 'name', name, 'properties', properties) AS item
           FROM events
          WHERE workspace_id = $1 AND contact_id = $2 AND ${before('occurred_at', '0', 'id::text')}
          ORDER BY occurred_at DESC, id::text COLLATE "C" DESC LIMIT $5)
        UNION ALL
        (SELECT 'message', 1, id::text, created_at, jsonb_build_object('subject', subject, 'status', status, 'toAddress', to_address, 'sentAt', sent_at)
           FROM messages
          WHERE workspace_id = $1 AND contact_id = $2 AND ${before('created_at', '1', 'id::text')}
          ORDER BY created_at DESC, id::text COLLATE "C" DESC LIMIT $5)
        UNION ALL
        (SELECT 'step', 2, s.id::text, s.at,
                jsonb_build_object('campaignId', s.campaign_id, 'campaignName', c.name, 'enrollmentId', s.enrollment_id, 'nodeId', s.node_id, 'outcome', s.outcome, 'detail', s.detail,
                                   'delivery', ${stepDeliverySql('s')})
           FROM enrollments n
           JOIN enrollment_steps s ON s.enrollment_id = n.id
           JOIN campaigns c ON c.id = s.campaign_id
          WHERE n.workspace_id = $1 AND n.contact_id = $2 AND ${before('s.at', '2', 's.id::text')}
          ORDER BY s.at DESC, s.id::text COLLATE "C" DESC LIMIT $5)
      ) m
      ORDER BY m.at DESC, m.rank DESC, m.id COLLATE "C" DESC
      LIMIT $5`,
    [workspaceId, contactId, position?.at ?? null, position?.rank ?? null, limit + 1, position?.id ?? null],
  );
  const rows = result.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  const items = rows.map((r) => {
    const item = { kind: r.kind, id: r.id, at: new Date(r.at).toISOString(), ...r.item } as TimelineItem;
    // JSON spells a timestamptz with its offset; the API answers ISO-8601 in UTC.
    if (item.kind === 'message' && item.sentAt) item.sentAt = new Date(item.sentAt).toISOString();
    if (item.kind === 'step') item.delivery = toStepDelivery(item.delivery);
    return item;
  });
  return { items, nextCursor: result.rows.length > limit && last ? encodeTimelineCursor({ at: last.at_key, rank: TIMELINE_KINDS.indexOf(last.kind), id: last.id }) : null };
}
