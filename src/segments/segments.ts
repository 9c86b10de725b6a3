/**
 * Segments and their membership. Dynamic membership is stored (segment_members) and kept current
 * by the event processor (`src/events/processor.ts`): shortly after each stored batch of events it
 * re-evaluates the dynamic segments of the workspace for exactly the contacts the batch touched.
 * Changes become `segment_entered` / `segment_exited` events recorded through the whole event
 * sink, so campaigns can start on them. Time windows ("3 opens in 7 days") also slide without a
 * new event: each member-relevant contact has a `segment_window_checks` row due when its oldest
 * counted event leaves the window, and the processor re-evaluates it then.
 */
import type { Database, Queryable } from '../db/database.js';
import { toContact } from '../contacts/contact-model.js';
import { CONTACT_COLUMNS, type ContactRow } from '../core/contact.js';
import type { Contact } from '../core/contact.schemas.js';
import { recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { windowConditions, type SegmentDefinition } from './definition.js';
import { evaluateSegment, evaluateSegmentsForContacts, type Change } from './evaluate.js';

export type SegmentKind = 'dynamic' | 'static';

export interface Segment {
  id: string;
  name: string;
  kind: SegmentKind;
  definition: SegmentDefinition | null;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

interface SegmentRow {
  id: string;
  name: string;
  kind: SegmentKind;
  definition: SegmentDefinition | null;
  member_count: number;
  created_at: Date;
  updated_at: Date;
}

function toSegment(row: SegmentRow): Segment {
  return { id: row.id, name: row.name, kind: row.kind, definition: row.definition, memberCount: row.member_count, createdAt: new Date(row.created_at).toISOString(), updatedAt: new Date(row.updated_at).toISOString() };
}

export interface SegmentsDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}

const SEGMENT_SELECT = `SELECT s.id, s.name, s.kind, s.definition, s.created_at, s.updated_at,
  (SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id)::int AS member_count
  FROM segments s`;

export async function getSegment(q: Queryable, workspaceId: string, id: string): Promise<Segment> {
  const result = await q.query<SegmentRow>(`${SEGMENT_SELECT} WHERE s.workspace_id = $1 AND s.id = $2`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) throw notFound('Segment');
  return toSegment(row);
}

export async function listSegments(q: Queryable, workspaceId: string): Promise<Segment[]> {
  const result = await q.query<SegmentRow>(`${SEGMENT_SELECT} WHERE s.workspace_id = $1 ORDER BY s.created_at DESC, s.id`, [workspaceId]);
  return result.rows.map(toSegment);
}

/**
 * name: schedule-window-checks — for a segment with time-window conditions, sets each contact's
 * next check to the moment its oldest counted event leaves a window (1 ms after the edge, since
 * the window includes its start); contacts with nothing in a window get no row. `contactIds`
 * restricts it to those contacts (events_contact_idx), null rescans the workspace.
 */
export async function scheduleWindowChecks(q: Queryable, workspaceId: string, segment: { id: string; definition: SegmentDefinition }, contactIds: string[] | null, now: Date): Promise<void> {
  const windows = windowConditions(segment.definition);
  // Two texts, so the per-contact one keeps a primary-key plan (no `$2 IS NULL OR`).
  if (contactIds === null) await q.query(`DELETE FROM segment_window_checks WHERE segment_id = $1`, [segment.id]);
  else await q.query(`DELETE FROM segment_window_checks WHERE segment_id = $1 AND contact_id = ANY($2::uuid[])`, [segment.id, contactIds]);
  if (windows.length === 0) return;
  await q.query(
    `WITH w AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS w(type text, name text, days int)),
     edges AS (
       SELECT e.contact_id, min(e.occurred_at + make_interval(days => w.days)) AS due
         FROM w JOIN events e ON e.workspace_id = $1 AND e.name = w.name AND (w.type IS NULL OR e.type = w.type)
                             AND e.occurred_at >= $4::timestamptz - make_interval(days => w.days)
        WHERE e.contact_id IS NOT NULL AND ($5::uuid[] IS NULL OR e.contact_id = ANY($5::uuid[]))
          -- An event can outlive its contact (events have no foreign keys, migration 083).
          AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = e.contact_id)
        GROUP BY e.contact_id)
     INSERT INTO segment_window_checks (segment_id, contact_id, workspace_id, due_at)
     SELECT $2, contact_id, $1, due + interval '1 millisecond' FROM edges ORDER BY contact_id
     ON CONFLICT (segment_id, contact_id) DO UPDATE SET due_at = EXCLUDED.due_at`,
    [workspaceId, segment.id, JSON.stringify(windows.map((w) => ({ type: w.type, name: w.name, days: w.withinDays }))), now, contactIds],
  );
}

function changeEvents(segment: { id: string; name: string }, changes: Change[]): NewEvent[] {
  return changes.map((c) => ({ contactId: c.contact_id, type: 'system', name: c.change === 'entered' ? 'segment_entered' : 'segment_exited', properties: { segmentId: segment.id, segmentName: segment.name } }));
}

export async function createSegment(deps: SegmentsDeps, workspaceId: string, actor: Actor, input: { name: string; kind: SegmentKind; definition?: SegmentDefinition | undefined }): Promise<Segment> {
  if (input.kind === 'dynamic' && !input.definition) throw new AppError('VALIDATION_FAILED', 'A dynamic segment needs a definition', { field: 'definition' });
  if (input.kind === 'static' && input.definition) throw new AppError('VALIDATION_FAILED', 'A static segment has no definition', { field: 'definition' });
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO segments (workspace_id, name, kind, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
      [workspaceId, input.name, input.kind, input.definition ? JSON.stringify(input.definition) : null, now],
    );
    const id = inserted.rows[0]!.id;
    if (input.definition) {
      await scheduleWindowChecks(tx, workspaceId, { id, definition: input.definition }, null, now);
      const changes = await evaluateSegment(tx, workspaceId, id, input.definition, now);
      await recordEvents(tx, deps.eventSink, workspaceId, changeEvents({ id, name: input.name }, changes), now);
    }
    const segment = await getSegment(tx, workspaceId, id);
    await recordAudit(tx, { workspaceId, actor, action: 'segment.create', resourceType: 'segment', resourceId: id, after: segment });
    return segment;
  });
}

