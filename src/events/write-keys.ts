/**
 * Write keys authenticate the Segment-compatible `/v1/*` endpoints only: they can send events and
 * identify contacts, nothing else, so (like Segment's) they may be embedded in browsers and apps.
 * A separate table rather than an API-key scope keeps a leaked write key from ever reaching `/api`.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { randomToken, sha256 } from '../identity/tokens.js';
import type { Clock } from '../platform/clock.js';
import type { CachedWriteKey, WriteKeyCache } from './write-key-cache.js';

export interface WriteKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

interface WriteKeyRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toView(row: WriteKeyRow): WriteKeyView {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: new Date(row.created_at).toISOString(), revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null };
}

export interface WriteKeysDeps {
  db: Database;
  clock: Clock;
}

export async function createWriteKey(deps: WriteKeysDeps, workspaceId: string, actor: Actor, name: string): Promise<{ writeKey: WriteKeyView; key: string }> {
  const prefix = randomBytes(4).toString('hex');
  const key = `wk_${prefix}_${randomToken(24)}`;
  return deps.db.transaction(async (tx) => {
    const result = await tx.query<WriteKeyRow>(
      `INSERT INTO write_keys (workspace_id, name, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, name, prefix, created_at, revoked_at`,
      [workspaceId, name, prefix, sha256(key), actor.type === 'user' ? actor.id : null],
    );
    const writeKey = toView(result.rows[0]!);
    await recordAudit(tx, { workspaceId, actor, action: 'write_key.create', resourceType: 'write_key', resourceId: writeKey.id, after: { name, prefix } });
    return { writeKey, key };
  });
}

export async function listWriteKeys(q: Queryable, workspaceId: string): Promise<WriteKeyView[]> {
  const result = await q.query<WriteKeyRow>(`SELECT id, name, prefix, created_at, revoked_at FROM write_keys WHERE workspace_id = $1 ORDER BY created_at DESC`, [workspaceId]);
  return result.rows.map(toView);
}

export async function revokeWriteKey(deps: WriteKeysDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const result = await tx.query<WriteKeyRow>(
      `UPDATE write_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE workspace_id = $1 AND id = $2 RETURNING id, name, prefix, created_at, revoked_at`,
      [workspaceId, id, deps.clock.now()],
    );
    const row = result.rows[0];
    if (!row) throw notFound('Write key');
    await recordAudit(tx, { workspaceId, actor, action: 'write_key.revoke', resourceType: 'write_key', resourceId: id, after: toView(row) });
  });
}

/**
 * name: resolve-write-key — by the unique hash index; revoked keys resolve to nothing. A read, or
 * none when the process's cache (write-key-cache.ts, emptied of a key when it is revoked) has it.
 */
export async function resolveWriteKey(q: Queryable, clock: Clock, key: string, cache?: WriteKeyCache): Promise<CachedWriteKey | null> {
  if (!/^wk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,64}$/.test(key)) return null;
  const keyHash = sha256(key);
  const now = clock.now().getTime();
  const cached = cache?.get(keyHash, now);
  if (cached) return cached;
  const generation = cache?.generation ?? 0;
  const result = await q.query<{ id: string; workspace_id: string }>(`SELECT id, workspace_id FROM write_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [keyHash]);
  const row = result.rows[0];
  if (!row) return null;
  const resolved = { id: row.id, workspaceId: row.workspace_id };
  cache?.set(keyHash, resolved, now, generation);
  return resolved;
}
