/**
 * Request and response shapes of the email provider routes (providers.routes.ts), and the provider kinds.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

export const PROVIDER_KINDS = ['smtp', 'resend', 'postmark', 'sendgrid', 'ses'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const Kind = Type.Union([Type.Literal('smtp'), Type.Literal('resend'), Type.Literal('postmark'), Type.Literal('sendgrid'), Type.Literal('ses')]);
export const ProviderBody = Type.Object(
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
export const ProviderSchema = Type.Object({
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
export const ProviderList = Type.Object({ providers: Type.Array(ProviderSchema) });
/** `POST /api/providers/:id/test`: whether the connection and credentials work, and what the provider said. */
export const ProviderTestAnswer = Type.Object({ ok: Type.Boolean(), detail: Type.String() });
