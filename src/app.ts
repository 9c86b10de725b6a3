/**
 * Builds the HTTP application from its dependencies; `server.ts` only listens. Tests build it with
 * their own dependencies and call `app.inject()`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RouteOptions } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { contactsRoutes } from './contacts/contacts.routes.js';
import { customFieldRoutes } from './contacts/custom-fields.routes.js';
import { importRoutes } from './contacts/import.routes.js';
import { DatabaseBusyError, isDatabaseUnavailable, type Database } from './db/database.js';
import { isUniqueViolation } from './db/errors.js';
import type { EmailServices } from './email/email.js';
import { emailRoutes } from './email/email.routes.js';
import { emailPublicRoutes } from './email/public.routes.js';
import { providerRoutes } from './email/providers.routes.js';
import { aiRoutes } from './ai/ai.routes.js';
import type { AiServices } from './ai/ai.js';
import { templateRoutes } from './email/templates.routes.js';
import type { EventSink } from './core/events.js';
import { eventsRoutes } from './events/events.routes.js';
import { trackingRoutes } from './events/tracking.routes.js';
import { healthRoutes } from './health/health.routes.js';
import type { GuardianNotifier } from './guardian/notifier.js';
import { guardianNotifyRoutes } from './guardian/notify.routes.js';
import type { HealthCheck } from './health/health.js';
import { isOperator, registerAuth } from './http/auth.js';
import type { ApiKeyCache } from './identity/api-key-cache.js';
import type { SessionCache } from './identity/session-cache.js';
import type { WriteKeyCache } from './events/write-key-cache.js';
import { AppError, type ErrorBody } from './http/errors.js';
import { registerBodyDrain } from './http/body-drain.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { registerRateLimits } from './http/rate-limits.js';
import { registerLoadShedding } from './http/load-shedding.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from './http/text.js';
import { validatorCompiler } from './http/validation.js';
import { typed, type ApiInstance } from './http/typed.js';
import { campaignHookRoutes, campaignRoutes } from './campaigns/routes.js';
import { splitRoutes } from './campaigns/splits.routes.js';
import { campaignOpsRoutes } from './campaigns/ops.routes.js';
import type { DnsResolver } from './campaigns/webhooks.js';
import { identityRoutes } from './identity/identity.routes.js';
import { workspaceRoutes } from './identity/workspace.routes.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { registerHttpMetrics, type Metrics } from './platform/metrics.js';
import { segmentsRoutes } from './segments/segments.routes.js';
import { guardianRoutes } from './guardian/guardian.routes.js';
import { analyticsRoutes } from './analytics/analytics.routes.js';
import type { ProcessMonitor } from './guardian/monitor.js';
import { registerGuardianMetrics } from './guardian/metrics.js';

export interface AppDeps {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Where stored events go next (the campaign engine's triggers and waits). */
  eventSink: EventSink;
  /** The lead score; also told about events attributed to a contact after they were stored. */
  healthChecks: HealthCheck[];
  /** Link signing and the email sender (tracking, unsubscribe, dev inbox). */
  email: EmailServices;
  /** AI personalization under governance (src/ai). */
  ai: AiServices;
  /** Guardian notifications: channels, test sends, the notifier worker (src/guardian/notifier.ts). */
  guardianNotify: GuardianNotifier;
  isShuttingDown: () => boolean;
  /** Prometheus registry: process metrics and HTTP requests per route (platform/metrics.ts). */
  metrics: Metrics;
  /** Heartbeat, breaker states and HTTP counts of this process, for Guardian (src/guardian/monitor.ts). */
  processMonitor: ProcessMonitor;
  /** Resolves outbound hosts when they are saved (webhook URLs, SMTP providers) to refuse non-public ones. */
  dns: DnsResolver;
  /** Resolved API keys of this process, dropped when revoked (src/identity/api-key-cache.ts); listening once the app is built. */
  apiKeys: ApiKeyCache;
  /** Resolved session cookies of this process, dropped when they change (src/identity/session-cache.ts); listening once the app is built. */
  sessions: SessionCache;
  /** Resolved write keys of this process, dropped when revoked (src/events/write-key-cache.ts); listening once the app is built. */
  writeKeys: WriteKeyCache;
  /** Shared rate-limit counters across processes (REDIS_URL); absent: counted in this process. */
  redis?: Redis;
}

/** Route plugins of each domain, registered in the authenticated `/api` scope. */
const API_ROUTES: Array<(app: ApiInstance, deps: AppDeps) => void> = [identityRoutes, workspaceRoutes, contactsRoutes, customFieldRoutes, importRoutes, eventsRoutes, segmentsRoutes, campaignRoutes, splitRoutes, campaignOpsRoutes, emailRoutes, templateRoutes, providerRoutes, aiRoutes, guardianRoutes, guardianNotifyRoutes, analyticsRoutes];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

export interface BuildOptions {
  /** Sees every route as it is registered (the route-table checks: test/routes.test.ts, scripts/check-routes.ts). */
  onRoute?: (route: RouteOptions) => void;
}

