/**
 * The route table's contract (convention 1, docs/api.md "Answers"): what every route must declare
 * in its `response` schemas. Used by test/routes.test.ts and by scripts/check-routes.ts, which
 * `npm run build` runs; both collect the routes with an onRoute hook while building the app.
 *
 * A route declares a schema for at least one 2xx (or 3xx) answer and the ErrorResponse schema for
 * each 4xx it can answer that this table can know of:
 * - 400 when it validates a body, params or a querystring;
 * - 401 and 403 when it needs a caller (a permission other than 'public', src/http/auth.ts);
 * - 404 when its path has a parameter (an id that may name nothing).
 * Codes a domain throws besides these (409, 422 …) are declared by the route beside them.
 * Routes hidden from the OpenAPI document (`schema.hide`: the web app's files, /docs) are exempt.
 */

export interface RouteLike {
  method: string | string[];
  url: string;
  schema?: { hide?: boolean; body?: unknown; params?: unknown; querystring?: unknown; response?: unknown } | undefined;
  config?: { permission?: string } | undefined;
}

function isErrorSchema(schema: unknown): boolean {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties !== undefined && 'error' in properties;
}

/** What the route fails to declare; empty when it follows the contract. */
export function routeProblems(route: RouteLike): string[] {
  const schema = route.schema;
  if (schema?.hide) return [];
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  const codes = Object.keys(response).map(Number);
  const problems: string[] = [];
  if (!codes.some((code) => code >= 200 && code < 400)) problems.push('no response schema for a 2xx answer');
  const required = new Set<number>();
  if (schema?.body || schema?.params || schema?.querystring) required.add(400);
  if (route.config?.permission && route.config.permission !== 'public') {
    required.add(401);
    required.add(403);
  }
  if (route.url.includes(':')) required.add(404);
  for (const code of required) if (!codes.includes(code)) problems.push(`no ${code} response schema`);
  for (const code of codes) if (code >= 400 && code < 500 && !isErrorSchema(response[code])) problems.push(`${code} is not the ErrorResponse schema`);
  return problems;
}

/** `METHOD url: problem` for every problem of every route. */
export function routeTableProblems(routes: readonly RouteLike[]): string[] {
  const out: string[] = [];
  for (const route of routes) {
    const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
    if (method === 'HEAD') continue;
    for (const problem of routeProblems(route)) out.push(`${method} ${route.url}: ${problem}`);
  }
  return out;
}
