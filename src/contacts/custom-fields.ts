/**
 * Declared custom fields. A workspace may give keys of `contacts.custom_fields` a label and a type
 * (text, number, boolean, date); every writer — the contacts API, CSV import, Segment identify
 * traits, campaign field updates — converts a value to its key's type where that is unambiguous
 * ("42" → 42, "yes" → true, an ISO timestamp → its UTC date) and refuses it otherwise. Keys nobody
 * declared stay free-form JSON, as before.
 *
 * Declaring a type (or changing one) converts the values already stored, in SQL with
 * `custom_value_as` (migration 088, the same rules as `coerceCustomValue`), and is refused with
 * the number of contacts and a few examples when some value cannot be converted. Converted
 * contacts are queued for the event processor, so segments see their new values.
 */
import type { Static } from '@sinclair/typebox';
import type { Database, Queryable } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import { recordAudit } from '../identity/audit.js';
import { AppError, notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import { EVENT_WORK_CHANNEL } from '../core/channels.js';
import { CUSTOM_FIELD_TYPES, type CustomFieldDefinition as CustomFieldDefinitionSchema, type CustomFieldType } from './custom-fields.schemas.js';

export { CUSTOM_FIELD_TYPES, type CustomFieldType };
export type FieldTypes = ReadonlyMap<string, CustomFieldType>;

export type CustomFieldDefinition = Static<typeof CustomFieldDefinitionSchema>;

export const MAX_CUSTOM_TEXT = 2000;

/** Keys that name a contact's own fields (in the API, in templates and in imports). */
const RESERVED_KEYS = new Set([
  'id', 'email', 'name', 'first_name', 'firstname', 'last_name', 'lastname', 'company', 'job_title', 'jobtitle', 'title', 'phone', 'status', 'tags',
  'timezone', 'subscription_state', 'subscriptionstate', 'score', 'created_at', 'createdat', 'updated_at', 'updatedat',
]);

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
/** How a 'date' value is written (YYYY-MM-DD); isIsoDate also checks the calendar. */
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[-+]\d{2}:\d{2})$/;

/** A calendar date written YYYY-MM-DD, years 0001–9999 (what PostgreSQL's date accepts). */
export function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value) || value.startsWith('0000')) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

function codePoints(value: string): number {
  return value.length <= MAX_CUSTOM_TEXT ? value.length : [...value].length;
}

export type Coerced = { ok: true; value: string | number | boolean } | { ok: false; message: string };

/**
 * A value converted to a declared type, or why it cannot be. Mirrored in SQL by
 * `custom_value_as` (migration 088): change both together.
 */
export function coerceCustomValue(type: CustomFieldType, value: unknown): Coerced {
  const str = typeof value === 'string' ? value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '') : null;
  switch (type) {
    case 'text':
      if (typeof value === 'string') return codePoints(value) <= MAX_CUSTOM_TEXT ? { ok: true, value } : { ok: false, message: `must be at most ${MAX_CUSTOM_TEXT} characters` };
      if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false, message: 'must be text' };
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
      if (str !== null && str.length <= 40 && NUMBER.test(str) && Number.isFinite(Number(str))) return { ok: true, value: Number(str) };
      return { ok: false, message: 'must be a number' };
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 0 || value === 1) return { ok: true, value: value === 1 };
      if (str !== null && ['true', 'yes', '1'].includes(str.toLowerCase())) return { ok: true, value: true };
      if (str !== null && ['false', 'no', '0'].includes(str.toLowerCase())) return { ok: true, value: false };
      return { ok: false, message: 'must be true or false (or yes/no, 1/0)' };
    case 'date': {
      if (str !== null && isIsoDate(str)) return { ok: true, value: str };
      if (str !== null && ISO_TIMESTAMP.test(str)) {
        const ms = Date.parse(str);
        const date = Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 10);
        if (isIsoDate(date)) return { ok: true, value: date };
      }
      return { ok: false, message: 'must be a date, YYYY-MM-DD (or an ISO 8601 timestamp)' };
    }
  }
}

export interface CustomFieldProblem {
  key: string;
  type: CustomFieldType;
  message: string;
}

/**
 * Converts the declared keys of a custom-fields object; null values (removals) and undeclared
 * keys pass through unchanged. Returns the converted object, or the first problem.
 */
