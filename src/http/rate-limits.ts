/**
 * Request rate limits by tier (docs/access.md#rate-limits), on top of @fastify/rate-limit:
 * - `/api`, once authenticated: per API key and per workspace (sessions count toward the workspace);
 * - `/v1` (Segment tracking API): per write key;
 * - public tracking links (`/t/…` opens and clicks, `/u/…` unsubscribe): per client address;
 * - sign-up and log-in keep their per-address limit declared on the routes (LOGIN_RATE_LIMIT_PER_MINUTE).
 * Each answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the tightest
 * tier that applied); past a limit the answer is 429 RATE_LIMITED with `Retry-After`.
 * Counters live in this process's memory, or in Redis when one is given (REDIS_URL), so several
 * processes share one limit. Fixed windows of one minute; a limit of 0 turns its tier off. If Redis
 * fails, requests pass (limits are a guard, not a reason to refuse service).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import { writeKeyOf } from '../events/tracking.routes.js';
import { AppError } from './errors.js';

export type RateLimitTier = 'api_key' | 'workspace' | 'write_key' | 'public_ip';

const WINDOW_MS = 60_000;

interface Outcome {
  tier: RateLimitTier;
  max: number;
  remaining: number;
  ttlInSeconds: number;
  isExceeded: boolean;
}

type Limiter = (request: FastifyRequest) => Promise<Outcome | null>;

/** A tier's counter for the key `keyOf` returns (null: the tier does not apply to this request). */
function limiter(app: FastifyInstance, tier: RateLimitTier, max: number, keyOf: (request: FastifyRequest) => string | null): Limiter {
  if (max === 0) return async () => null;
  const check = app.createRateLimit({ max, timeWindow: WINDOW_MS, keyGenerator: (request) => `${tier}:${keyOf(request) ?? ''}` });
  return async (request) => {
    if (keyOf(request) === null) return null;
    const result = await check(request);
    if (result.isAllowed) return null;
    return { tier, max: result.max, remaining: result.remaining, ttlInSeconds: result.ttlInSeconds, isExceeded: result.isExceeded };
  };
}

/**
 * The client address as the per-address limits count it: an IPv6 address by its /64 (one
 * subscriber's block, as @fastify/rate-limit's own key does), an IPv4-mapped one as IPv4. A request
 * whose client already disconnected has no address (`request.ip` undefined), on which the library's
 * default key generator throws (a 500): it is counted under one shared key instead.
 */
export function clientAddressKey(ip: string | undefined): string {
  if (!ip) return 'no-address';
  if (!ipaddr.isValid(ip)) return ip.toLowerCase();
  const parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}

/** Keys stored in Redis must not reveal secrets: a write key is counted under its digest. */
const digest = (secret: string) => createHash('sha256').update(secret).digest('base64url').slice(0, 22);

function tiersOf(url: string | undefined): 'api' | 'v1' | 'public' | null {
  if (!url) return null;
  if (url.startsWith('/api/')) return 'api';
  if (url.startsWith('/v1/')) return 'v1';
  if (url.startsWith('/t/') || url.startsWith('/u/')) return 'public';
  return null;
}

function applyHeaders(reply: FastifyReply, outcome: Outcome): void {
  reply.header('ratelimit-limit', outcome.max);
  reply.header('ratelimit-remaining', outcome.remaining);
  reply.header('ratelimit-reset', outcome.ttlInSeconds);
}

/**
 * Registers @fastify/rate-limit (routes may still declare `config.rateLimit`, as log-in does) and
 * the tiers. Call before the routes are registered.
 */
export async function registerRateLimits(app: FastifyInstance, config: Config, redis?: Redis): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    skipOnError: true,
    keyGenerator: (request) => clientAddressKey(request.ip),
    ...(redis ? { redis, nameSpace: 'uh-rl:' } : {}),
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  });
  const limits = config.rateLimits;
  const byTier = {
    api: [
      limiter(app, 'api_key', limits.apiKeyPerMinute, (request) => request.auth?.apiKeyId ?? null),
      limiter(app, 'workspace', limits.workspacePerMinute, (request) => request.auth?.workspaceId ?? null),
    ],
    v1: [limiter(app, 'write_key', limits.writeKeyPerMinute, (request) => {
      const key = writeKeyOf(request);
      return key ? digest(key) : null;
    })],
    public: [limiter(app, 'public_ip', limits.publicIpPerMinute, (request) => request.ip)],
  };

  // preHandler: after authentication (the /api scope's onRequest) and body parsing (write keys
  // may ride in the body), before the handler does any work.
  app.addHook('preHandler', async (request, reply) => {
    const tier = tiersOf(request.routeOptions.url);
    if (!tier) return;
    let tightest: Outcome | null = null;
    for (const check of byTier[tier]) {
      const outcome = await check(request);
      if (!outcome) continue;
      if (outcome.isExceeded) {
        applyHeaders(reply, { ...outcome, remaining: 0 });
        reply.header('retry-after', outcome.ttlInSeconds);
        throw new AppError('RATE_LIMITED', `Too many requests for this ${outcome.tier.replace('_', ' ')} (${outcome.max} a minute); retry in ${outcome.ttlInSeconds} s`, { tier: outcome.tier, limit: outcome.max, retryAfterSeconds: outcome.ttlInSeconds });
      }
      if (!tightest || outcome.remaining < tightest.remaining) tightest = outcome;
    }
    if (tightest) applyHeaders(reply, tightest);
  });
}
