/**
 * Shapes shared by several domains' routes (each domain keeps its own in its `*.schemas.ts` leaf
 * modules). A leaf too: it imports only TypeBox, so schema modules and the web app may import it.
 */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
  },
);

/** The answer of a 204: no body. */
export const NoContent = Type.Null();

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const CursorQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** A union of string literals from a persisted list (`['a', 'b'] as const`), typed as that list's union. */
export function LiteralUnion<const T extends readonly string[]>(values: T, options?: { description?: string }): TUnion<Literals<T>> {
  return Type.Union(values.map((value) => Type.Literal(value)), options) as unknown as TUnion<Literals<T>>;
}
