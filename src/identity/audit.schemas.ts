/**
 * The audit log's answer shapes (leaf module: TypeBox only, shared with the web app): one entry
 * camelCased from its audit_log row, and the page `GET /api/audit-log` answers.
 */
import { Type, type Static } from '@sinclair/typebox';

export const AuditEntrySchema = Type.Object({
  id: Type.Integer({ description: 'Increasing; pass the last one as `before` for older entries' }),
  actorType: Type.String({ description: 'user, api_key or system' }),
  actorId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String({ description: 'e.g. contact.update, api_key.create' }),
  resourceType: Type.String(),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown({ description: 'The resource before the change (null on creation)' }),
  after: Type.Unknown({ description: 'The resource after the change (null on deletion)' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type AuditLogEntry = Static<typeof AuditEntrySchema>;

export const AuditPage = Type.Object({ entries: Type.Array(AuditEntrySchema) });

/** `GET /api/audit-log`: a page of `limit` entries with ids below `before`. */
export const AuditQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })), before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })) }, { additionalProperties: false });
