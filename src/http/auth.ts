/**
 * Authentication and authorization for the `/api` scope.
 * - Bearer API keys (workspace-scoped, hashed) need no CSRF token.
 * - Session cookies need, on every unsafe method, the CSRF token in `x-csrf-token` matching both
 *   the `uh_csrf` cookie and the session (double submit, constant-time), and an allowed Origin.
 * - Every route in the scope declares `config.permission`; a route without one fails at start.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import type { ApiKeyCache } from '../identity/api-key-cache.js';
import type { SessionCache } from '../identity/session-cache.js';
import { resolveApiKey, resolveSession } from '../identity/identity.js';
import { can, type Permission, type Role } from '../identity/permissions.js';
import { safeEqual } from '../identity/tokens.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from './errors.js';

export const SESSION_COOKIE = 'uh_session';
export const CSRF_COOKIE = 'uh_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface AuthContext {
  workspaceId: string;
  role: Role;
  via: 'session' | 'api_key';
  userId: string | null;
  apiKeyId: string | null;
  sessionToken: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** The `resource:action` this route requires; `'public'` marks an intentionally open route. */
    permission?: Permission | 'authenticated' | 'public';
    /** The handler checks its body for unstorable text itself, item by item (src/http/text.ts). */
    checksTextPerMessage?: boolean;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The authenticated caller; routes in the `/api` scope can rely on it being present. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new AppError('UNAUTHENTICATED', 'Sign in or send an API key');
  return request.auth;
}

export function actorOf(request: FastifyRequest): Actor {
  const auth = authOf(request);
  return {
    type: auth.via === 'api_key' ? 'api_key' : 'user',
    id: auth.via === 'api_key' ? auth.apiKeyId : auth.userId,
    ip: request.ip,
    requestId: request.id,
  };
}

function allowedOrigin(config: Config, request: FastifyRequest, origin: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.origin === new URL(config.publicUrl).origin) return true;
  // Same host as the request (any port-less or ported host the server was reached at).
  return parsed.host === request.headers.host;
}

/**
 * Whether the caller may see operator details (/health/deep): the METRICS_TOKEN as a Bearer token,
 * or an API key or session of an owner or admin. Outside the `/api` scope, so no CSRF (GET only).
 */
/** What authentication needs: the database, the clock, the config and this process's API-key and session caches (if any). */
export interface AuthDeps {
  db: Database;
  clock: Clock;
  config: Config;
  apiKeys?: ApiKeyCache | undefined;
  sessions?: SessionCache | undefined;
}

export async function isOperator(request: FastifyRequest, deps: AuthDeps): Promise<boolean> {
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) {
    const presented = authorization.slice(7).trim();
    if (deps.config.metricsToken && safeEqual(presented, deps.config.metricsToken)) return true;
    const key = await resolveApiKey(deps.db, deps.clock, presented, deps.apiKeys);
    return key !== null && (key.role === 'owner' || key.role === 'admin');
  }
  const token = request.cookies[SESSION_COOKIE];
  const session = token ? await resolveSession(deps.db, deps.clock, token, deps.sessions) : null;
  return session !== null && (session.role === 'owner' || session.role === 'admin');
}

export function registerAuth(scope: FastifyInstance, deps: AuthDeps): void {
  scope.decorateRequest('auth', null);

  scope.addHook('onRoute', (route) => {
    if (!route.config?.permission) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    }
  });

  scope.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    // 'public' routes, and the scope's not-found handler (no permission), need no caller.
    if (permission === 'public' || permission === undefined) return;

    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) {
      const key = await resolveApiKey(deps.db, deps.clock, authorization.slice(7).trim(), deps.apiKeys);
      if (!key) throw new AppError('UNAUTHENTICATED', 'The API key is unknown or revoked');
      request.auth = { workspaceId: key.workspaceId, role: key.role, via: 'api_key', userId: null, apiKeyId: key.keyId, sessionToken: null };
    } else {
      const token = request.cookies[SESSION_COOKIE];
      if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in or send an API key');
      const session = await resolveSession(deps.db, deps.clock, token, deps.sessions);
      if (!session) throw new AppError('UNAUTHENTICATED', 'The session has expired; sign in again');
      if (UNSAFE.has(request.method)) {
        const origin = request.headers.origin;
        if (origin !== undefined && !allowedOrigin(deps.config, request, origin)) {
          throw new AppError('ORIGIN_NOT_ALLOWED', 'The request Origin is not allowed');
        }
        const header = request.headers[CSRF_HEADER];
        const cookie = request.cookies[CSRF_COOKIE];
        if (typeof header !== 'string' || !cookie || !safeEqual(header, cookie) || !safeEqual(header, session.csrfToken)) {
          throw new AppError('CSRF_TOKEN_INVALID', `Send the ${CSRF_HEADER} header with the value of the ${CSRF_COOKIE} cookie`);
        }
      }
      request.auth = { workspaceId: session.workspaceId, role: session.role, via: 'session', userId: session.userId, apiKeyId: null, sessionToken: token };
    }

    if (permission !== 'authenticated' && !can(request.auth.role, permission)) {
      throw new AppError('FORBIDDEN', `Your role (${request.auth.role}) does not allow ${permission}`);
    }
  });
}
