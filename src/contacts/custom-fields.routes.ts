import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse } from '../http/schemas.js';
import { createCustomField, CUSTOM_FIELD_TYPES, deleteCustomField, listCustomFields, updateCustomField, type CustomFieldsDeps } from './custom-fields.js';

const FieldType = Type.Union(CUSTOM_FIELD_TYPES.map((t) => Type.Literal(t)));
const Definition = Type.Object({ key: Type.String(), label: Type.String(), type: FieldType, createdAt: Type.String(), updatedAt: Type.String() });
const Changed = Type.Intersect([Definition, Type.Object({ converted: Type.Integer({ description: 'Contacts whose stored value was converted to the type' }) })]);
const CreateBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: 64 }), label: Type.Optional(Type.String({ maxLength: 100 })), type: FieldType },
  { additionalProperties: false },
);
const UpdateBody = Type.Object({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), type: Type.Optional(FieldType) }, { additionalProperties: false, minProperties: 1 });
const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) });
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

export function customFieldRoutes(app: FastifyInstance, deps: AppDeps): void {
  const domain: CustomFieldsDeps = { db: deps.db, clock: deps.clock };

  app.get('/custom-fields', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'Declared custom fields (key, label, type)', response: { 200: Type.Object({ fields: Type.Array(Definition) }) } } }, async (request) => ({
    fields: await listCustomFields(deps.db, authOf(request).workspaceId),
  }));

  app.post(
    '/custom-fields',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Declare a custom field; values already stored are converted to its type', body: CreateBody, response: { 201: Changed, ...errors } } },
    async (request, reply) => reply.code(201).send(await createCustomField(domain, authOf(request).workspaceId, actorOf(request), request.body as Static<typeof CreateBody>)),
  );

  app.patch(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Rename a custom field or change its type (stored values are converted)', params: KeyParams, body: UpdateBody, response: { 200: Changed, ...errors } } },
    async (request) => updateCustomField(domain, authOf(request).workspaceId, actorOf(request), (request.params as Static<typeof KeyParams>).key, request.body as Static<typeof UpdateBody>),
  );

  app.delete(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Remove the declaration; stored values stay, untyped', params: KeyParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await deleteCustomField(domain, authOf(request).workspaceId, actorOf(request), (request.params as Static<typeof KeyParams>).key);
      return reply.code(204).send();
    },
  );
}
