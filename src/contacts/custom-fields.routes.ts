/** Custom-field routes: list, declare, change and remove declarations (shapes in custom-fields.schemas.ts). */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { NoContent } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { createCustomField, deleteCustomField, listCustomFields, updateCustomField, type CustomFieldsDeps } from './custom-fields.js';
import { CreateCustomFieldBody, CustomFieldChanged, CustomFieldList, KeyParams, UpdateCustomFieldBody } from './custom-fields.schemas.js';

export function customFieldRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain: CustomFieldsDeps = { db: deps.db, clock: deps.clock };

  app.get('/custom-fields', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'Declared custom fields (key, label, type)', response: { 200: CustomFieldList, ...apiErrors() } } }, async (request) => ({
    fields: await listCustomFields(deps.db, authOf(request).workspaceId),
  }));

  app.post(
    '/custom-fields',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Declare a custom field; values already stored are converted to its type', body: CreateCustomFieldBody, response: { 201: CustomFieldChanged, ...apiErrors(400, 409) } } },
    async (request, reply) => reply.code(201).send(await createCustomField(domain, authOf(request).workspaceId, actorOf(request), request.body)),
  );

  app.patch(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Rename a custom field or change its type (stored values are converted)', params: KeyParams, body: UpdateCustomFieldBody, response: { 200: CustomFieldChanged, ...apiErrors(400, 404, 409) } } },
    async (request) => updateCustomField(domain, authOf(request).workspaceId, actorOf(request), request.params.key, request.body),
  );

  app.delete(
    '/custom-fields/:key',
    { config: { permission: 'settings:write' }, schema: { tags: ['contacts'], summary: 'Remove the declaration; stored values stay, untyped', params: KeyParams, response: { 204: NoContent, ...apiErrors(400, 404) } } },
    async (request, reply) => {
      await deleteCustomField(domain, authOf(request).workspaceId, actorOf(request), request.params.key);
      return reply.code(204).send(null);
    },
  );
}
