/** Events routes: `POST /api/events` (one track event) and the write keys of the /v1 API (shapes in events.schemas.ts). */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams, NoContent } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { CreatedWriteKey, CreateWriteKeyBody, TrackBody, TrackResponse, WriteKeyList } from './events.schemas.js';
import { trackEvent } from './track-event.js';
import { createWriteKey, listWriteKeys, revokeWriteKey } from './write-keys.js';

export function eventsRoutes(app: ApiInstance, deps: AppDeps): void {
  const tracking = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };
  const keys = { db: deps.db, clock: deps.clock };

  app.post('/events', { config: { permission: 'events:write' }, schema: { tags: ['events'], summary: 'Record a track event for a contact (by contactId or email); a repeated messageId is dropped', body: TrackBody, response: { 201: TrackResponse, 200: TrackResponse, ...apiErrors(400, 404) } } }, async (request, reply) => {
    const result = await trackEvent(tracking, authOf(request).workspaceId, actorOf(request), request.body);
    return reply.code(result.duplicate ? 200 : 201).send(result);
  });

  app.get('/write-keys', { config: { permission: 'api_keys:read' }, schema: { tags: ['events'], summary: 'Write keys of the Segment-compatible /v1 API', response: { 200: WriteKeyList, ...apiErrors() } } }, async (request) => ({
    writeKeys: await listWriteKeys(deps.db, authOf(request).workspaceId),
  }));

  app.post('/write-keys', { config: { permission: 'api_keys:write' }, schema: { tags: ['events'], summary: 'Create a write key (shown once)', body: CreateWriteKeyBody, response: { 201: CreatedWriteKey, ...apiErrors(400) } } }, async (request, reply) => {
    const result = await createWriteKey(keys, authOf(request).workspaceId, actorOf(request), request.body.name);
    return reply.code(201).send(result);
  });

  app.delete('/write-keys/:id', { config: { permission: 'api_keys:write' }, schema: { tags: ['events'], params: IdParams, response: { 204: NoContent, ...apiErrors(400, 404) } } }, async (request, reply) => {
    await revokeWriteKey(keys, authOf(request).workspaceId, actorOf(request), request.params.id);
    // This process at once; the others when PostgreSQL's notification reaches them (migration 128).
    deps.writeKeys.drop(request.params.id);
    return reply.code(204).send(null);
  });
}
