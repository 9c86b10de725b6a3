/** Subscription topics (workspace settings) and a contact's opt-outs (contacts API). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams, NoContent } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { contactTopics, createTopic, deleteTopic, getTopic, listTopics, setContactTopics, updateTopic } from './topics.js';
import { ContactTopicList, ContactTopicsBody, TopicBody, TopicList, TopicSchema } from './topics.schemas.js';

export function topicRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/topics',
    { config: { permission: 'settings:read' }, schema: { tags: ['email'], summary: 'Subscription topics, the default first', response: { ...apiErrors(400), 200: TopicList } } },
    async (request) => ({ topics: await listTopics(deps.db, authOf(request).workspaceId) }),
  );

  api.get('/topics/:id', { config: { permission: 'settings:read' }, schema: { tags: ['email'], params: IdParams, response: { ...apiErrors(400), 200: TopicSchema, 404: ErrorResponse } } }, async (request) => {
    const topic = await getTopic(deps.db, authOf(request).workspaceId, request.params.id);
    if (!topic) throw notFound('Topic');
    return topic;
  });

  api.post(
    '/topics',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Create a subscription topic', body: TopicBody, response: { ...apiErrors(400), 201: TopicSchema, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await createTopic(deps, authOf(request).workspaceId, actorOf(request), request.body)),
  );

  api.put(
    '/topics/:id',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Replace a subscription topic', params: IdParams, body: TopicBody, response: { ...apiErrors(400), 200: TopicSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => updateTopic(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );

  api.delete(
    '/topics/:id',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Delete a topic and its opt-outs; refused while a campaign names it', params: IdParams, response: { ...apiErrors(400), 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      await deleteTopic(deps, authOf(request).workspaceId, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/contacts/:id/topics',
    { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: "Every subscription topic with the contact's state in it", params: IdParams, response: { ...apiErrors(400), 200: ContactTopicList, 404: ErrorResponse } } },
    async (request) => ({ topics: await contactTopics(deps.db, authOf(request).workspaceId, request.params.id) }),
  );

  api.put(
    '/contacts/:id/topics',
    {
      config: { permission: 'contacts:write' },
      schema: { tags: ['contacts'], summary: 'Opt the contact in to or out of topics; topics not listed keep their state', params: IdParams, body: ContactTopicsBody, response: { ...apiErrors(400), 200: ContactTopicList, 400: ErrorResponse, 404: ErrorResponse } },
    },
    async (request) => ({ topics: await setContactTopics(deps.db, deps.eventSink, authOf(request).workspaceId, request.params.id, request.body.topics, actorOf(request), deps.clock.now()) }),
  );
}