export async function buildApp(deps: AppDeps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    // Forwarded headers are believed only from the proxies TRUST_PROXY lists; otherwise anyone
    // could pick the address the rate limits and the audit log see.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  // First hook: past capacity (event-loop delay), new requests are refused before any work.
  registerLoadShedding(app, { maxEventLoopDelayMs: config.maxEventLoopDelayMs });
  app.setValidatorCompiler(validatorCompiler);
  registerJsonBodyParser(app);

  // Hooks that never wait are written with `done` rather than async: an async hook costs a promise
  // and a microtask turn on every request for nothing.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  // A body answered before it was read is read to its end (up to 8 × the body limit) so the
  // connection stays usable (src/http/body-drain.ts).
  registerBodyDrain(app, 8 * config.bodyLimitBytes);
  // Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused before any handler sees it
  // (src/http/text.ts). Segment ingestion checks message by message instead, to keep the good ones.
  app.addHook('preValidation', (request, _reply, done) => {
    const parts: Array<[string, unknown]> = [['querystring', request.query], ['params', request.params]];
    if (request.body !== undefined && !request.routeOptions.config?.checksTextPerMessage) parts.push(['body', request.body]);
    for (const [where, value] of parts) {
      const path = findUnstorableText(value);
      if (path) return done(new AppError('VALIDATION_FAILED', `Invalid ${where}: ${path} ${UNSTORABLE_TEXT_MESSAGE}`, [{ path, message: UNSTORABLE_TEXT_MESSAGE }]));
    }
    done();
  });

  await app.register(cookie);
  registerSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // React Flow positions nodes with inline style attributes.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        // Only when served over HTTPS; on plain-HTTP installs it would break every asset.
        upgradeInsecureRequests: config.secureCookies ? [] : null,
      },
    },
  });
  // Per-route limits (log-in) and the tiers by API key, workspace, write key and address.
  await registerRateLimits(app, config, deps.redis);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Unite Hub API', version: '1', description: 'Marketing CRM and campaign automation. Authenticate with a session cookie (+ x-csrf-token) or `Authorization: Bearer <API key>`.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', '60');
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    if (isUniqueViolation(error)) {
      // Two requests raced to create the same thing and a unique index refused the second: an
      // expected outcome. Domains map the ones with a documented code of their own (EMAIL_TAKEN …).
      request.log.info({ constraint: (error as { constraint?: string }).constraint }, 'unique violation answered 409');
      return reply.code(409).send(errorBody('CONFLICT', 'This conflicts with a change made at the same time (it already exists); reload and try again'));
    }
    if (error.validation) {
      const details = error.validation.map((v) => ({ path: v.instancePath || '/', message: v.message ?? 'is invalid', ...(v.params ? { params: v.params } : {}) }));
      const where = error.validationContext ?? 'request';
      const first = details[0];
      return reply.code(400).send(errorBody('VALIDATION_FAILED', `Invalid ${where}: ${first ? `${first.path} ${first.message}` : 'failed validation'}`, details));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send(errorBody('BODY_TOO_LARGE', `The request body is larger than ${config.bodyLimitBytes} bytes`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.code(400).send(errorBody('INVALID_JSON', 'The request body is not valid JSON'));
    }
    if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
      return reply.code(400).send(errorBody('INVALID_JSON', 'The request body is not valid JSON'));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody(error.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED', error.message));
    }
    if (error instanceof DatabaseBusyError) {
      // Over capacity: every pooled connection stayed busy for DATABASE_POOL_WAIT_MS. Refused fast
      // so the requests admitted keep their latency (docs/load.md#load-shedding).
      request.log.warn('database pool saturated; request shed');
      reply.header('retry-after', '1');
      return reply.code(503).send(errorBody('SERVICE_UNAVAILABLE', 'The server is busy right now; try again shortly'));
    }
    if (isDatabaseUnavailable(error)) {
      // PostgreSQL restarting or unreachable: not a bug, and the same request may succeed shortly.
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', '5');
      return reply.code(503).send(errorBody('SERVICE_UNAVAILABLE', 'The database is unavailable right now; try again shortly'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL_ERROR', `Something went wrong on our side; quote request id ${request.id}`));
  });

  registerHttpMetrics(app, deps.metrics, config.metricsToken);
  registerGuardianMetrics(deps.metrics, deps);
  app.addHook('onResponse', (_request, reply, done) => {
    deps.processMonitor.countResponse(reply.statusCode);
    done();
  });
  // Resolved API keys stay in this process until revoked (NOTIFY) or a minute old.
  await deps.apiKeys.start(deps.db);
  await deps.sessions.start(deps.db);
  await deps.writeKeys.start(deps.db);
  app.addHook('onClose', () => Promise.all([deps.apiKeys.stop(), deps.sessions.stop(), deps.writeKeys.stop()]).then(() => undefined));
  const authDeps = { db: deps.db, clock: deps.clock, config, apiKeys: deps.apiKeys, sessions: deps.sessions };
  healthRoutes(typed(app), { checks: deps.healthChecks, isShuttingDown: deps.isShuttingDown, canSeeDetails: (request) => isOperator(request, authDeps) });
  trackingRoutes(typed(app), deps);
  await app.register(async (scope) => emailPublicRoutes(scope, deps));
  campaignHookRoutes(app, deps);

  await app.register(
    async (api) => {
      registerAuth(api, authDeps);
      for (const routes of API_ROUTES) routes(typed(api), deps);
      api.setNotFoundHandler((request, reply) =>
        reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)),
      );
    },
    { prefix: '/api' },
  );

  const indexHtml = path.join(config.webDist, 'index.html');
  const hasWeb = existsSync(indexHtml);
  if (hasWeb) {
    await app.register(fastifyStatic, { root: config.webDist, wildcard: false, index: false });
    app.get('/', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
  }
  app.setNotFoundHandler((request, reply) => {
    // Client-side routes of the web app load its index page.
    if (hasWeb && request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
      return reply.sendFile('index.html');
    }
    return reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
  });

  return app;
}
