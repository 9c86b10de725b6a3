/** Segment routes: CRUD, refresh, members of a segment and static-list membership (shapes in segments.schemas.ts). */
import type { AppDeps } from '../app.js';
import { ContactPage } from '../contacts/contacts.schemas.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams, NoContent } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { changeStaticMembers, createSegment, deleteSegment, getSegment, listMembers, listSegments, refreshSegment, updateSegment, type SegmentsDeps } from './segments.js';
import { CreateSegmentBody, MembersBody, MembersQuery, MembersResult, SegmentList, SegmentSchema, UpdateSegmentBody } from './segments.schemas.js';

export function segmentsRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain: SegmentsDeps = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };
  const read = { permission: 'segments:read' as const };
  const write = { permission: 'segments:write' as const };

  app.get('/segments', { config: read, schema: { tags: ['segments'], response: { 200: SegmentList, ...apiErrors() } } }, async (request) => ({ segments: await listSegments(deps.db, authOf(request).workspaceId) }));

  app.post('/segments', { config: write, schema: { tags: ['segments'], summary: 'Create a dynamic segment (with a definition) or a static list', body: CreateSegmentBody, response: { 201: SegmentSchema, ...apiErrors(400) } } }, async (request, reply) => {
    return reply.code(201).send(await createSegment(domain, authOf(request).workspaceId, actorOf(request), request.body));
  });

  app.get('/segments/:id', { config: read, schema: { tags: ['segments'], params: IdParams, response: { 200: SegmentSchema, ...apiErrors(400, 404) } } }, async (request) => getSegment(deps.db, authOf(request).workspaceId, request.params.id));

  app.patch('/segments/:id', { config: write, schema: { tags: ['segments'], summary: 'Rename, or change the definition (re-evaluates membership)', params: IdParams, body: UpdateSegmentBody, response: { 200: SegmentSchema, ...apiErrors(400, 404) } } }, async (request) =>
    updateSegment(domain, authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );

  app.delete('/segments/:id', { config: write, schema: { tags: ['segments'], params: IdParams, response: { 204: NoContent, ...apiErrors(400, 404) } } }, async (request, reply) => {
    await deleteSegment(domain, authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/segments/:id/refresh', { config: write, schema: { tags: ['segments'], summary: 'Re-evaluate a dynamic segment for every contact', params: IdParams, response: { 200: SegmentSchema, ...apiErrors(400, 404, 409) } } }, async (request) =>
    refreshSegment(domain, authOf(request).workspaceId, actorOf(request), request.params.id),
  );

  app.get('/segments/:id/members', { config: read, schema: { tags: ['segments'], params: IdParams, querystring: MembersQuery, response: { 200: ContactPage, ...apiErrors(400, 404) } } }, async (request) => {
    const query = request.query;
    return listMembers(deps.db, authOf(request).workspaceId, request.params.id, query.limit, query.cursor);
  });

  app.post('/segments/:id/members', { config: write, schema: { tags: ['segments'], summary: 'Add contacts to a static list', params: IdParams, body: MembersBody, response: { 200: MembersResult, ...apiErrors(400, 404, 409) } } }, async (request) =>
    changeStaticMembers(domain, authOf(request).workspaceId, actorOf(request), request.params.id, request.body.contactIds, 'add'),
  );

  app.post('/segments/:id/members/remove', { config: write, schema: { tags: ['segments'], summary: 'Remove contacts from a static list', params: IdParams, body: MembersBody, response: { 200: MembersResult, ...apiErrors(400, 404, 409) } } }, async (request) =>
    changeStaticMembers(domain, authOf(request).workspaceId, actorOf(request), request.params.id, request.body.contactIds, 'remove'),
  );
}
