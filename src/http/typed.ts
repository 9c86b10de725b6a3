/**
 * Typed routes: every `*Routes(app, deps)` function takes an `ApiInstance` — Fastify with the
 * TypeBox type provider — so a route's body, params, querystring and reply are typed by its schemas
 * (no casts), and declares its answers with `errors(…)`: the ErrorResponse schema for each 4xx it
 * can answer. test/routes.test.ts and `npm run build` (scripts/check-routes.ts) walk the route table
 * with the rules of route-check.ts.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { ErrorResponse } from './schemas.js';

export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** The same instance, typed by its route schemas. */
export function typed(app: FastifyInstance): ApiInstance {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

/** ErrorResponse for each status code, for a route's `response`. */
export function errors<const C extends number>(...codes: C[]): Record<C, typeof ErrorResponse> {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponse])) as Record<C, typeof ErrorResponse>;
}

/**
 * The answers every route of the /api scope can give besides its own: 401 without a valid session
 * or API key, 403 without the permission (or a failed CSRF/Origin check) — src/http/auth.ts.
 */
export function apiErrors<const C extends number>(...codes: C[]): Record<C | 401 | 403, typeof ErrorResponse> {
  return errors<401 | 403 | C>(401, 403, ...codes);
}
