/** Email provider settings per workspace: CRUD with encrypted credentials and a connection test. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { PROVIDER_KINDS, type ProviderSettingInput } from './provider-settings.js';

const Kind = Type.Union(PROVIDER_KINDS.map((k) => Type.Literal(k)));
const ProviderBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Kind,
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Lower is tried first' })),
    enabled: Type.Optional(Type.Boolean()),
    credentials: Type.Optional(
      Type.Record(Type.String({ maxLength: 50 }), Type.String({ minLength: 1, maxLength: 2000 }), {
        description: 'smtp: url; resend: apiKey; postmark: serverToken; sendgrid: apiKey; ses: accessKeyId, secretAccessKey, region. Omit on update to keep the stored ones.',
      }),
    ),
    ratePerSecond: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const ProviderSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  priority: Type.Integer(),
  enabled: Type.Boolean(),
  ratePerSecond: Type.Union([Type.Integer(), Type.Null()]),
  credentials: Type.Record(Type.String(), Type.String(), { description: 'Secrets masked' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export function providerRoutes(app: FastifyInstance, deps: AppDeps): void {
  const settings = deps.email.providers;
  app.get('/providers', { config: { permission: 'providers:read' }, schema: { tags: ['providers'], summary: 'Email providers in priority order', response: { 200: Type.Object({ providers: Type.Array(ProviderSchema) }) } } }, async (request) => ({
    providers: await settings.list(authOf(request).workspaceId),
  }));

  app.get<{ Params: { id: string } }>('/providers/:id', { config: { permission: 'providers:read' }, schema: { tags: ['providers'], params: IdParams, response: { 200: ProviderSchema, 404: ErrorResponse } } }, async (request) =>
    settings.get(authOf(request).workspaceId, request.params.id),
  );

  app.post<{ Body: ProviderSettingInput }>(
    '/providers',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Add a provider; credentials are encrypted at rest', body: ProviderBody, response: { 201: ProviderSchema, 400: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await settings.create(authOf(request).workspaceId, request.body, actorOf(request))),
  );

  app.put<{ Params: { id: string }; Body: ProviderSettingInput }>(
    '/providers/:id',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Replace a provider’s settings (credentials kept when omitted)', params: IdParams, body: ProviderBody, response: { 200: ProviderSchema, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => settings.update(authOf(request).workspaceId, request.params.id, request.body, actorOf(request)),
  );

  app.delete<{ Params: { id: string } }>('/providers/:id', { config: { permission: 'providers:write' }, schema: { tags: ['providers'], params: IdParams, response: { 404: ErrorResponse } } }, async (request, reply) => {
    await settings.remove(authOf(request).workspaceId, request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>(
    '/providers/:id/test',
    { config: { permission: 'providers:write' }, schema: { tags: ['providers'], summary: 'Test the connection and credentials without sending', params: IdParams, response: { 200: Type.Object({ ok: Type.Boolean(), detail: Type.String() }), 404: ErrorResponse } } },
    async (request) => settings.test(authOf(request).workspaceId, request.params.id),
  );
}
