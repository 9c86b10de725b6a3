/**
 * CSV import of contacts: the file is streamed through csv-parse, rows are mapped to fields,
 * validated one by one (a bad row is reported, never fatal) and written in chunks — per chunk one
 * lookup of the existing contacts, one multi-row `INSERT … ON CONFLICT (workspace_id, email) DO
 * UPDATE`, one event insert — each chunk in its own transaction, so progress is visible and a
 * crash keeps what was committed (running the same file again merges, it never duplicates).
 *
 * Merge by email: a non-empty cell overwrites, an empty one keeps the stored value; tags are added;
 * custom fields merge; status only moves forward; an unsubscribed contact is never re-subscribed.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink, type NewEvent, type RecordedEvent } from '../events/events.js';
import { AppError, notFound } from '../http/errors.js';
import { storableText } from '../http/text.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { NO_ENGAGEMENT, scoreInputs, scoreOf, type ScoreInputs } from '../scoring/scoring.js';
import { coerceCustomValue, loadFieldTypes, MAX_CUSTOM_TEXT, type FieldTypes } from './custom-fields.js';
import { CONTACT_STATUSES, FILL_PROFILE_ON_CONFLICT, fillProfile, isValidTimezone, normalizeTags, parseEmail, type ContactRow, type ContactStatus, type SubscriptionState } from './contacts.js';

export const FIELD_TARGETS = ['email', 'firstName', 'lastName', 'name', 'company', 'jobTitle', 'phone', 'status', 'tags', 'timezone', 'subscriptionState', 'ignore'] as const;
/** A column goes to a field, to a custom field (`custom:<key>`), or nowhere (`ignore`). */
export type ImportTarget = (typeof FIELD_TARGETS)[number] | `custom:${string}`;

export const DEFAULT_CHUNK_SIZE = 5000;
export const DEFAULT_WRITERS = 2;
const MAX_STORED_ERRORS = 1000;
const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;
const ANALYZE_AFTER_ROWS = 10_000;

const HEADER_ALIASES: Record<string, ImportTarget> = {
  email: 'email', emailaddress: 'email', mail: 'email',
  firstname: 'firstName', first: 'firstName', givenname: 'firstName',
  lastname: 'lastName', last: 'lastName', surname: 'lastName', familyname: 'lastName',
  name: 'name', fullname: 'name',
  company: 'company', companyname: 'company', organization: 'company', organisation: 'company', account: 'company',
  jobtitle: 'jobTitle', title: 'jobTitle', position: 'jobTitle', role: 'jobTitle',
  phone: 'phone', phonenumber: 'phone', mobile: 'phone', telephone: 'phone',
  status: 'status', lifecyclestage: 'status', stage: 'status',
  tags: 'tags', tag: 'tags', labels: 'tags',
  timezone: 'timezone', tz: 'timezone',
  subscriptionstate: 'subscriptionState', subscription: 'subscriptionState', subscribed: 'subscriptionState',
};

export function parseTarget(raw: string): ImportTarget | null {
  if ((FIELD_TARGETS as readonly string[]).includes(raw)) return raw as ImportTarget;
  const custom = /^(?:custom[:.])(.{1,64})$/.exec(raw);
  return custom ? `custom:${custom[1]}` : null;
}

/** Maps each header to a target: explicit mapping first, then well-known names, else a custom field. */
export function resolveMapping(header: string[], explicit: Record<string, ImportTarget>): ImportTarget[] {
  return header.map((column) => {
    const given = explicit[column];
    if (given) return given;
    const alias = HEADER_ALIASES[column.toLowerCase().replace(/[^a-z0-9]/g, '')];
    if (alias) return alias;
    const key = column.trim().slice(0, 64);
    return key ? (`custom:${key}` as const) : 'ignore';
  });
}

export interface ImportRowError {
  row: number;
  code: 'INVALID_EMAIL' | 'INVALID_VALUE' | 'INVALID_ENCODING';
  message: string;
}

interface ImportRow {
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  status: ContactStatus | null;
  tags: string[];
  custom_fields: Record<string, string | number | boolean>;
  timezone: string | null;
  subscription_state: SubscriptionState | null;
}

const LIMITS: Partial<Record<ImportTarget, number>> = { firstName: 200, lastName: 200, name: 400, company: 200, jobTitle: 200, phone: 50, timezone: 64 };

