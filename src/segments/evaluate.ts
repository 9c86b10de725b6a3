/**
 * Evaluating dynamic segments: the statements that insert the contacts now matching a segment's
 * definition into `segment_members` and delete those no longer matching, returning each change.
 *
 * Two texts, so each has a plan of its own: a whole segment (creating or editing it scans the
 * workspace) and given contacts (the event processor and the window checks, a few contacts at a
 * time, by primary key). The per-contact form has no `$n IS NULL OR` on its driving predicate,
 * so its generic plan is the same index lookup as a custom one, and it evaluates every dynamic
 * segment of the workspace in ONE statement: each segment is one branch of a UNION ALL, the
 * entries one INSERT and the exits one DELETE.
 */
import type { Queryable } from '../db/database.js';
import { compileDefinition, type SegmentDefinition } from './definition.js';

export interface Change {
  change: 'entered' | 'exited';
  contact_id: string;
}

/** name: evaluate-segment — the whole segment, every contact of the workspace. */
export async function evaluateSegment(q: Queryable, workspaceId: string, segmentId: string, definition: SegmentDefinition, now: Date): Promise<Change[]> {
  const params: unknown[] = [workspaceId, segmentId, now];
  const condition = compileDefinition(definition, params, now);
  const result = await q.query<Change>(
    `WITH matching AS (
        SELECT c.id FROM contacts c WHERE c.workspace_id = $1 AND ${condition}),
      entered AS (
        INSERT INTO segment_members (segment_id, contact_id, workspace_id, added_at)
        SELECT $2, id, $1, $3 FROM matching ORDER BY id
        ON CONFLICT (segment_id, contact_id) DO NOTHING
        RETURNING contact_id),
      exited AS (
        DELETE FROM segment_members m
         WHERE m.segment_id = $2 AND NOT EXISTS (SELECT 1 FROM matching x WHERE x.id = m.contact_id)
        RETURNING contact_id)
     SELECT 'entered' AS change, contact_id FROM entered
     UNION ALL
     SELECT 'exited' AS change, contact_id FROM exited`,
    params,
  );
  return result.rows;
}

/**
 * name: evaluate-segments-for-contacts — the given segments for the given contacts, in one
 * statement. Returns the changes by segment id, in the order of `segments` (entries, then exits),
 * as evaluating the segments one after the other would: no condition reads segment membership,
 * so one segment's changes never affect another's evaluation.
 */
export async function evaluateSegmentsForContacts(
  q: Queryable,
  workspaceId: string,
  segments: ReadonlyArray<{ id: string; definition: SegmentDefinition }>,
  contactIds: string[],
  now: Date,
): Promise<Map<string, Change[]>> {
  const bySegment = new Map<string, Change[]>(segments.map((s) => [s.id, []]));
  if (segments.length === 0 || contactIds.length === 0) return bySegment;
  const params: unknown[] = [workspaceId, now, contactIds, segments.map((s) => s.id)];
  const branches = segments.map((segment) => {
    params.push(segment.id);
    const id = `$${params.length}::uuid`;
    return `SELECT ${id} AS segment_id, c.id FROM contacts c WHERE c.workspace_id = $1 AND c.id = ANY($3::uuid[]) AND ${compileDefinition(segment.definition, params, now)}`;
  });
  // Entries in (segment, contact) order and exits through the primary key, as the per-segment
  // statements locked them, so concurrent evaluations take their row locks in the same order.
  const result = await q.query<Change & { segment_id: string }>(
    `WITH matching AS (
        ${branches.join('\n        UNION ALL\n        ')}),
      entered AS (
        INSERT INTO segment_members (segment_id, contact_id, workspace_id, added_at)
        SELECT segment_id, id, $1, $2 FROM matching ORDER BY segment_id, id
        ON CONFLICT (segment_id, contact_id) DO NOTHING
        RETURNING segment_id, contact_id),
      exited AS (
        DELETE FROM segment_members m
         WHERE m.segment_id = ANY($4::uuid[]) AND m.contact_id = ANY($3::uuid[])
           AND NOT EXISTS (SELECT 1 FROM matching x WHERE x.segment_id = m.segment_id AND x.id = m.contact_id)
        RETURNING m.segment_id, m.contact_id)
     SELECT 'entered' AS change, segment_id, contact_id FROM entered
     UNION ALL
     SELECT 'exited' AS change, segment_id, contact_id FROM exited`,
    params,
  );
  const entered = result.rows.filter((r) => r.change === 'entered');
  const exited = result.rows.filter((r) => r.change === 'exited');
  for (const row of [...entered, ...exited]) bySegment.get(row.segment_id)?.push({ change: row.change, contact_id: row.contact_id });
  return bySegment;
}
