/** The audit log: every mutation records who, what, when, from where, and before/after. */
import type { AuditAction, AuditFilters, AuditLogEntry } from './audit.schemas.js';
import type { Queryable } from '../db/database.js';

export interface Actor {
  type: 'user' | 'api_key' | 'system';
  id: string | null;
  ip?: string | undefined;
  requestId?: string | undefined;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

export interface AuditEntry {
  workspaceId: string;
  actor: Actor;
  action: AuditAction;
  resourceType: string;
  resourceId?: string | null;
  before?: unknown;
  after?: unknown;
}

/**
 * The INSERT of one audit entry whose ten values (`auditValues`) are the parameters from
 * `$first` on, alone or as a CTE of a caller's statement (`onlyIf`: a condition it is inserted
 * under), so a mutation can store its audit entry in the statement that makes it.
 */
export function insertAuditSql(first: number, onlyIf?: string): string {
  const types = ['uuid', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'jsonb', 'text', 'text'];
  const values = types.map((type, i) => `$${first + i}::${type}`).join(', ');
  return `INSERT INTO audit_log (workspace_id, actor_type, actor_id, action, resource_type, resource_id, before, after, ip, request_id)
     ${onlyIf ? `SELECT ${values} WHERE ${onlyIf}` : `VALUES (${values})`}`;
}

export function auditValues(entry: AuditEntry): unknown[] {
  return [
    entry.workspaceId,
    entry.actor.type,
    entry.actor.id,
    entry.action,
    entry.resourceType,
    entry.resourceId ?? null,
    entry.before === undefined ? null : JSON.stringify(entry.before),
    entry.after === undefined ? null : JSON.stringify(entry.after),
    entry.actor.ip ?? null,
    entry.actor.requestId ?? null,
  ];
}

export async function recordAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(insertAuditSql(1), auditValues(entry));
}

export interface AuditRow {
  id: number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  request_id: string | null;
  created_at: Date;
}

/**
 * The audit log, newest first, camelCased (docs/api.md: the API answers camelCase, stored rows
 * included), each entry with its actor's current name, filtered by actor, entity (the action's
 * namespace) and time. Pages walk the (workspace_id, id DESC) index.
 */
export async function listAudit(q: Queryable, workspaceId: string, limit: number, beforeId?: number, filters: AuditFilters = {}): Promise<AuditLogEntry[]> {
  // The campaign of a campaign's entry or of a journey's (its enrollment), by primary key, and
  // the step an entry names (after/before.nodeId) looked up in the current version or the draft.
  const result = await q.query<AuditRow & { actor_name: string | null; campaign_id: string | null; campaign_name: string | null; node_id: string | null; node_name: string | null }>(
    `SELECT a.id, a.actor_type, a.actor_id, COALESCE(u.name, k.name) AS actor_name, a.action, a.resource_type, a.resource_id,
            a.before, a.after, a.ip, a.request_id, a.created_at,
            c.id AS campaign_id, c.name AS campaign_name, n.node_id,
            (SELECT d.node->>'name' FROM jsonb_array_elements(COALESCE(v.definition, c.draft_definition)->'nodes') AS d(node)
              WHERE d.node->>'id' = n.node_id LIMIT 1) AS node_name
       FROM audit_log a
       LEFT JOIN users u ON a.actor_type = 'user' AND u.id::text = a.actor_id
       LEFT JOIN api_keys k ON a.actor_type = 'api_key' AND k.id::text = a.actor_id AND k.workspace_id = a.workspace_id
       CROSS JOIN LATERAL (SELECT CASE WHEN a.resource_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN a.resource_id::uuid END AS resource_uuid) r
       LEFT JOIN enrollments en ON a.resource_type = 'enrollment' AND en.id = r.resource_uuid AND en.workspace_id = a.workspace_id
       LEFT JOIN campaigns c ON c.workspace_id = a.workspace_id AND c.id = CASE WHEN a.resource_type = 'campaign' THEN r.resource_uuid ELSE en.campaign_id END
       LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version
       CROSS JOIN LATERAL (SELECT CASE WHEN c.id IS NOT NULL THEN COALESCE(
                  CASE WHEN jsonb_typeof(a.after) = 'object' THEN a.after->>'nodeId' END,
                  CASE WHEN jsonb_typeof(a.before) = 'object' THEN a.before->>'nodeId' END) END AS node_id) n
      WHERE a.workspace_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
        AND ($4::text IS NULL OR a.actor_type = $4)
        AND ($5::text IS NULL OR a.actor_id = $5)
        AND ($6::text IS NULL OR starts_with(a.action, $6 || '.'))
        AND ($7::timestamptz IS NULL OR a.created_at >= $7)
        AND ($8::timestamptz IS NULL OR a.created_at < $8)
      ORDER BY a.id DESC
      LIMIT $3`,
    [workspaceId, beforeId ?? null, limit, filters.actorType ?? null, filters.actorId ?? null, filters.entity ?? null, filters.from ?? null, filters.to ?? null],
  );
  return result.rows.map((row) => ({
    id: Number(row.id),
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorName: row.actor_name,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    before: row.before,
    after: row.after,
    ip: row.ip,
    requestId: row.request_id,
    campaign: row.campaign_id && row.campaign_name !== null ? { id: row.campaign_id, name: row.campaign_name, nodeId: row.node_id, nodeName: row.node_name } : null,
    createdAt: new Date(row.created_at).toISOString(),
  }));
}