/**
 * Whether a decoded CSV cell is text: bytes that are not UTF-8 were decoded as U+FFFD, and a NUL
 * byte means UTF-16 without its byte order mark or a binary file. (Decoding never yields an
 * unpaired surrogate, the other text PostgreSQL cannot store.)
 */
function isDecodedText(value: string): boolean {
  return !value.includes('\ufffd') && !value.includes('\u0000');
}

/** One CSV record → a row to upsert, or the reason it is refused. */
export function mapRecord(record: string[], targets: ImportTarget[], rowNumber: number, types: FieldTypes): ImportRow | ImportRowError {
  const row: ImportRow = { email: '', first_name: null, last_name: null, company: null, job_title: null, phone: null, status: null, tags: [], custom_fields: {}, timezone: null, subscription_state: null };
  let rawEmail = '';
  for (let i = 0; i < targets.length; i += 1) {
    const target = targets[i]!;
    const value = (record[i] ?? '').trim();
    if (!value || target === 'ignore') continue;
    if (!isDecodedText(value)) return { row: rowNumber, code: 'INVALID_ENCODING', message: `${target} is not UTF-8 text (it holds a NUL byte or bytes that are not UTF-8): save the file as UTF-8 CSV` };
    const limit = LIMITS[target];
    if (limit && value.length > limit) return { row: rowNumber, code: 'INVALID_VALUE', message: `${target} is longer than ${limit} characters` };
    switch (target) {
      case 'email':
        rawEmail = value;
        break;
      case 'firstName':
        row.first_name = value;
        break;
      case 'lastName':
        row.last_name = value;
        break;
      case 'name': {
        const space = value.indexOf(' ');
        row.first_name ??= (space < 0 ? value : value.slice(0, space)).slice(0, 200);
        if (space > 0) row.last_name ??= value.slice(space + 1).trim().slice(0, 200);
        break;
      }
      case 'company':
        row.company = value;
        break;
      case 'jobTitle':
        row.job_title = value;
        break;
      case 'phone':
        row.phone = value;
        break;
      case 'status': {
        const status = value.toLowerCase();
        if (!(CONTACT_STATUSES as readonly string[]).includes(status)) return { row: rowNumber, code: 'INVALID_VALUE', message: `status must be one of ${CONTACT_STATUSES.join(', ')}, got "${value.slice(0, 50)}"` };
        row.status = status as ContactStatus;
        break;
      }
      case 'tags':
        row.tags = normalizeTags(value.split(/[;|]/)).filter((t) => t.length <= 64);
        break;
      case 'timezone':
        if (!isValidTimezone(value)) return { row: rowNumber, code: 'INVALID_VALUE', message: `"${value.slice(0, 64)}" is not an IANA time zone` };
        row.timezone = value;
        break;
      case 'subscriptionState': {
        const v = value.toLowerCase();
        if (['subscribed', 'true', 'yes', '1'].includes(v)) row.subscription_state = 'subscribed';
        else if (['unsubscribed', 'false', 'no', '0'].includes(v)) row.subscription_state = 'unsubscribed';
        else return { row: rowNumber, code: 'INVALID_VALUE', message: `subscriptionState must be subscribed or unsubscribed, got "${value.slice(0, 50)}"` };
        break;
      }
      default: {
        const key = target.slice('custom:'.length);
        const type = types.get(key);
        if (!type) {
          row.custom_fields[key] = value.slice(0, MAX_CUSTOM_TEXT);
          break;
        }
        // A declared field: the cell converted to its type ("42" → 42, "yes" → true), or the row refused.
        const coerced = coerceCustomValue(type, value);
        if (!coerced.ok) return { row: rowNumber, code: 'INVALID_VALUE', message: `${key} ${coerced.message} (a ${type} field), got "${value.slice(0, 50)}"` };
        row.custom_fields[key] = coerced.value;
      }
    }
  }
  const email = parseEmail(rawEmail);
  if (!email) return { row: rowNumber, code: 'INVALID_EMAIL', message: rawEmail ? `"${rawEmail.slice(0, 100)}" is not a valid email address` : 'the email is missing' };
  row.email = email;
  return row;
}

function mergeRows(a: ImportRow, b: ImportRow): ImportRow {
  return {
    email: a.email,
    ...fillProfile(b, a),
    status: b.status ?? a.status,
    tags: normalizeTags([...a.tags, ...b.tags]),
    custom_fields: { ...a.custom_fields, ...b.custom_fields },
    subscription_state: b.subscription_state ?? a.subscription_state,
  };
}

