import { Type } from '@sinclair/typebox';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { trackEvent } from './track-event.js';
import { createWriteKey, listWriteKeys, revokeWriteKey } from './write-keys.js';

const TrackBody = Type.Object(
  {
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timestamp: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
const TrackResponse = Type.Object({
  duplicate: Type.Boolean(),
  event: Type.Union([Type.Object({ id: Type.String(), contactId: Type.String(), name: Type.String(), occurredAt: Type.String() }), Type.Null()]),
});
const WriteKey = Type.Object({ id: Type.String(), name: Type.String(), prefix: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) });
const CreateWriteKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

export function eventsRoutes(app: ApiInstance, deps: AppDeps): void {
  const tracking = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };
  const keys = { db: deps.db, clock: deps.clock };

  app.post('/events', { config: { permission: 'events:write' }, schema: { tags: ['events'], summary: 'Record a track event for a contact (by contactId or email); a repeated messageId is dropped', body: TrackBody, response: { 201: TrackResponse, 200: TrackResponse, ...apiErrors(400, 404) } } }, async (request, reply) => {
    const result = await trackEvent(tracking, authOf(request).workspaceId, actorOf(request), request.body);
    return reply.code(result.duplicate ? 200 : 201).send(result);
  });

  app.get('/write-keys', { config: { permission: 'api_keys:read' }, schema: { tags: ['events'], summary: 'Write keys of the Segment-compatible /v1 API', response: { 200: Type.Object({ writeKeys: Type.Array(WriteKey) }), ...apiErrors() } } }, async (request) => ({
    writeKeys: await listWriteKeys(deps.db, authOf(request).workspaceId),
  }));

  app.post('/write-keys', { config: { permission: 'api_keys:write' }, schema: { tags: ['events'], summary: 'Create a write key (shown once)', body: CreateWriteKeyBody, response: { 201: Type.Object({ writeKey: WriteKey, key: Type.String() }), ...apiErrors(400) } } }, async (request, reply) => {
    const result = await createWriteKey(keys, authOf(request).workspaceId, actorOf(request), request.body.name);
    return reply.code(201).send(result);
  });

  app.delete('/write-keys/:id', { config: { permission: 'api_keys:write' }, schema: { tags: ['events'], params: IdParams, response: { 204: Type.Null(), ...apiErrors(400, 404) } } }, async (request, reply) => {
    await revokeWriteKey(keys, authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });
}