export function applyFieldTypes<T>(types: FieldTypes, fields: Record<string, T>): { fields: Record<string, T | string | number | boolean> } | { problem: CustomFieldProblem } {
  if (types.size === 0) return { fields };
  let out: Record<string, T | string | number | boolean> | null = null;
  for (const [key, value] of Object.entries(fields)) {
    const type = types.get(key);
    if (!type || value === null || value === undefined) continue;
    const coerced = coerceCustomValue(type, value);
    if (!coerced.ok) return { problem: { key, type, message: coerced.message } };
    if (coerced.value !== value) (out ??= { ...fields })[key] = coerced.value;
  }
  return { fields: out ?? fields };
}

/** The API's error for a value that does not fit its field: 400 INVALID_CUSTOM_FIELD, naming the field. */
export function invalidCustomField(problem: CustomFieldProblem, path = 'customFields'): AppError {
  return new AppError('INVALID_CUSTOM_FIELD', `${path}.${problem.key} ${problem.message} (a ${problem.type} field)`, { field: `${path}.${problem.key}`, key: problem.key, type: problem.type });
}

/** name: load-field-types — the workspace's declared keys and their types (a small table, one index read). */
export async function loadFieldTypes(q: Queryable, workspaceId: string): Promise<Map<string, CustomFieldType>> {
  const result = await q.query<{ key: string; type: CustomFieldType }>(`SELECT key, type FROM custom_field_definitions WHERE workspace_id = $1`, [workspaceId]);
  return new Map(result.rows.map((r) => [r.key, r.type]));
}

/* ---------- definitions ---------- */

interface DefinitionRow {
  key: string;
  label: string;
  type: CustomFieldType;
  created_at: Date;
  updated_at: Date;
}

function toDefinition(row: DefinitionRow): CustomFieldDefinition {
  return { key: row.key, label: row.label, type: row.type, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

export interface CustomFieldsDeps {
  db: Database;
  clock: Clock;
}

export async function listCustomFields(q: Queryable, workspaceId: string): Promise<CustomFieldDefinition[]> {
  const result = await q.query<DefinitionRow>(`SELECT key, label, type, created_at, updated_at FROM custom_field_definitions WHERE workspace_id = $1 ORDER BY lower(label), key`, [workspaceId]);
  return result.rows.map(toDefinition);
}

function requireKey(raw: string): string {
  const key = raw.trim();
  if (!key || key.length > 64 || [...key].some((ch) => ch < ' ' || ch === '\u007f')) throw new AppError('VALIDATION_FAILED', 'key must be 1–64 characters without control characters', { field: 'key' });
  if (RESERVED_KEYS.has(key.toLowerCase())) throw new AppError('VALIDATION_FAILED', `"${key}" names one of a contact's own fields; choose another key`, { field: 'key' });
  return key;
}

/** How many contacts are in the way, with a few of their values: 409 CUSTOM_FIELD_VALUES_MISMATCH. */
async function convertStoredValues(q: Queryable, workspaceId: string, key: string, type: CustomFieldType, now: Date): Promise<number> {
  // name: custom-field-misfits — contacts holding a value the type cannot take (a scan of the workspace's contacts).
  const misfits = await q.query<{ n: number; examples: Array<{ email: string; value: unknown }> | null }>(
    `WITH misfit AS (
       SELECT email, custom_fields -> $2 AS value, created_at FROM contacts
        WHERE workspace_id = $1 AND custom_fields ? $2 AND jsonb_typeof(custom_fields -> $2) <> 'null' AND custom_value_as(custom_fields -> $2, $3) IS NULL)
     SELECT (SELECT count(*)::int FROM misfit) AS n,
            (SELECT jsonb_agg(jsonb_build_object('email', m.email, 'value', m.value)) FROM (SELECT email, value FROM misfit ORDER BY created_at LIMIT 5) m) AS examples`,
    [workspaceId, key, type],
  );
  const { n, examples } = misfits.rows[0]!;
  if (n > 0) {
    throw new AppError('CUSTOM_FIELD_VALUES_MISMATCH', `${n} contact${n === 1 ? ' holds' : 's hold'} a value of "${key}" that is not a ${type}; change or clear ${n === 1 ? 'it' : 'them'} first`, { key, type, contacts: n, examples: examples ?? [] });
  }
  // name: custom-field-convert — rewrite the values whose stored form changes ("42" → 42), and queue
  // those contacts for the event processor (segments re-evaluate them).
  const converted = await q.query<{ id: string }>(
    `UPDATE contacts SET custom_fields = jsonb_set(custom_fields, ARRAY[$2], custom_value_as(custom_fields -> $2, $3)), updated_at = $4
      WHERE workspace_id = $1 AND custom_fields ? $2 AND jsonb_typeof(custom_fields -> $2) <> 'null'
        AND custom_value_as(custom_fields -> $2, $3) IS DISTINCT FROM custom_fields -> $2
      RETURNING id`,
    [workspaceId, key, type, now],
  );
  const ids = converted.rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 10_000) {
    await q.query(`INSERT INTO event_work (workspace_id, event_ids, contact_ids) VALUES ($1, '{}', $2::uuid[])`, [workspaceId, ids.slice(i, i + 10_000)]);
  }
  if (ids.length > 0) await q.query(`SELECT pg_notify('${EVENT_WORK_CHANNEL}', '')`);
  return ids.length;
}

export async function createCustomField(deps: CustomFieldsDeps, workspaceId: string, actor: Actor, input: { key: string; label?: string | undefined; type: CustomFieldType }): Promise<CustomFieldDefinition & { converted: number }> {
  const key = requireKey(input.key);
  const label = (input.label ?? key).trim() || key;
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const inserted = await tx.query<DefinitionRow>(
      `INSERT INTO custom_field_definitions (workspace_id, key, label, type, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (workspace_id, key) DO NOTHING RETURNING key, label, type, created_at, updated_at`,
      [workspaceId, key, label.slice(0, 100), input.type, now],
    );
    const row = inserted.rows[0];
    if (!row) throw new AppError('CUSTOM_FIELD_EXISTS', `The custom field "${key}" is already declared`, { field: 'key', key });
    const converted = await convertStoredValues(tx, workspaceId, key, input.type, now);
    const definition = toDefinition(row);
    await recordAudit(tx, { workspaceId, actor, action: 'custom_field.create', resourceType: 'custom_field', resourceId: null, after: { ...definition, converted } });
    return { ...definition, converted };
  });
}