export interface ContactImport {
  id: string;
  status: 'running' | 'completed' | 'failed';
  source: string;
  filename: string | null;
  mapping: Record<string, string>;
  bytesRead: number;
  rowsProcessed: number;
  rowsCreated: number;
  rowsUpdated: number;
  rowsFailed: number;
  errors: ImportRowError[];
  failure: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface ImportDbRow {
  id: string;
  status: ContactImport['status'];
  source: string;
  filename: string | null;
  mapping: Record<string, string>;
  bytes_read: number;
  rows_processed: number;
  rows_created: number;
  rows_updated: number;
  rows_failed: number;
  errors: ImportRowError[];
  failure: string | null;
  created_at: Date;
  finished_at: Date | null;
}

function toImport(r: ImportDbRow): ContactImport {
  return {
    id: r.id,
    status: r.status,
    source: r.source,
    filename: r.filename,
    mapping: r.mapping,
    bytesRead: Number(r.bytes_read),
    rowsProcessed: r.rows_processed,
    rowsCreated: r.rows_created,
    rowsUpdated: r.rows_updated,
    rowsFailed: r.rows_failed,
    errors: r.errors,
    failure: r.failure,
    createdAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

const IMPORT_COLUMNS = 'id, status, source, filename, mapping, bytes_read, rows_processed, rows_created, rows_updated, rows_failed, errors, failure, created_at, finished_at';

export async function getImport(q: Queryable, workspaceId: string, id: string): Promise<ContactImport> {
  const result = await q.query<ImportDbRow>(`SELECT ${IMPORT_COLUMNS} FROM contact_imports WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Import');
  return toImport(row);
}

export async function listImports(q: Queryable, workspaceId: string, limit: number): Promise<ContactImport[]> {
  const result = await q.query<ImportDbRow>(`SELECT ${IMPORT_COLUMNS} FROM contact_imports WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT $2`, [workspaceId, limit]);
  return result.rows.map(toImport);
}

export interface ImportDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}

export interface ImportOptions {
  source: 'api' | 'cli';
  filename?: string | undefined;
  mapping?: Record<string, ImportTarget> | undefined;
  chunkSize?: number | undefined;
  /** Chunks written at once on PostgreSQL (each on its own connection); PGlite writes one at a time. */
  writers?: number | undefined;
  /** Called after each chunk (the CLI's progress bar). */
  onProgress?: ((progress: ContactImport) => void) | undefined;
}

/** The columns a merge reads back from a contact already stored. */
type ExistingRow = Pick<ContactRow, 'id' | 'email' | 'first_name' | 'last_name' | 'company' | 'job_title' | 'phone' | 'status' | 'tags' | 'timezone' | 'subscription_state'>;

/**
 * Time-ordered ids (UUID version 7: 48 bits of Unix milliseconds, then random bits) for the
 * contacts an import creates. A million random v4 ids land on random pages of the primary key,
 * of the events' (workspace_id, contact_id, …) index and of every foreign-key lookup, and each
 * touched page costs a full-page image in the WAL after a checkpoint; ordered ids append at the
 * right edge of those indexes instead. A row that merges into an existing contact keeps its id.
 */
export function orderedUuids(count: number, nowMs: number): string[] {
  const random = randomBytes(count * 10);
  const time = nowMs.toString(16).padStart(12, '0').slice(-12);
  const ids: string[] = new Array<string>(count);
  for (let i = 0; i < count; i += 1) {
    const r = random.subarray(i * 10, i * 10 + 10).toString('hex');
    // version nibble 7, variant bits 10xx
    ids[i] = `${time.slice(0, 8)}-${time.slice(8, 12)}-7${r.slice(0, 3)}-${((parseInt(r[3]!, 16) & 0x3) | 0x8).toString(16)}${r.slice(4, 7)}-${r.slice(7, 19)}`;
  }
  return ids;
}

/**
 * The first 7 bytes of a UUID version 7 for `at` (48 bits of Unix milliseconds, then the version
 * nibble and 4 random bits); SQL completes it with the random bytes of gen_random_uuid(), whose
 * variant bits are already those of version 7.
 */
function uuidV7Prefix(at: Date): Buffer {
  const prefix = Buffer.alloc(7);
  prefix.writeUIntBE(at.getTime(), 0, 6);
  prefix[6] = 0x70 | (randomBytes(1)[0]! & 0x0f);
  return prefix;
}

/**
 * The contact columns of a chunk's rows, sent as one `json` parameter (json_to_recordset parses
 * the text once; `jsonb` would first build a binary document only to take it apart again).
 */
const CHUNK_ROWS = `json_to_recordset($2::json) AS r(id uuid, email text, first_name text, last_name text, company text, job_title text, phone text, status text,
              tags json, custom_fields json, timezone text, subscription_state text, score int, score_key int)`;
const CHUNK_VALUES = `r.id, $1, r.email, r.first_name, r.last_name, r.company, r.job_title, r.phone, COALESCE(r.status, 'prospect'),
              ARRAY(SELECT json_array_elements_text(r.tags)), r.custom_fields::jsonb, r.timezone, COALESCE(r.subscription_state, 'subscribed'), r.score, $4::jsonb -> r.score_key, $3, $3`;
const CONTACT_COLUMNS = 'id, workspace_id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, subscription_state, score, score_inputs, created_at, updated_at';

/**
 * name: import-chunk — one transaction per chunk:
 *   1. one statement inserts the chunk's new contacts (ON CONFLICT DO NOTHING: an email already
 *      stored is left for step 2) and derives their events from the inserted rows in SQL — a
 *      `contact_created` and a `tag_added` per tag, with time-ordered ids — returning only what the
 *      event sink needs;
 *   2. only when some emails were already stored: those rows are merged (their stored values read
 *      under a lock, one `INSERT … ON CONFLICT DO UPDATE`, read back) and their `field_updated` /
 *      `tag_added` events recorded through recordEvents.
 * A fresh import so never looks its contacts up, and never ships its events back and forth as
 * JSON; every event still reaches the whole event sink (triggers, event processor) in the same
 * transaction.
 */
async function writeChunk(deps: ImportDeps, workspaceId: string, rows: ImportRow[], now: Date): Promise<{ created: number; updated: number }> {
  rows.sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  // A new contact's first score (no engagement yet) is written with it, so the scoring sink finds
  // nothing to change instead of rewriting every row it was just given.
  // It depends only on (status, job title) here, so each distinct pair is computed and sent once
  // and rows refer to its inputs by position ($4).
  const ids = orderedUuids(rows.length, now.getTime());
  const inputs: ScoreInputs[] = [];
  const scores: number[] = [];
  const scoreKeys = new Map<string, number>();
  const scored = rows.map((r, i) => {
    const status = r.status ?? 'prospect';
    const pair = `${status}\u0000${r.job_title ?? ''}`;
    let key = scoreKeys.get(pair);
    if (key === undefined) {
      const first = scoreInputs({ jobTitle: r.job_title, status }, NO_ENGAGEMENT);
      key = inputs.push(first) - 1;
      scores.push(scoreOf(first));
      scoreKeys.set(pair, key);
    }
    // Spelled out: V8 copies a spread row with three more keys about fifty times slower (3 µs a row).
    return {
      id: ids[i],
      email: r.email,
      first_name: r.first_name,
      last_name: r.last_name,
      company: r.company,
      job_title: r.job_title,
      phone: r.phone,
      status: r.status,
      tags: r.tags,
      custom_fields: r.custom_fields,
      timezone: r.timezone,
      subscription_state: r.subscription_state,
      score: scores[key],
      score_key: key,
    };
  });
  const inputsJson = JSON.stringify(inputs);
  return deps.db.transaction(async (tx) => {
    const generated = await tx.query<{ id: string; contact_id: string; name: 'contact_created' | 'tag_added'; value: string }>(
      `WITH ins AS (
          INSERT INTO contacts AS c (${CONTACT_COLUMNS})
          SELECT ${CHUNK_VALUES}
            FROM ${CHUNK_ROWS}
          ON CONFLICT (workspace_id, email) DO NOTHING
          RETURNING id, email, tags),
        derived AS (
          SELECT id AS contact_id, 0 AS ord, 'contact_created' AS name, email AS value FROM ins
          UNION ALL
          SELECT ins.id, t.ord, 'tag_added', t.tag FROM ins, unnest(ins.tags) WITH ORDINALITY AS t(tag, ord))
       INSERT INTO events (id, workspace_id, contact_id, type, name, properties, occurred_at, received_at)
       SELECT encode(overlay(uuid_send(gen_random_uuid()) PLACING $5::bytea FROM 1 FOR 7), 'hex')::uuid, $1, d.contact_id, 'system', d.name,
              CASE d.name WHEN 'contact_created' THEN jsonb_build_object('email', d.value, 'source', 'import') ELSE jsonb_build_object('tag', d.value) END, $3, $3
         FROM derived d ORDER BY d.contact_id, d.ord
       RETURNING id, contact_id, name, CASE name WHEN 'contact_created' THEN properties->>'email' ELSE properties->>'tag' END AS value`,
      [workspaceId, JSON.stringify(scored), now, inputsJson, uuidV7Prefix(now)],
    );
    const events: RecordedEvent[] = generated.rows.map((r) => ({
      id: r.id,
      workspaceId,
      contactId: r.contact_id,
      type: 'system',
      name: r.name,
      properties: r.name === 'contact_created' ? { email: r.value, source: 'import' } : { tag: r.value },
      occurredAt: now,
    }));
    if (events.length > 0) await deps.eventSink.onEvents(tx, events);
    const inserted = new Set(generated.rows.flatMap((r) => (r.name === 'contact_created' ? [r.value] : [])));
    if (inserted.size === rows.length) return { created: inserted.size, updated: 0 };
    const merged = await mergeExisting(deps, tx, workspaceId, scored.filter((r) => !inserted.has(r.email)), now, inputsJson);
    return { created: inserted.size + merged.created, updated: merged.updated };
  });
}

/**
 * Step 2 of a chunk: rows whose email was already stored. Their stored values are read under a
 * lock first, so each merge's `field_updated` changes and added tags are exact. A contact deleted
 * since step 1 is created here instead (with its `contact_created`).
 */
async function mergeExisting(deps: ImportDeps, tx: Queryable, workspaceId: string, rows: Array<ImportRow & { id: string | undefined }>, now: Date, inputsJson: string): Promise<{ created: number; updated: number }> {
  const found = await tx.query<ExistingRow>(
    `SELECT id, email, first_name, last_name, company, job_title, phone, status, tags, timezone, subscription_state
       FROM contacts WHERE workspace_id = $1 AND email = ANY($2::text[]) ORDER BY email FOR NO KEY UPDATE`,
    [workspaceId, rows.map((r) => r.email)],
  );
  const existing = new Map(found.rows.map((r) => [r.email, r]));
  const upserted = await tx.query<{ id: string; email: string }>(
    `INSERT INTO contacts AS c (${CONTACT_COLUMNS})
     SELECT ${CHUNK_VALUES}
       FROM ${CHUNK_ROWS}
     ON CONFLICT (workspace_id, email) DO UPDATE SET
       ${FILL_PROFILE_ON_CONFLICT},
       status = CASE WHEN array_position(ARRAY['prospect', 'lead', 'customer'], EXCLUDED.status) > array_position(ARRAY['prospect', 'lead', 'customer'], c.status)
                     THEN EXCLUDED.status ELSE c.status END,
       tags = c.tags || ARRAY(SELECT t FROM unnest(EXCLUDED.tags) AS t WHERE NOT (t = ANY(c.tags))),
       custom_fields = c.custom_fields || EXCLUDED.custom_fields,
       subscription_state = CASE WHEN c.subscription_state = 'unsubscribed' THEN c.subscription_state ELSE EXCLUDED.subscription_state END,
       updated_at = EXCLUDED.updated_at
     RETURNING id, email`,
    [workspaceId, JSON.stringify(rows), now, inputsJson],
  );
  // Only merged contacts are read back (for their field_updated changes): a new one is exactly the row sent.
  const merged = found.rows.length === 0 ? [] : (await tx.query<ExistingRow>(
    `SELECT id, email, first_name, last_name, company, job_title, phone, status, tags, timezone, subscription_state
       FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])`,
    [workspaceId, found.rows.map((r) => r.id)],
  )).rows;
  const mergedByEmail = new Map(merged.map((r) => [r.email, r]));
  const sent = new Map(rows.map((r) => [r.email, r]));
  const events: NewEvent[] = [];
  let created = 0;
  for (const { id, email } of upserted.rows) {
    const before = existing.get(email);
    if (!before) {
      created += 1;
      events.push({ contactId: id, type: 'system', name: 'contact_created', properties: { email, source: 'import' } });
      for (const tag of sent.get(email)!.tags) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
      continue;
    }
    const after = mergedByEmail.get(email)!;
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [field, column] of [['firstName', 'first_name'], ['lastName', 'last_name'], ['company', 'company'], ['jobTitle', 'job_title'], ['phone', 'phone'], ['status', 'status'], ['timezone', 'timezone'], ['subscriptionState', 'subscription_state']] as const) {
      if (before[column] !== after[column]) changes[field] = { from: before[column], to: after[column] };
    }
    if (Object.keys(changes).length > 0) events.push({ contactId: id, type: 'system', name: 'field_updated', properties: { changes, source: 'import' } });
    for (const tag of after.tags) if (!before.tags.includes(tag)) events.push({ contactId: id, type: 'system', name: 'tag_added', properties: { tag } });
  }
  await recordEvents(tx, deps.eventSink, workspaceId, events, now);
  return { created, updated: upserted.rows.length - created };
}

/** Counts the bytes flowing through, refusing a file over the limit. */
async function* countBytes(input: Readable, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > MAX_IMPORT_BYTES) throw new AppError('IMPORT_TOO_LARGE', `A CSV import may be at most ${MAX_IMPORT_BYTES} bytes`);
    onBytes(total);
    yield buffer;
  }
}

/**
 * Runs an import to its end and returns the final report. Bad rows are reported; a CSV that
 * cannot be parsed stops the import (status failed) after keeping the chunks already written.
 */
export async function importContacts(deps: ImportDeps, workspaceId: string, actor: Actor, input: Readable, options: ImportOptions): Promise<ContactImport> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const explicit = options.mapping ?? {};
  const types = await loadFieldTypes(deps.db, workspaceId);
  const inserted = await deps.db.query<{ id: string }>(
    `INSERT INTO contact_imports (workspace_id, source, filename, mapping, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
    [workspaceId, options.source, options.filename ?? null, JSON.stringify(explicit), deps.clock.now()],
  );
  const importId = inserted.rows[0]!.id;
  let bytesRead = 0;
  let processed = 0;
  let created = 0;
  let updated = 0;
  let failed = 0;
  const errors: ImportRowError[] = [];
  let header: string[] | null = null;
  let targets: ImportTarget[] | null = null;
  let pending = new Map<string, ImportRow>();

  /** Where the report stands: counters as of the last chunk cut, written when that chunk committed. */
  interface Mark {
    bytesRead: number;
    processed: number;
    failed: number;
    errors: number;
  }
  const markNow = (): Mark => ({ bytesRead, processed, failed, errors: errors.length });
  const saveProgress = async (status: ContactImport['status'], mark: Mark, failure: string | null = null) => {
    const finished = status === 'running' ? null : deps.clock.now();
    const result = await deps.db.query<ImportDbRow>(
      `UPDATE contact_imports SET status = $3, bytes_read = $4, rows_processed = $5, rows_created = $6, rows_updated = $7, rows_failed = $8,
              errors = $9, failure = $10, mapping = $11, updated_at = $12, finished_at = $13
        WHERE workspace_id = $1 AND id = $2 RETURNING ${IMPORT_COLUMNS}`,
      [workspaceId, importId, status, mark.bytesRead, mark.processed, created, updated, mark.failed, JSON.stringify(errors.slice(0, mark.errors)), failure, JSON.stringify(mappingReport()), deps.clock.now(), finished],
    );
    const report = toImport(result.rows[0]!);
    options.onProgress?.(report);
    return report;
  };
  const mappingReport = (): Record<string, string> => (header && targets ? Object.fromEntries(header.map((h, i) => [h, targets![i]!])) : explicit);

  // Parsing runs ahead of writing: up to `writers` chunks are written at once (each its own
  // transaction on its own connection) while the next one is parsed. A chunk that shares an email
  // with a chunk still being written waits for it, so the later row is merged after the earlier
  // one and its lookup sees the stored contact. Progress is saved in chunk order.
  const writers = deps.db.kind === 'postgres' ? (options.writers ?? DEFAULT_WRITERS) : 1;
  const inFlight = new Set<{ emails: Map<string, ImportRow>; written: Promise<unknown> }>();
  let progressed: Promise<unknown> = Promise.resolve();
  let writeFailure: { error: unknown } | null = null;
  // Committed chunks whose counts the in-order progress has not reached yet (after a failure of
  // an earlier chunk it never will: the failed report adds them).
  const uncounted = new Set<{ created: number; updated: number }>();
  const flush = async () => {
    if (writeFailure) throw writeFailure.error;
    if (pending.size === 0) return;
    const chunk = pending;
    pending = new Map();
    for (const other of [...inFlight]) {
      for (const email of chunk.keys()) {
        if (other.emails.has(email)) {
          await other.written;
          break;
        }
      }
    }
    while (inFlight.size >= writers) await Promise.race([...inFlight].map((c) => c.written));
    const mark = markNow();
    const written = writeChunk(deps, workspaceId, [...chunk.values()], deps.clock.now());
    const entry = { emails: chunk, written };
    inFlight.add(entry);
    written.then(
      (result) => {
        inFlight.delete(entry);
        uncounted.add(result);
      },
      (error: unknown) => {
        writeFailure ??= { error };
      },
    );
    // Counters and progress advance in chunk order, whichever chunk commits first.
    progressed = Promise.all([progressed, written]).then(([, result]) => {
      uncounted.delete(result);
      created += result.created;
      updated += result.updated;
      return saveProgress('running', mark);
    });
    progressed.catch(() => undefined);
  };
  /** Waits for every chunk in flight; the first failure is thrown once all have settled. */
  const drain = async () => {
    const results = await Promise.allSettled([...inFlight].map((c) => c.written));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    await progressed;
  };

  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_empty_values: true, info: true, max_record_size: 1024 * 1024 });
  const source = Readable.from(
    countBytes(input, (n) => {
      bytesRead = n;
    }),
  );
  // pipe() applies backpressure; errors of the source (size limit, a broken upload) stop the parser.
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);

  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        if (!item.record.every(isDecodedText)) {
          throw new AppError('IMPORT_CSV_INVALID', 'The header row is not UTF-8 text (a NUL byte or bytes that are not UTF-8: UTF-16 or a spreadsheet file?): save the file as UTF-8 CSV');
        }
        header = item.record.map((h) => h.trim());
        targets = resolveMapping(header, explicit);
        if (!targets.includes('email')) throw new AppError('IMPORT_NO_EMAIL_COLUMN', 'No column maps to email: name one "email" or map one to email', { header });
        continue;
      }
      processed += 1;
      const mapped = mapRecord(item.record, targets!, item.info.lines, types);
      if ('code' in mapped) {
        failed += 1;
        if (errors.length < MAX_STORED_ERRORS) errors.push(mapped);
        continue;
      }
      // The same email twice in a chunk merges (one upsert cannot touch a row twice).
      const previous = pending.get(mapped.email);
      pending.set(mapped.email, previous ? mergeRows(previous, mapped) : mapped);
      if (pending.size >= chunkSize) await flush();
    }
    await flush();
    await drain();
  } catch (error) {
    source.destroy();
    await Promise.allSettled([...inFlight].map((c) => c.written));
    await progressed.catch(() => undefined);
    for (const result of uncounted) {
      created += result.created;
      updated += result.updated;
    }
    // A parser's message may quote the input: stored and answered, it must be storable text.
    const message = storableText(error instanceof CsvError ? `The CSV could not be parsed: ${error.message}` : error instanceof AppError ? error.message : 'The import stopped on an internal error');
    const report = await saveProgress('failed', markNow(), message);
    await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: report });
    if (error instanceof CsvError) throw new AppError('IMPORT_CSV_INVALID', message, { importId, line: (error as CsvError & { lines?: number }).lines });
    if (error instanceof AppError) throw new AppError(error.code, error.message, { importId, ...(typeof error.details === 'object' ? error.details : {}) });
    throw error;
  }
  if (!header) {
    const report = await saveProgress('failed', markNow(), 'The file is empty');
    await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: report });
    throw new AppError('IMPORT_NO_EMAIL_COLUMN', 'The file is empty: expected a header row with an email column', { importId });
  }
  // A bulk import changes the table's shape at once; fresh statistics let the planner choose
  // between the search index and the ordered scan right away instead of after autovacuum. The GIN
  // indexes took the new rows into their pending lists (cheap inserts), which every search would
  // otherwise read in full until autovacuum merges them: merge them now.
  if (created >= ANALYZE_AFTER_ROWS) {
    await deps.db.query('ANALYZE contacts');
    await deps.db.query(`SELECT gin_clean_pending_list('contacts_search_idx'::regclass), gin_clean_pending_list('contacts_tags_idx'::regclass)`);
  }
  const report = await saveProgress('completed', markNow());
  await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: { ...report, errors: report.errors.length } });
  return report;
}
