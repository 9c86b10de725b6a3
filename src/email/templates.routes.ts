/** Template routes: CRUD refused with TEMPLATE_INVALID on content issues, preview, test send. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { Email, ErrorResponse, IdParams } from '../http/schemas.js';
import { createTemplate, deleteTemplate, getTemplate, listTemplates, previewTemplate, testSendTemplate, updateTemplate, type TemplateInput } from './templates.js';

const TemplateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    subject: Type.String({ minLength: 1, maxLength: 998 }),
    html: Type.String({ minLength: 1, maxLength: 512_000, description: 'HTML or an MJML document starting with <mjml>; Liquid variables from contact and workspace' }),
    text: Type.Optional(Type.Union([Type.String({ maxLength: 256_000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const TemplateSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Rendered = Type.Object({ subject: Type.String(), html: Type.String(), text: Type.String() });
const PreviewBody = Type.Object({ contactId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });
const TestSendBody = Type.Object({ to: Email, contactId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });

export function templateRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/templates', { config: { permission: 'templates:read' }, schema: { tags: ['templates'], summary: 'Templates, most recently changed first', response: { 200: Type.Object({ templates: Type.Array(TemplateSchema) }) } } }, async (request) => ({
    templates: await listTemplates(deps.db, authOf(request).workspaceId),
  }));

  app.get<{ Params: { id: string } }>('/templates/:id', { config: { permission: 'templates:read' }, schema: { tags: ['templates'], params: IdParams, response: { 200: TemplateSchema, 404: ErrorResponse } } }, async (request) => {
    const template = await getTemplate(deps.db, authOf(request).workspaceId, request.params.id);
    if (!template) throw notFound('Template');
    return template;
  });

  app.post<{ Body: TemplateInput }>(
    '/templates',
    { config: { permission: 'templates:write' }, schema: { tags: ['templates'], summary: 'Create a template; content with issues is refused with TEMPLATE_INVALID', body: TemplateBody, response: { 201: TemplateSchema, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await createTemplate(deps.db, authOf(request).workspaceId, request.body, actorOf(request), deps.clock.now())),
  );

  app.put<{ Params: { id: string }; Body: TemplateInput }>(
    '/templates/:id',
    { config: { permission: 'templates:write' }, schema: { tags: ['templates'], summary: 'Replace a template', params: IdParams, body: TemplateBody, response: { 200: TemplateSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => updateTemplate(deps.db, authOf(request).workspaceId, request.params.id, request.body, actorOf(request), deps.clock.now()),
  );

  app.delete<{ Params: { id: string } }>('/templates/:id', { config: { permission: 'templates:write' }, schema: { tags: ['templates'], params: IdParams, response: { 404: ErrorResponse } } }, async (request, reply) => {
    await deleteTemplate(deps.db, authOf(request).workspaceId, request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string }; Body: { contactId?: string } }>(
    '/templates/:id/preview',
    { config: { permission: 'templates:read' }, schema: { tags: ['templates'], summary: 'Render the template for a contact (or a sample contact)', params: IdParams, body: PreviewBody, response: { 200: Rendered, 404: ErrorResponse, 422: ErrorResponse } } },
    async (request) => previewTemplate(deps.db, authOf(request).workspaceId, request.params.id, request.body.contactId ?? null),
  );

  app.post<{ Params: { id: string }; Body: { to: string; contactId?: string } }>(
    '/templates/:id/test-send',
    { config: { permission: 'messages:write' }, schema: { tags: ['templates'], summary: 'Queue a test email of the template to an address', params: IdParams, body: TestSendBody, response: { 202: Type.Object({ messageId: Type.String() }), 404: ErrorResponse, 422: ErrorResponse } } },
    async (request, reply) =>
      reply.code(202).send(await testSendTemplate(deps.db, authOf(request).workspaceId, request.params.id, { to: request.body.to, contactId: request.body.contactId, from: deps.config.emailFrom }, actorOf(request))),
  );
}
