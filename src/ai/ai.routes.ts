/**
 * AI routes: personalize an email for one contact (preview), subject-line variants, provider
 * settings (admin), policy, budget and price table (admin), the usage log and spend per day,
 * and the review queue of generated variants.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { AppError, notFound } from '../http/errors.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { renderContent, type RenderedContent } from '../email/render.js';
import { getTemplate, variablesFor } from '../email/templates.js';
import { getBudget, listBudgetAlerts, putBudget } from './budget.js';
import { AI_OPERATIONS, AI_OUTCOMES, listCalls, logCall, spendPerDay } from './calls.js';
import { getPolicy, listPrices, putPolicy, putPrice } from './policy.js';
import { AI_PROVIDERS } from './provider.js';
import { listVariants, reviewVariant } from './variants.js';

const Provider = Type.Union(AI_PROVIDERS.map((p) => Type.Literal(p)));
const Mode = Type.Union([Type.Literal('offline'), Type.Literal('provider')], { description: 'offline: the rules in docs/ai.md; provider: the workspace provider' });
const Draft = Type.Object({ subject: Type.String({ minLength: 1, maxLength: 998 }), preheader: Type.Optional(Type.String({ maxLength: 500 })), html: Type.String({ minLength: 1, maxLength: 500_000 }) }, { additionalProperties: false });
const PersonalizeBody = Type.Object(
  { contactId: Type.String({ format: 'uuid' }), templateId: Type.Optional(Type.String({ format: 'uuid' })), draft: Type.Optional(Draft), mode: Type.Optional(Mode) },
  { additionalProperties: false, description: 'Give templateId or draft' },
);
const SettingsBody = Type.Object(
  {
    provider: Provider,
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    baseUrl: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()])),
    apiKey: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Write-only; omit to keep the stored key' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  },
  { additionalProperties: false },
);
const PolicyBody = Type.Object(
  {
    allowedProviders: Type.Array(Provider, { maxItems: 3 }),
    allowedModels: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 }),
    maxTokens: Type.Integer({ minimum: 16, maximum: 32_000 }),
    redactPii: Type.Boolean(),
    personalFields: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 200 }),
    requireApproval: Type.Boolean(),
  },
  { additionalProperties: false },
);
const BudgetBody = Type.Object(
  { monthlyLimit: Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }), Type.Null()], { description: 'null: no limit. Zero is refused: to stop paid calls, switch the provider to offline.' }), warnRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })) },
  { additionalProperties: false },
);
const PriceBody = Type.Object(
  { provider: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')]), model: Type.String({ minLength: 1, maxLength: 200 }), inputPerMTok: Type.Number({ minimum: 0, maximum: 1e6 }), outputPerMTok: Type.Number({ minimum: 0, maximum: 1e6 }) },
  { additionalProperties: false },
);
const CallsQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    operation: Type.Optional(Type.Union(AI_OPERATIONS.map((o) => Type.Literal(o)))),
    outcome: Type.Optional(Type.Union(AI_OUTCOMES.map((o) => Type.Literal(o)))),
    provider: Type.Optional(Type.String({ maxLength: 50 })),
    model: Type.Optional(Type.String({ maxLength: 200 })),
    campaignId: Type.Optional(Type.String({ format: 'uuid' })),
    before: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
const ReviewQuery = Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])) }, { additionalProperties: false });

const tags = ['ai'];
const ADMIN = 'settings:write' as const;

export function aiRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { ai, db, clock } = deps;

  app.post<{ Body: Static<typeof PersonalizeBody> }>(
    '/ai/personalize',
    { config: { permission: 'ai:write' }, schema: { tags, summary: 'Personalize an email for one contact (preview; nothing is sent or stored but the call log)', body: PersonalizeBody, response: { 400: ErrorResponse, 404: ErrorResponse } } },
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

  app.post<{ Body: { subject: string; count?: number; mode?: 'offline' | 'provider'; campaignId?: string } }>(
    '/ai/subject-variants',
    {
      config: { permission: 'ai:write' },
      schema: { tags, summary: 'Subject-line variants for an A/B split', body: Type.Object({ subject: Type.String({ minLength: 1, maxLength: 998 }), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })), mode: Type.Optional(Mode), campaignId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false }), response: { 409: ErrorResponse } },
    },
    async (request) => {
      const { workspaceId } = authOf(request);
      const result = await ai.service.subjectVariants({ workspaceId, actor: actorOf(request), subject: request.body.subject, count: request.body.count ?? 3, mode: request.body.mode ?? 'provider', links: { campaignId: request.body.campaignId ?? null } });
      if (result.reasonCode === 'AI_BUDGET_EXCEEDED') throw new AppError('AI_BUDGET_EXCEEDED', 'this month’s AI budget cannot cover the call', { callId: result.callId });
      return result;
    },
  );

  app.get('/ai/settings', { config: { permission: 'ai:read' }, schema: { tags, summary: 'The workspace AI provider (the API key is never returned)' } }, async (request) => ai.settings.get(authOf(request).workspaceId));
  app.put<{ Body: Static<typeof SettingsBody> }>('/ai/settings', { config: { permission: ADMIN }, schema: { tags, summary: 'Choose the AI provider (admins)', body: SettingsBody, response: { 400: ErrorResponse } } }, async (request) =>
    ai.settings.put(authOf(request).workspaceId, request.body, actorOf(request)),
  );
  app.post('/ai/settings/test', { config: { permission: ADMIN }, schema: { tags, summary: 'Test the connection and key with a tiny request (logged as a call)' } }, async (request) => {
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

  app.get('/ai/policy', { config: { permission: 'ai:read' }, schema: { tags } }, async (request) => getPolicy(db, authOf(request).workspaceId));
  app.put<{ Body: Static<typeof PolicyBody> }>('/ai/policy', { config: { permission: ADMIN }, schema: { tags, summary: 'Set the AI policy (admins)', body: PolicyBody, response: { 400: ErrorResponse } } }, async (request) => {
    const { workspaceId } = authOf(request);
    const current = await ai.settings.get(workspaceId);
    if (!request.body.allowedProviders.includes(current.provider)) throw new AppError('AI_POLICY_FORBIDS', `the workspace uses the ${current.provider} provider; switch it first`, { field: 'allowedProviders' });
    return putPolicy(db, clock, workspaceId, request.body, actorOf(request));
  });

  app.get('/ai/budget', { config: { permission: 'ai:read' }, schema: { tags, summary: 'This month’s budget, spend and reservations; recent threshold alerts' } }, async (request) => {
    const { workspaceId } = authOf(request);
    return { ...(await getBudget(db, workspaceId, clock.now())), alerts: await listBudgetAlerts(db, workspaceId) };
  });
  app.put<{ Body: Static<typeof BudgetBody> }>('/ai/budget', { config: { permission: ADMIN }, schema: { tags, summary: 'Set the monthly budget (admins)', body: BudgetBody } }, async (request) =>
    putBudget(db, clock, authOf(request).workspaceId, { monthlyLimit: request.body.monthlyLimit, warnRatio: request.body.warnRatio ?? 0.8 }, actorOf(request)),
  );

  app.get('/ai/prices', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Price per million tokens by model' } }, async (request) => ({ prices: await listPrices(db, authOf(request).workspaceId) }));
  app.put<{ Body: Static<typeof PriceBody> }>('/ai/prices', { config: { permission: ADMIN }, schema: { tags, summary: 'Set a model’s price (admins)', body: PriceBody } }, async (request) =>
    putPrice(db, clock, authOf(request).workspaceId, request.body, actorOf(request)),
  );

  app.get<{ Querystring: Static<typeof CallsQuery> }>('/ai/calls', { config: { permission: 'ai:read' }, schema: { tags, summary: 'The AI call log, newest first', querystring: CallsQuery } }, async (request) => ({
    calls: await listCalls(db, authOf(request).workspaceId, { ...request.query, limit: request.query.limit ?? 100 }),
  }));
  app.get<{ Querystring: Static<typeof CallsQuery> }>('/ai/usage', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Calls, tokens and spend per UTC day and model', querystring: CallsQuery } }, async (request) => ({
    days: await spendPerDay(db, authOf(request).workspaceId, { ...request.query, limit: 0 }),
  }));

  app.get<{ Querystring: Static<typeof ReviewQuery> }>('/ai/reviews', { config: { permission: 'ai:read' }, schema: { tags, summary: 'Generated variants by review status (pending first)', querystring: ReviewQuery } }, async (request) => ({
    variants: await listVariants(db, authOf(request).workspaceId, request.query.status ?? 'pending'),
  }));
  for (const decision of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string } }>(`/ai/reviews/:id/${decision}`, { config: { permission: 'ai:write' }, schema: { tags, params: IdParams, response: { 404: ErrorResponse, 409: ErrorResponse } } }, async (request) =>
      reviewVariant(db, clock, authOf(request).workspaceId, request.params.id, decision === 'approve' ? 'approved' : 'rejected', actorOf(request)),
    );
  }
}
