/**
 * One chunk of a CSV import written in one transaction: the new contacts inserted with
 * time-ordered ids and their events derived in SQL, the rows of emails already stored merged into
 * them (a non-empty cell overwrites, tags add, custom fields merge, status only moves forward, an
 * unsubscribed contact is never re-subscribed), every event handed to the event sink.
 */
import type { Database, Queryable } from '../db/database.js';
import type { ContactRow, ScoreInputs } from '../core/contact.js';
import { recordEvents, type EventSink, type NewEvent, type RecordedEvent } from '../core/events.js';
import type { Clock } from '../platform/clock.js';
import { uuidv7Prefix, uuidv7s } from '../platform/uuid.js';
import { NO_ENGAGEMENT, scoreInputs, scoreOf } from '../scoring/scoring.js';
import { FILL_PROFILE_ON_CONFLICT } from './contact-model.js';
import type { ImportRow } from './import-mapping.js';

export interface ImportDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}

/** The columns a merge reads back from a contact already stored. */
type ExistingRow = Pick<ContactRow, 'id' | 'email' | 'first_name' | 'last_name' | 'company' | 'job_title' | 'phone' | 'status' | 'tags' | 'timezone' | 'subscription_state'>;


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
export async function writeChunk(deps: ImportDeps, workspaceId: string, rows: ImportRow[], now: Date): Promise<{ created: number; updated: number }> {
  rows.sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  // A new contact's first score (no engagement yet) is written with it, so the scoring sink finds
  // nothing to change instead of rewriting every row it was just given.
  // It depends only on (status, job title) here, so each distinct pair is computed and sent once
  // and rows refer to its inputs by position ($4).
  const ids = uuidv7s(rows.length, now.getTime());
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
      [workspaceId, JSON.stringify(scored), now, inputsJson, uuidv7Prefix(now)],
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

