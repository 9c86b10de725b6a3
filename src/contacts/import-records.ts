/**
 * The CSV imports' records (contact_imports): their camelCase answer, and reading one or the
 * newest of a workspace. The import itself (import.ts) inserts and updates them.
 */
import type { Queryable } from '../db/database.js';
import { notFound } from '../http/errors.js';
import type { ImportRowError } from './import-mapping.js';

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

export interface ImportDbRow {
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

export function toImport(r: ImportDbRow): ContactImport {
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

export const IMPORT_COLUMNS = 'id, status, source, filename, mapping, bytes_read, rows_processed, rows_created, rows_updated, rows_failed, errors, failure, created_at, finished_at';

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
