/**
 * Walks the route table (every route, as registered, seen by an onRoute hook while the app is built
 * on test deps) and fails on a route that does not declare its answers: a 2xx response schema and
 * the ErrorResponse schema for each 4xx it can answer (src/http/route-check.ts). `npm run build`
 * runs the same check (scripts/check-routes.ts).
 */
import type { RouteOptions } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { routeProblems, routeTableProblems } from '../src/http/route-check.js';
import { ErrorResponse } from '../src/http/schemas.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';
import { createTestDatabase, testConfig } from './helpers.js';

describe('the route table', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it('declares a 2xx and each of its 4xx answers on every route', async () => {
    const testDb = await createTestDatabase();
    const runtime = await createRuntime(testConfig(), { db: testDb.db, logger: createLogger('silent') });
    const routes: RouteOptions[] = [];
    const app = await buildApp(runtime.deps, { onRoute: (route) => routes.push(route) });
    await app.ready();
    cleanup.push(() => testDb.drop(), () => runtime.close(), () => app.close());
    expect(routes.length).toBeGreaterThan(50);
    expect(routeTableProblems(routes)).toEqual([]);
  });

  it('finds each kind of missing answer', () => {
    const ok = { 200: { type: 'object' }, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
    expect(routeProblems({ method: 'GET', url: '/x/:id', config: { permission: 'x:read' }, schema: { params: {}, response: ok } })).toEqual([]);
    expect(routeProblems({ method: 'GET', url: '/x', schema: {} })).toEqual(['no response schema for a 2xx answer']);
    expect(routeProblems({ method: 'POST', url: '/x/:id', config: { permission: 'x:write' }, schema: { body: {}, response: { 201: {} } } })).toEqual([
      'no 400 response schema',
      'no 401 response schema',
      'no 403 response schema',
      'no 404 response schema',
    ]);
    expect(routeProblems({ method: 'POST', url: '/login', config: { permission: 'public' }, schema: { body: {}, response: { 200: {}, 400: ErrorResponse, 429: { type: 'object' } } } })).toEqual(['429 is not the ErrorResponse schema']);
    expect(routeProblems({ method: 'GET', url: '/', schema: { hide: true } })).toEqual([]);
    expect(routeTableProblems([{ method: 'HEAD', url: '/x', schema: {} }, { method: 'GET', url: '/x', schema: {} }])).toEqual(['GET /x: no response schema for a 2xx answer']);
  });
});
