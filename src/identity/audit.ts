/** The audit log: every mutation records who, what, when, from where, and before/after. */
import type { AuditLogEntry } from './audit.schemas.js';
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
  action: string;
  resourceType: string;
  resourceId?: string | null;
  before?: unknown;
  after?: unknown;
}

export async function recordAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (workspace_id, actor_type, actor_id, action, resource_type, resource_id, before, after, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
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
    ],
  );
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

/** The audit log, newest first, camelCased (docs/api.md: the API answers camelCase, stored rows included). */
export async function listAudit(q: Queryable, workspaceId: string, limit: number, beforeId?: number): Promise<AuditLogEntry[]> {
  const result = await q.query<AuditRow>(
    `SELECT id, actor_type, actor_id, action, resource_type, resource_id, before, after, ip, request_id, created_at
       FROM audit_log
      WHERE workspace_id = $1 AND ($2::bigint IS NULL OR id < $2)
      ORDER BY id DESC
      LIMIT $3`,
    [workspaceId, beforeId ?? null, limit],
  );
  return result.rows.map((row) => ({
    id: Number(row.id),
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    before: row.before,
    after: row.after,
    ip: row.ip,
    requestId: row.request_id,
    createdAt: new Date(row.created_at).toISOString(),
  }));
}