export async function updateCustomField(deps: CustomFieldsDeps, workspaceId: string, actor: Actor, key: string, patch: { label?: string | undefined; type?: CustomFieldType | undefined }): Promise<CustomFieldDefinition & { converted: number }> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const found = await tx.query<DefinitionRow>(`SELECT key, label, type, created_at, updated_at FROM custom_field_definitions WHERE workspace_id = $1 AND key = $2 FOR UPDATE`, [workspaceId, key]);
    const before = found.rows[0];
    if (!before) throw notFound('Custom field');
    const label = patch.label === undefined ? before.label : patch.label.trim() || before.label;
    const type = patch.type ?? before.type;
    const converted = type === before.type ? 0 : await convertStoredValues(tx, workspaceId, key, type, now);
    const updated = await tx.query<DefinitionRow>(
      `UPDATE custom_field_definitions SET label = $3, type = $4, updated_at = $5 WHERE workspace_id = $1 AND key = $2 RETURNING key, label, type, created_at, updated_at`,
      [workspaceId, key, label.slice(0, 100), type, now],
    );
    const definition = toDefinition(updated.rows[0]!);
    await recordAudit(tx, { workspaceId, actor, action: 'custom_field.update', resourceType: 'custom_field', resourceId: null, before: toDefinition(before), after: { ...definition, converted } });
    return { ...definition, converted };
  });
}

/** Removes the declaration; the stored values stay, free-form again. */
export async function deleteCustomField(deps: CustomFieldsDeps, workspaceId: string, actor: Actor, key: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const deleted = await tx.query<DefinitionRow>(`DELETE FROM custom_field_definitions WHERE workspace_id = $1 AND key = $2 RETURNING key, label, type, created_at, updated_at`, [workspaceId, key]);
    const before = deleted.rows[0];
    if (!before) throw notFound('Custom field');
    await recordAudit(tx, { workspaceId, actor, action: 'custom_field.delete', resourceType: 'custom_field', resourceId: null, before: toDefinition(before) });
  });
}
