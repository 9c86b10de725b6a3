/**
 * Request and response shapes of the template routes (templates.routes.ts).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

const Email = Type.String({ format: 'email', maxLength: 254 });

export const TemplateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    subject: Type.String({ minLength: 1, maxLength: 998 }),
    html: Type.String({ minLength: 1, maxLength: 512_000, description: 'HTML or an MJML document starting with <mjml>; Liquid variables from contact and workspace' }),
    text: Type.Optional(Type.Union([Type.String({ maxLength: 256_000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const TemplateSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const Rendered = Type.Object({ subject: Type.String(), html: Type.String(), text: Type.String() });
export const PreviewBody = Type.Object({ contactId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });
export const TestSendBody = Type.Object({ to: Email, contactId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });
export const TemplateList = Type.Object({ templates: Type.Array(TemplateSchema) });
/** `POST /api/templates/:id/test-send` (202): the queued test message. */
export const TestSendAnswer = Type.Object({ messageId: Type.String() });
