/** Shapes shared by several domains' routes; each domain keeps its own shapes beside its routes. */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
  },
);

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const CursorQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** The errors every authenticated API route can answer: a refused request, no caller, a role that may not. */
export const API_ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse } as const;

/** A union of string literals typed as such (`Type.Union(values.map(Type.Literal))` would type as never). */
export function literalUnion<const T extends readonly string[]>(values: T): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;
}
