/** Subscription topics (workspace settings) and a contact's opt-outs (contacts API). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { contactTopics, createTopic, deleteTopic, getTopic, listTopics, setContactTopics, updateTopic, type TopicInput } from './topics.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const TopicBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    isDefault: Type.Optional(Type.Boolean({ description: 'Email nodes without a topic use the default; at most one per workspace' })),
  },
  { additionalProperties: false },
);
const TopicSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  isDefault: Type.Boolean(),
  optedOut: Type.Integer({ description: 'Contacts opted out of this topic' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const ContactTopic = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  isDefault: Type.Boolean(),
  subscribed: Type.Boolean(),
  optedOutAt: Nullable(Type.String({ format: 'date-time' })),
  source: Nullable(Type.String()),
});
const ContactTopicsBody = Type.Object(
  { topics: Type.Array(Type.Object({ topicId: Type.String({ format: 'uuid' }), subscribed: Type.Boolean() }, { additionalProperties: false }), { minItems: 1, maxItems: 200 }) },
  { additionalProperties: false },
);

export function topicRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get(
    '/topics',
    { config: { permission: 'settings:read' }, schema: { tags: ['email'], summary: 'Subscription topics, the default first', response: { 200: Type.Object({ topics: Type.Array(TopicSchema) }) } } },
    async (request) => ({ topics: await listTopics(deps.db, authOf(request).workspaceId) }),
  );

  app.get<{ Params: { id: string } }>('/topics/:id', { config: { permission: 'settings:read' }, schema: { tags: ['email'], params: IdParams, response: { 200: TopicSchema, 404: ErrorResponse } } }, async (request) => {
    const topic = await getTopic(deps.db, authOf(request).workspaceId, request.params.id);
    if (!topic) throw notFound('Topic');
    return topic;
  });

  app.post<{ Body: TopicInput }>(
    '/topics',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Create a subscription topic', body: TopicBody, response: { 201: TopicSchema, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await createTopic(deps.db, authOf(request).workspaceId, request.body, actorOf(request), deps.clock.now())),
  );

  app.put<{ Params: { id: string }; Body: TopicInput }>(
    '/topics/:id',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Replace a subscription topic', params: IdParams, body: TopicBody, response: { 200: TopicSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => updateTopic(deps.db, authOf(request).workspaceId, request.params.id, request.body, actorOf(request), deps.clock.now()),
  );

  app.delete<{ Params: { id: string } }>(
    '/topics/:id',
    { config: { permission: 'settings:write' }, schema: { tags: ['email'], summary: 'Delete a topic and its opt-outs; refused while a campaign names it', params: IdParams, response: { 404: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      await deleteTopic(deps.db, authOf(request).workspaceId, request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/contacts/:id/topics',
    { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: "Every subscription topic with the contact's state in it", params: IdParams, response: { 200: Type.Object({ topics: Type.Array(ContactTopic) }), 404: ErrorResponse } } },
    async (request) => ({ topics: await contactTopics(deps.db, authOf(request).workspaceId, request.params.id) }),
  );

  app.put<{ Params: { id: string }; Body: { topics: Array<{ topicId: string; subscribed: boolean }> } }>(
    '/contacts/:id/topics',
    {
      config: { permission: 'contacts:write' },
      schema: { tags: ['contacts'], summary: 'Opt the contact in to or out of topics; topics not listed keep their state', params: IdParams, body: ContactTopicsBody, response: { 200: Type.Object({ topics: Type.Array(ContactTopic) }), 400: ErrorResponse, 404: ErrorResponse } },
    },
    async (request) => ({ topics: await setContactTopics(deps.db, deps.eventSink, authOf(request).workspaceId, request.params.id, request.body.topics, actorOf(request), deps.clock.now()) }),
  );
}
