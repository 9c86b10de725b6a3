/**
 * Request and response shapes of the AI routes (ai.routes.ts), and the provider, operation and
 * outcome names. Importable by the web app: this module imports only TypeBox and other schema
 * modules.
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const AI_PROVIDERS = ['offline', 'openai', 'anthropic'] as const;
export const AI_OPERATIONS = ['personalize', 'subject_variants', 'classify', 'test_connection'] as const;
export const AI_OUTCOMES = ['ok', 'fallback', 'refused', 'error'] as const;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Provider = Type.Union([Type.Literal('offline'), Type.Literal('openai'), Type.Literal('anthropic')]);
export const Mode = Type.Union([Type.Literal('offline'), Type.Literal('provider')], { description: 'offline: the rules in docs/ai.md; provider: the workspace provider' });
export const Draft = Type.Object({ subject: Type.String({ minLength: 1, maxLength: 998 }), preheader: Type.Optional(Type.String({ maxLength: 500 })), html: Type.String({ minLength: 1, maxLength: 500_000 }) }, { additionalProperties: false });
export const PersonalizeBody = Type.Object(
  { contactId: Type.String({ format: 'uuid' }), templateId: Type.Optional(Type.String({ format: 'uuid' })), draft: Type.Optional(Draft), mode: Type.Optional(Mode) },
  { additionalProperties: false, description: 'Give templateId or draft' },
);
export const SettingsBody = Type.Object(
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
export const PolicyBody = Type.Object(
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
export const BudgetBody = Type.Object(
  { monthlyLimit: Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }), Type.Null()], { description: 'null: no limit. Zero is refused: to stop paid calls, switch the provider to offline.' }), warnRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })) },
  { additionalProperties: false },
);
export const PriceBody = Type.Object(
  { provider: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')]), model: Type.String({ minLength: 1, maxLength: 200 }), inputPerMTok: Type.Number({ minimum: 0, maximum: 1e6 }), outputPerMTok: Type.Number({ minimum: 0, maximum: 1e6 }) },
  { additionalProperties: false },
);
export const CallsQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    operation: Type.Optional(Type.Union([Type.Literal('personalize'), Type.Literal('subject_variants'), Type.Literal('test_connection')])),
    outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('fallback'), Type.Literal('refused'), Type.Literal('error')])),
    provider: Type.Optional(Type.String({ maxLength: 50 })),
    model: Type.Optional(Type.String({ maxLength: 200 })),
    campaignId: Type.Optional(Type.String({ format: 'uuid' })),
    before: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export const ReviewQuery = Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])) }, { additionalProperties: false });

export const SubjectVariantsBody = Type.Object(
  { subject: Type.String({ minLength: 1, maxLength: 998 }), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })), mode: Type.Optional(Mode), campaignId: Type.Optional(Type.String({ format: 'uuid' })) },
  { additionalProperties: false },
);

const EmailDraftSchema = Type.Object({ subject: Type.String(), preheader: Type.String(), html: Type.String() });
const RenderedSchema = Type.Object({ subject: Type.String(), html: Type.String(), text: Type.String() });
const Outcome = Type.String({ description: 'ok, fallback, refused or error' });
export const PersonalizeAnswer = Type.Object({
  original: EmailDraftSchema,
  outcome: Outcome,
  reasonCode: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  draft: EmailDraftSchema,
  changes: Type.Array(Type.String()),
  provider: Type.String(),
  model: Type.String(),
  cost: Type.Number(),
  callId: Type.String(),
  rendered: Type.Object({ original: Nullable(RenderedSchema), personalized: Nullable(RenderedSchema) }, { description: 'Both rendered for the contact as they would be sent; null when rendering fails' }),
});
export const SubjectVariantsAnswer = Type.Object({
  outcome: Outcome,
  reasonCode: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  variants: Type.Array(Type.String()),
  provider: Type.String(),
  model: Type.String(),
  callId: Type.String(),
});
export const SettingsAnswer = Type.Object({
  provider: Provider,
  model: Type.String(),
  baseUrl: Nullable(Type.String()),
  hasApiKey: Type.Boolean(),
  timeoutMs: Type.Integer(),
  maxRetries: Type.Integer(),
  updatedAt: Nullable(Type.String({ format: 'date-time' })),
});
export const SettingsTestAnswer = Type.Object({ provider: Provider, model: Type.String(), ok: Type.Boolean(), detail: Type.String() });
export const PolicyAnswer = Type.Object({
  allowedProviders: Type.Array(Provider),
  allowedModels: Type.Array(Type.String()),
  maxTokens: Type.Integer(),
  redactPii: Type.Boolean(),
  personalFields: Type.Array(Type.String()),
  requireApproval: Type.Boolean(),
});
const BudgetStatusProperties = {
  monthlyLimit: Nullable(Type.Number()),
  warnRatio: Type.Number(),
  month: Type.String(),
  spent: Type.Number(),
  reserved: Type.Number(),
  warnedAt: Nullable(Type.String()),
  exceededAt: Nullable(Type.String()),
};
export const BudgetAnswer = Type.Object(BudgetStatusProperties);
export const BudgetWithAlertsAnswer = Type.Object({
  ...BudgetStatusProperties,
  alerts: Type.Array(Type.Object({ month: Type.String(), kind: Type.String(), spent: Type.Number(), monthlyLimit: Type.Number(), at: Type.String() })),
});
export const PriceAnswer = Type.Object({
  provider: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')]),
  model: Type.String(),
  inputPerMTok: Type.Number(),
  outputPerMTok: Type.Number(),
  source: Type.Union([Type.Literal('built-in'), Type.Literal('workspace')]),
});
export const PricesAnswer = Type.Object({ prices: Type.Array(PriceAnswer) });
export const CallsAnswer = Type.Object({
  calls: Type.Array(
    Type.Object({
      id: Type.String(),
      actorType: Type.String(),
      actorId: Nullable(Type.String()),
      operation: Type.String(),
      provider: Type.String(),
      model: Type.String(),
      tokensIn: Type.Integer(),
      tokensOut: Type.Integer(),
      cost: Type.Number(),
      latencyMs: Type.Integer(),
      outcome: Type.String(),
      reasonCode: Nullable(Type.String()),
      reason: Nullable(Type.String()),
      messageId: Nullable(Type.String()),
      templateId: Nullable(Type.String()),
      campaignId: Nullable(Type.String()),
      contactId: Nullable(Type.String()),
      createdAt: Type.String({ format: 'date-time' }),
    }),
  ),
});
export const UsageAnswer = Type.Object({
  days: Type.Array(Type.Object({ day: Type.String(), provider: Type.String(), model: Type.String(), calls: Type.Integer(), cost: Type.Number(), tokensIn: Type.Integer(), tokensOut: Type.Integer() })),
});
const SentContentSchema = Type.Object({ subject: Type.String(), html: Type.String(), text: Type.String() });
export const VariantAnswer = Type.Object({
  id: Type.String(),
  contactId: Type.String(),
  campaignId: Nullable(Type.String()),
  generator: Type.String(),
  status: Type.Union([Type.Literal('approved'), Type.Literal('pending'), Type.Literal('rejected')]),
  original: SentContentSchema,
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
  changes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  reviewedBy: Nullable(Type.String()),
  reviewedAt: Nullable(Type.String({ format: 'date-time' })),
});
export const VariantsAnswer = Type.Object({ variants: Type.Array(VariantAnswer) });
