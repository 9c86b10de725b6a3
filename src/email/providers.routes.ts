/** Email provider settings per workspace: CRUD with encrypted credentials and a connection test. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams, NoContent } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { ProviderBody, ProviderList, ProviderSchema, ProviderTestAnswer } from './providers.schemas.js';

export function providerRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const settings = deps.email.providers;
  api.get('/providers', { config: { permission: 'providers:read' }, schema: { tags: ['providers'], summary: 'Email providers in priority order', response: { ...apiErrors(400), 200: ProviderList } } }, async (request) => ({
    providers: await settings.list(authOf(request).workspaceId),
  }));

  api.get('/providers/:id', { config: { permission: 'providers:read' }, schema: { tags: ['providers'], params: IdParams, response: { ...apiErrors(400), 200: ProviderSchema, 404: ErrorResponse } } }, async (request) =>
    settings.get(authOf(request).workspaceId, request.params.id),
  );

  api.post(
    '/providers',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Add a provider; credentials are encrypted at rest', body: ProviderBody, response: { ...apiErrors(400), 201: ProviderSchema, 400: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await settings.create(authOf(request).workspaceId, actorOf(request), request.body)),
  );

  api.put(
    '/providers/:id',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Replace a provider’s settings (credentials kept when omitted)', params: IdParams, body: ProviderBody, response: { ...apiErrors(400), 200: ProviderSchema, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => settings.update(authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );

  api.delete('/providers/:id', { config: { permission: 'providers:write' }, schema: { tags: ['providers'], params: IdParams, response: { ...apiErrors(400), 204: NoContent, 404: ErrorResponse } } }, async (request, reply) => {
    await settings.remove(authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  api.post(
    '/providers/:id/test',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Test the connection and credentials without sending', params: IdParams, response: { ...apiErrors(400), 200: ProviderTestAnswer, 404: ErrorResponse } } },
    async (request) => settings.test(authOf(request).workspaceId, request.params.id),
  );
}