export async function updateSegment(deps: SegmentsDeps, workspaceId: string, actor: Actor, id: string, patch: { name?: string | undefined; definition?: SegmentDefinition | undefined }): Promise<Segment> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const locked = await tx.query<SegmentRow>(`SELECT id, name, kind, definition, created_at, updated_at, 0 AS member_count FROM segments WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
    const before = locked.rows[0];
    if (!before) throw notFound('Segment');
    if (patch.definition && before.kind === 'static') throw new AppError('VALIDATION_FAILED', 'A static segment has no definition', { field: 'definition' });
    const name = patch.name ?? before.name;
    const definition = patch.definition ?? before.definition;
    await tx.query(`UPDATE segments SET name = $3, definition = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2`, [workspaceId, id, name, definition ? JSON.stringify(definition) : null, now]);
    if (patch.definition) {
      await scheduleWindowChecks(tx, workspaceId, { id, definition: patch.definition }, null, now);
      const changes = await evaluateSegment(tx, workspaceId, id, patch.definition, now);
      await recordEvents(tx, deps.eventSink, workspaceId, changeEvents({ id, name }, changes), now);
    }
    const segment = await getSegment(tx, workspaceId, id);
    await recordAudit(tx, { workspaceId, actor, action: 'segment.update', resourceType: 'segment', resourceId: id, before: toSegment(before), after: segment });
    return segment;
  });
}

/** Re-evaluates a dynamic segment for every contact (picks up expired time windows). */
export async function refreshSegment(deps: SegmentsDeps, workspaceId: string, actor: Actor, id: string): Promise<Segment> {
  const segment = await getSegment(deps.db, workspaceId, id);
  if (!segment.definition) throw new AppError('VALIDATION_FAILED', 'Only a dynamic segment can be refreshed');
  return updateSegment(deps, workspaceId, actor, id, { definition: segment.definition });
}

export async function deleteSegment(deps: SegmentsDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const before = await getSegment(tx, workspaceId, id);
    await tx.query(`DELETE FROM segments WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'segment.delete', resourceType: 'segment', resourceId: id, before });
  });
}

