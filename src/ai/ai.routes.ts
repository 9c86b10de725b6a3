/**
 * AI routes: personalize an email for one contact (preview), subject-line variants, provider
 * settings (admin), policy, budget and price table (admin), the usage log and spend per day,
 * and the review queue of generated variants.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { AppError, notFound } from '../http/errors.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { renderContent, type RenderedContent } from '../email/render.js';
import { getTemplate, variablesFor } from '../email/templates.js';
import { getBudget, listBudgetAlerts, putBudget } from './budget.js';
import {
  BudgetAnswer,
  BudgetBody,
  BudgetWithAlertsAnswer,
  CallsAnswer,
  CallsQuery,
  PersonalizeAnswer,
  PersonalizeBody,
  PolicyAnswer,
  PolicyBody,
  PriceAnswer,
  PriceBody,
  PricesAnswer,
  ReviewQuery,
  SettingsAnswer,
  SettingsBody,
  SettingsTestAnswer,
  SubjectVariantsAnswer,
  SubjectVariantsBody,
  UsageAnswer,
  VariantAnswer,
  VariantsAnswer,
} from './ai.schemas.js';
import { listCalls, logCall, spendPerDay } from './calls.js';
import { getPolicy, listPrices, putPolicy, putPrice } from './policy.js';
import { listVariants, reviewVariant } from './variants.js';

const tags = ['ai'];
const ADMIN = 'settings:write' as const;

export function aiRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ai, db, clock } = deps;

  api.post(
    '/ai/personalize',
    { config: { permission: 'ai:write' }, schema: { tags, summary: 'Personalize an email for one contact (preview; nothing is sent or stored but the call log)', body: PersonalizeBody, response: { 200: PersonalizeAnswer, ...apiErrors(400), 404: ErrorResponse } } },
    async (request) => {
      const { workspaceId } = authOf(request);
      const body = request.body;
      let draft;
      if (body.templateId) {
        const template = await getTemplate(db, workspaceId, body.templateId);
        if (!template) throw notFound('Template');
        draft = { subject: template.subject, preheader: '', html: template.html };
      } else if (body.draft) {
        draft = { subject: body.draft.subject, preheader: body.draft.preheader ?? '', html: body.draft.html };
      } else {
        throw new AppError('VALIDATION_FAILED', 'give templateId or draft', { field: 'draft' });
      }
      if (!(await ai.service.factsOf(workspaceId, body.contactId))) throw notFound('Contact');
      const result = await ai.service.personalize({ workspaceId, actor: actorOf(request), draft, contactId: body.contactId, mode: body.mode ?? 'provider', links: { templateId: body.templateId ?? null } });
      // Both rendered for the contact as they would be sent, for a side-by-side preview.
      const variables = await variablesFor(db, workspaceId, body.contactId);
      const render = (d: typeof draft): Promise<RenderedContent | null> => renderContent({ subject: d.subject, html: d.html }, variables).catch(() => null);
      return { original: draft, ...result, rendered: { original: await render(draft), personalized: await render(result.draft) } };
    },
  );

  api.post(
    '/ai/subject-variants',
    {
      config: { permission: 'ai:write' },
      schema: { tags, summary: 'Subject-line variants for an A/B split', body: SubjectVariantsBody, response: { 200: SubjectVariantsAnswer, ...apiErrors(400), 409: ErrorResponse } },
    },
    async (request) => {
      const { workspaceId } = authOf(request);
      const result = await ai.service.subjectVariants({ workspaceId, actor: actorOf(request), subject: request.body.subject, count: request.body.count ?? 3, mode: request.body.mode ?? 'provider', links: { campaignId: request.body.campaignId ?? null } });
      if (result.reasonCode === 'AI_BUDGET_EXCEEDED') throw new AppError('AI_BUDGET_EXCEEDED', 'this month’s AI budget cannot cover the call', { callId: result.callId });
      return result;
    },
  );

  api.get('/ai/settings', { config: { permission: 'ai:read' }, schema: { tags, summary: 'The workspace AI provider (the API key is never returned)', response: { 200: SettingsAnswer, ...apiErrors(400) } } }, async (request) => ai.settings.get(authOf(request).workspaceId));
  api.put('/ai/settings', { config: { permission: ADMIN }, schema: { tags, summary: 'Choose the AI provider (admins)', body: SettingsBody, response: { 200: SettingsAnswer, ...apiErrors(400) } } }, async (request) =>
    ai.settings.put(authOf(request).workspaceId, actorOf(request), request.body),
  );
  api.post('/ai/settings/test', { config: { permission: ADMIN }, schema: { tags, summary: 'Test the connection and key with a tiny request (logged as a call)', response: { 200: SettingsTestAnswer, ...apiErrors(400) } } }, async (request) => {
    const { workspaceId } = authOf(request);
    const provider = await ai.settings.providerFor(workspaceId);
    const started = performance.now();
    const check = await provider.check();
    await logCall(db, {
      workspaceId,
      actor: actorOf(request),
      operation: 'test_connection',
      provider: provider.kind,
      model: provider.model,
      tokensIn: 0,
      tokensOut: 0,
      cost: 0,
      latencyMs: Math.round(performance.now() - started),
      outcome: check.ok ? 'ok' : 'error',
      reasonCode: check.ok ? null : 'TEST_FAILED',
      reason: check.ok ? null : check.detail,
      at: clock.now(),
    });
    return { provider: provider.kind, model: provider.model, ...check };
  });

  api.get('/ai/policy', { config: { permission: 'ai:read' }, schema: { tags, response: { 200: PolicyAnswer, ...apiErrors(400) } } }, async (request) => getPolicy(db, authOf(request).workspaceId));
  api.put('/ai/policy', { config: { permission: ADMIN }, schema: { tags, summary: 'Set the AI policy (admins)', body: PolicyBody, response: { 200: PolicyAnswer, ...apiErrors(400) } } }, async (request) => {
    const { workspaceId } = authOf(request);
    const current = await ai.settings.get(workspaceId);
    if (!request.body.allowedProviders.includes(current.provider)) throw new AppError('AI_POLICY_FORBIDS', `the workspace uses the ${current.provider} provider; switch it first`, { field: 'allowedProviders' });
    return putPolicy(deps, workspaceId, actorOf(request), request.body);
  });

  api.get('/ai/budget', { config: { permission: 'ai:read' }, schema: { tags, summary: 'This month’s budget, spend and reservations; recent threshold alerts', response: { 200: BudgetWithAlertsAnswer, ...apiErrors(400) } } }, async (request) => {
    const { workspaceId } = authOf(request);
    return { ...(await getBudget(db, workspaceId, clock.now())), alerts: await listBudgetAlerts(db, workspaceId) };
  });
  api.put('/ai/budget', { config: { permission: ADMIN }, schema: { tags, summary: 'Set the monthly budget (admins)', body: BudgetBody, response: { 200: BudgetAnswer, ...apiErrors(400) } } }, async (request) =>
    putBudget(deps, authOf(request).workspaceId, actorOf(request), { monthlyLimit: request.body.monthlyLimit, warnRatio: request.body.warnRatio ?? 0.8 }),
  );

  api.get('/ai/prices', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Price per million tokens by model', response: { 200: PricesAnswer, ...apiErrors(400) } } }, async (request) => ({ prices: await listPrices(db, authOf(request).workspaceId) }));
  api.put('/ai/prices', { config: { permission: ADMIN }, schema: { tags, summary: 'Set a model’s price (admins)', body: PriceBody, response: { 200: PriceAnswer, ...apiErrors(400) } } }, async (request) =>
    putPrice(deps, authOf(request).workspaceId, actorOf(request), request.body),
  );

  api.get('/ai/calls', { config: { permission: 'ai:read' }, schema: { tags, summary: 'The AI call log, newest first', querystring: CallsQuery, response: { 200: CallsAnswer, ...apiErrors(400) } } }, async (request) => ({
    calls: await listCalls(db, authOf(request).workspaceId, { ...request.query, limit: request.query.limit ?? 100 }),
  }));
  api.get('/ai/usage', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Calls, tokens and spend per UTC day and model', querystring: CallsQuery, response: { 200: UsageAnswer, ...apiErrors(400) } } }, async (request) => ({
    days: await spendPerDay(db, authOf(request).workspaceId, { ...request.query, limit: 0 }),
  }));

  api.get('/ai/reviews', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Generated variants by review status (pending first)', querystring: ReviewQuery, response: { 200: VariantsAnswer, ...apiErrors(400) } } }, async (request) => ({
    variants: await listVariants(db, authOf(request).workspaceId, request.query.status ?? 'pending'),
  }));
  for (const decision of ['approve', 'reject'] as const) {
    api.post(`/ai/reviews/:id/${decision}`, { config: { permission: 'ai:write' }, schema: { tags, params: IdParams, response: { 200: VariantAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } } }, async (request) =>
      reviewVariant(deps, authOf(request).workspaceId, actorOf(request), request.params.id, decision === 'approve' ? 'approved' : 'rejected'),
    );
  }
}
