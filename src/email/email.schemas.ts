/**
 * Request and response shapes of the dev inbox and suppression-list routes (email.routes.ts).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

const Email = Type.String({ format: 'email', maxLength: 254 });

export const SUPPRESSION_REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export const InboxSummary = Type.Object({ id: Type.String(), from: Type.String(), to: Type.String(), subject: Type.String(), createdAt: Type.String({ format: 'date-time' }) });
export const InboxEmail = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});
export const InboxQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false });

export const Reason = Type.Union([Type.Literal('unsubscribed'), Type.Literal('hard_bounce'), Type.Literal('complaint'), Type.Literal('manual')]);
export const Suppression = Type.Object({ email: Type.String(), reason: Reason, source: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String({ format: 'date-time' }) });
export const SuppressionQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    after: Type.Optional(Type.String({ maxLength: 254 })),
    email: Type.Optional(Type.String({ maxLength: 254 })),
  },
  { additionalProperties: false },
);
export const SuppressionBody = Type.Object({ email: Email, reason: Type.Optional(Reason) }, { additionalProperties: false });
export const EmailParams = Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }) });
export const InboxList = Type.Object({ messages: Type.Array(InboxSummary) });
export const SuppressionPage = Type.Object({ suppressions: Type.Array(Suppression), nextCursor: Type.Union([Type.String(), Type.Null()]) });

// Public links (public.routes.ts). Tokens carry the signed URL, longer than a route parameter may be,
// so the tracking and unsubscribe routes take the rest of the path.
export const TokenParams = Type.Object({ '*': Type.String() });
export const ProviderParams = Type.Object({ providerId: Type.String() });
