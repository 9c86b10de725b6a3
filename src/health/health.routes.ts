/**
 * Health endpoints. live and ready are public (orchestrators probe them); deep answers its status
 * code to anyone but shows each dependency's details only to operators (`canSeeDetails`).
 */
import type { FastifyRequest } from 'fastify';
import type { ApiInstance } from '../http/typed.js';
import { overall, timed, type HealthCheck } from './health.js';
import { DeepAnswer, LiveAnswer, ReadyAnswer, ReadyUnavailable } from './health.schemas.js';

export function healthRoutes(app: ApiInstance, deps: { checks: HealthCheck[]; isShuttingDown: () => boolean; canSeeDetails: (request: FastifyRequest) => Promise<boolean> }): void {
  const database = deps.checks.find((c) => c.critical && c.name === 'database');

  app.get('/health/live', { schema: { tags: ['health'], response: { 200: LiveAnswer } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/health/ready',
    { schema: { tags: ['health'], response: { 200: ReadyAnswer, 503: ReadyUnavailable } } },
    async (_request, reply) => {
      if (deps.isShuttingDown()) return reply.code(503).send({ status: 'unhealthy', detail: 'shutting down' });
      if (!database) return { status: 'ok', database: { status: 'ok' as const, latencyMs: 0 } };
      const result = await timed(database);
      return reply.code(result.status === 'ok' ? 200 : 503).send({ status: result.status === 'ok' ? 'ok' : 'unhealthy', database: result });
    },
  );

  app.get(
    '/health/deep',
    {
      schema: {
        tags: ['health'],
        summary: 'Every dependency; the details (checks) only with METRICS_TOKEN or an owner’s or admin’s API key or session',
        response: { 200: DeepAnswer, 503: DeepAnswer },
      },
    },
    async (request, reply) => {
      const results = await Promise.all(deps.checks.map((check) => timed(check)));
      const status = overall(results);
      const code = status === 'unhealthy' ? 503 : 200;
      if (!(await deps.canSeeDetails(request))) return reply.code(code).send({ status });
      const checks = Object.fromEntries(deps.checks.map((check, i) => [check.name, results[i]!]));
      return reply.code(code).send({ status, checks });
    },
  );
}
