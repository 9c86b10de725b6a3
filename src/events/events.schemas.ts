/**
 * Request and response shapes of the events routes (events.routes.ts: `POST /api/events`, write
 * keys) and of the Segment-compatible /v1 API (tracking.routes.ts).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

export const TrackBody = Type.Object(
  {
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timestamp: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export const TrackResponse = Type.Object({
  duplicate: Type.Boolean(),
  event: Type.Union([Type.Object({ id: Type.String(), contactId: Type.String(), name: Type.String(), occurredAt: Type.String() }), Type.Null()]),
});
export const WriteKey = Type.Object({ id: Type.String(), name: Type.String(), prefix: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) });
export const CreateWriteKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

export const WriteKeyList = Type.Object({ writeKeys: Type.Array(WriteKey) });
/** The created write key: `key` is shown this once. */
export const CreatedWriteKey = Type.Object({ writeKey: WriteKey, key: Type.String() });

/** A Segment message: any object, checked by the handler per message (segment-message.ts). */
export const AnyObject = Type.Object({}, { additionalProperties: true });
/** Any object, as Segment sends it; the batch's own fields are read (and checked) by the handler. */
export const BatchBody = Type.Object({ batch: Type.Optional(Type.Unknown()), sentAt: Type.Optional(Type.Unknown()), context: Type.Optional(Type.Unknown()) }, { additionalProperties: true });
/** What /v1 answers: accepted, with the messages of a batch it refused (index, code, message). */
export const Accepted = Type.Object({
  success: Type.Literal(true),
  errors: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), messageId: Type.Union([Type.String(), Type.Null()]), code: Type.String(), message: Type.String() }))),
});
