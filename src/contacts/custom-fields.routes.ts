import { LiteralUnion } from '../http/schemas.js';
import { Type } from '@sinclair/typebox';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { createCustomField, CUSTOM_FIELD_TYPES, deleteCustomField, listCustomFields, updateCustomField, type CustomFieldsDeps } from './custom-fields.js';

const FieldType = LiteralUnion(CUSTOM_FIELD_TYPES);
const Definition = Type.Object({ key: Type.String(), label: Type.String(), type: FieldType, createdAt: Type.String(), updatedAt: Type.String() });
const Changed = Type.Intersect([Definition, Type.Object({ converted: Type.Integer({ description: 'Contacts whose stored value was converted to the type' }) })]);
const CreateBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: 64 }), label: Type.Optional(Type.String({ maxLength: 100 })), type: FieldType },
  { additionalProperties: false },
);
const UpdateBody = Type.Object({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), type: Type.Optional(FieldType) }, { additionalProperties: false, minProperties: 1 });
const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) });

export function customFieldRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain: CustomFieldsDeps = { db: deps.db, clock: deps.clock };

  app.get('/custom-fields', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'Declared custom fields (key, label, type)', response: { 200: Type.Object({ fields: Type.Array(Definition) }), ...apiErrors() } } }, async (request) => ({
    fields: await listCustomFields(deps.db, authOf(request).workspaceId),
  }));

  app.post(
    '/custom-fields',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Declare a custom field; values already stored are converted to its type', body: CreateBody, response: { 201: Changed, ...apiErrors(400, 409) } } },
    async (request, reply) => reply.code(201).send(await createCustomField(domain, authOf(request).workspaceId, actorOf(request), request.body)),
  );

  app.patch(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Rename a custom field or change its type (stored values are converted)', params: KeyParams, body: UpdateBody, response: { 200: Changed, ...apiErrors(400, 404, 409) } } },
    async (request) => updateCustomField(domain, authOf(request).workspaceId, actorOf(request), request.params.key, request.body),
  );

  app.delete(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Remove the declaration; stored values stay, untyped', params: KeyParams, response: { 204: Type.Null(), ...apiErrors(400, 404) } } },
    async (request, reply) => {
      await deleteCustomField(domain, authOf(request).workspaceId, actorOf(request), request.params.key);
      return reply.code(204).send(null);
    },
  );
}
