/** Template routes: CRUD refused with TEMPLATE_INVALID on content issues, preview, test send. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams, NoContent } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { createTemplate, deleteTemplate, getTemplate, listTemplates, previewTemplate, testSendTemplate, updateTemplate } from './templates.js';
import { PreviewBody, Rendered, TemplateBody, TemplateList, TemplateSchema, TestSendAnswer, TestSendBody } from './templates.schemas.js';

export function templateRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get('/templates', { config: { permission: 'templates:read' }, schema: { tags: ['templates'], summary: 'Templates, most recently changed first', response: { ...apiErrors(400), 200: TemplateList } } }, async (request) => ({
    templates: await listTemplates(deps.db, authOf(request).workspaceId),
  }));

  api.get('/templates/:id', { config: { permission: 'templates:read' }, schema: { tags: ['templates'], params: IdParams, response: { ...apiErrors(400), 200: TemplateSchema, 404: ErrorResponse } } }, async (request) => {
    const template = await getTemplate(deps.db, authOf(request).workspaceId, request.params.id);
    if (!template) throw notFound('Template');
    return template;
  });

  api.post(
    '/templates',
    { config: { permission: 'templates:write' }, schema: { tags: ['templates'], summary: 'Create a template; content with issues is refused with TEMPLATE_INVALID', body: TemplateBody, response: { ...apiErrors(400), 201: TemplateSchema, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => reply.code(201).send(await createTemplate(deps, authOf(request).workspaceId, actorOf(request), request.body)),
  );

  api.put(
    '/templates/:id',
    { config: { permission: 'templates:write' }, schema: { tags: ['templates'], summary: 'Replace a template', params: IdParams, body: TemplateBody, response: { ...apiErrors(400), 200: TemplateSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => updateTemplate(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );

  api.delete('/templates/:id', { config: { permission: 'templates:write' }, schema: { tags: ['templates'], params: IdParams, response: { ...apiErrors(400), 204: NoContent, 404: ErrorResponse } } }, async (request, reply) => {
    await deleteTemplate(deps, authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  api.post(
    '/templates/:id/preview',
    { config: { permission: 'templates:read' }, schema: { tags: ['templates'], summary: 'Render the template for a contact (or a sample contact)', params: IdParams, body: PreviewBody, response: { ...apiErrors(400), 200: Rendered, 404: ErrorResponse, 422: ErrorResponse } } },
    async (request) => previewTemplate(deps.db, authOf(request).workspaceId, request.params.id, request.body.contactId ?? null),
  );

  api.post(
    '/templates/:id/test-send',
    { config: { permission: 'messages:write' }, schema: { tags: ['templates'], summary: 'Queue a test email of the template to an address', params: IdParams, body: TestSendBody, response: { ...apiErrors(400), 202: TestSendAnswer, 404: ErrorResponse, 422: ErrorResponse } } },
    async (request, reply) =>
      reply.code(202).send(await testSendTemplate(deps, authOf(request).workspaceId, actorOf(request), request.params.id, { to: request.body.to, contactId: request.body.contactId, from: deps.config.emailFrom })),
  );
}