/** Adds or removes contacts of a static list; unknown ids (or another workspace's) are ignored and reported. */
export async function changeStaticMembers(deps: SegmentsDeps, workspaceId: string, actor: Actor, id: string, contactIds: string[], action: 'add' | 'remove'): Promise<{ segment: Segment; changed: number; ignored: string[] }> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const segment = await getSegment(tx, workspaceId, id);
    if (segment.kind !== 'static') throw new AppError('SEGMENT_NOT_STATIC', 'Members of a dynamic segment follow its definition; edit the definition instead');
    const unique = [...new Set(contactIds)].sort();
    const result =
      action === 'add'
        ? await tx.query<{ contact_id: string }>(
            `INSERT INTO segment_members (segment_id, contact_id, workspace_id, added_at)
             SELECT $2, c.id, $1, $4 FROM contacts c WHERE c.workspace_id = $1 AND c.id = ANY($3::uuid[]) ORDER BY c.id
             ON CONFLICT (segment_id, contact_id) DO NOTHING RETURNING contact_id`,
            [workspaceId, id, unique, now],
          )
        : await tx.query<{ contact_id: string }>(`DELETE FROM segment_members WHERE workspace_id = $1 AND segment_id = $2 AND contact_id = ANY($3::uuid[]) RETURNING contact_id`, [workspaceId, id, unique]);
    const changes: Change[] = result.rows.map((r) => ({ change: action === 'add' ? 'entered' : 'exited', contact_id: r.contact_id }));
    await recordEvents(tx, deps.eventSink, workspaceId, changeEvents(segment, changes), now);
    const known = await tx.query<{ id: string }>(`SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [workspaceId, unique]);
    const knownIds = new Set(known.rows.map((r) => r.id));
    await recordAudit(tx, { workspaceId, actor, action: `segment.members.${action}`, resourceType: 'segment', resourceId: id, after: { contactIds: changes.map((c) => c.contact_id) } });
    return { segment: await getSegment(tx, workspaceId, id), changed: changes.length, ignored: unique.filter((c) => !knownIds.has(c)) };
  });
}

/** name: segment-members — newest members first, keyset on (added_at, contact_id) via the primary key. */
export async function listMembers(q: Queryable, workspaceId: string, id: string, limit: number, offsetId?: string): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
  await getSegment(q, workspaceId, id);
  const result = await q.query<ContactRow>(
    `SELECT ${CONTACT_COLUMNS.split(',').map((c) => `c.${c.trim()}`).join(', ')}
       FROM segment_members m JOIN contacts c ON c.id = m.contact_id
      WHERE m.workspace_id = $1 AND m.segment_id = $2 AND ($3::uuid IS NULL OR m.contact_id > $3::uuid)
      ORDER BY m.contact_id
      LIMIT $4`,
    [workspaceId, id, offsetId ?? null, limit + 1],
  );
  const rows = result.rows.slice(0, limit);
  return { contacts: rows.map(toContact), nextCursor: result.rows.length > limit ? (rows[rows.length - 1]?.id ?? null) : null };
}

/**
 * Re-evaluates every dynamic segment of the workspace for the given contacts (one statement for
 * all of them, `evaluateSegmentsForContacts`) and reschedules their window checks; returns the entries and
 * exits for the caller (the event processor) to record.
 */
export async function reevaluateContacts(q: Queryable, workspaceId: string, contactIds: string[], now: Date): Promise<NewEvent[]> {
  if (contactIds.length === 0) return [];
  const segments = await q.query<{ id: string; name: string; definition: SegmentDefinition }>(
    `SELECT id, name, definition FROM segments WHERE workspace_id = $1 AND kind = 'dynamic' ORDER BY id`,
    [workspaceId],
  );
  const ids = [...new Set(contactIds)].sort();
  for (const segment of segments.rows) {
    if (windowConditions(segment.definition).length > 0) await scheduleWindowChecks(q, workspaceId, segment, ids, now);
  }
  const bySegment = await evaluateSegmentsForContacts(q, workspaceId, segments.rows, ids, now);
  return segments.rows.flatMap((segment) => changeEvents(segment, bySegment.get(segment.id) ?? []));
}

/**
 * name: claim-due-window-checks — takes up to `limit` due checks (SKIP LOCKED, so several
 * processors share them), re-evaluates those contacts in those segments and schedules each
 * contact's next edge, in the caller's transaction. Returns the membership changes by workspace.
 */
export async function runDueWindowChecks(q: Queryable, now: Date, limit: number): Promise<{ checked: number; changes: Map<string, NewEvent[]> }> {
  const due = await q.query<{ workspace_id: string; segment_id: string; contact_id: string }>(
    `DELETE FROM segment_window_checks w
       USING (SELECT segment_id, contact_id FROM segment_window_checks WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
      WHERE w.segment_id = d.segment_id AND w.contact_id = d.contact_id
      RETURNING w.workspace_id, w.segment_id, w.contact_id`,
    [now, limit],
  );
  const changes = new Map<string, NewEvent[]>();
  if (due.rows.length === 0) return { checked: 0, changes };
  const bySegment = new Map<string, { workspaceId: string; contactIds: string[] }>();
  for (const row of due.rows) {
    const entry = bySegment.get(row.segment_id) ?? { workspaceId: row.workspace_id, contactIds: [] };
    entry.contactIds.push(row.contact_id);
    bySegment.set(row.segment_id, entry);
  }
  const segments = await q.query<{ id: string; workspace_id: string; name: string; definition: SegmentDefinition | null }>(
    `SELECT id, workspace_id, name, definition FROM segments WHERE id = ANY($1::uuid[]) AND kind = 'dynamic' ORDER BY id`,
    [[...bySegment.keys()]],
  );
  for (const segment of segments.rows) {
    const definition = segment.definition;
    const ids = [...new Set(bySegment.get(segment.id)?.contactIds ?? [])].sort();
    if (!definition || ids.length === 0) continue;
    await scheduleWindowChecks(q, segment.workspace_id, { id: segment.id, definition }, ids, now);
    const list = changes.get(segment.workspace_id) ?? [];
    const evaluated = await evaluateSegmentsForContacts(q, segment.workspace_id, [{ id: segment.id, definition }], ids, now);
    list.push(...changeEvents(segment, evaluated.get(segment.id) ?? []));
    changes.set(segment.workspace_id, list);
  }
  return { checked: due.rows.length, changes };
}
