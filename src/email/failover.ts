/**
 * Routing over several providers of a workspace, in priority order: a circuit breaker and a rate
 * limit per provider, failover to the next one on a transient failure, none on a permanent one
 * (the message itself was refused). When every provider failed transiently the error is
 * transient, and the sender retries the message later with exponential backoff and jitter.
 * An ambiguous failure (the provider may have accepted the message) stops the chain: another
 * provider could deliver a second copy. It becomes transient when the provider honours
 * idempotency keys (a later retry with the same key is safe), and stays ambiguous otherwise,
 * so the sender parks the message for an operator.
 */
import type { Clock } from '../platform/clock.js';
import { ProviderError, asProviderError, settleAmbiguous, type EmailProvider, type ProviderAttempt, type ProviderMessage, type SendOptions, type SendResult } from './provider.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  consecutiveFailures: number;
  /** Failure rate over the recent window that opens it, once `minimumCalls` calls were seen. */
  failureRate: number;
  minimumCalls: number;
  windowSize: number;
  /** How long an open circuit refuses calls before letting one trial through. */
  cooldownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = { consecutiveFailures: 5, failureRate: 0.5, minimumCalls: 20, windowSize: 50, cooldownMs: 30_000 };

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private consecutive = 0;
  private recent: boolean[] = [];
  private openedAt = 0;
  private trialInFlight = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: CircuitOptions = DEFAULT_CIRCUIT,
  ) {}

  get current(): CircuitState {
    if (this.state === 'open' && this.clock.now().getTime() - this.openedAt >= this.options.cooldownMs) return 'half_open';
    return this.state;
  }

  /** Whether a call may go through now; in half-open, only one trial at a time. */
  tryAcquire(): boolean {
    const state = this.current;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.trialInFlight) return false;
    this.state = 'half_open';
    this.trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.trialInFlight = false;
    this.consecutive = 0;
    this.push(true);
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.recent = [];
    }
  }

  onFailure(): void {
    this.trialInFlight = false;
    this.consecutive += 1;
    this.push(false);
    const failures = this.recent.filter((ok) => !ok).length;
    const rateTripped = this.recent.length >= this.options.minimumCalls && failures / this.recent.length >= this.options.failureRate;
    if (this.state === 'half_open' || this.consecutive >= this.options.consecutiveFailures || rateTripped) {
      this.state = 'open';
      this.openedAt = this.clock.now().getTime();
    }
  }

  private push(ok: boolean): void {
    this.recent.push(ok);
    if (this.recent.length > this.options.windowSize) this.recent.shift();
  }
}

/** A token bucket: `perSecond` sends a second with bursts up to `burst`. */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;
  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, perSecond),
  ) {
    this.tokens = this.burst;
    this.updatedAt = clock.now().getTime();
  }

  tryTake(): boolean {
    const now = this.clock.now().getTime();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available. */
  waitMs(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

export interface RoutedProvider {
  provider: EmailProvider;
  breaker: CircuitBreaker;
  limiter: RateLimiter | null;
}

/** Sends through the first provider that is available and accepts; see the module comment. */
export function createFailoverProvider(routes: RoutedProvider[]): EmailProvider {
  return {
    name: 'failover',
    async send(message: ProviderMessage, options: SendOptions): Promise<SendResult> {
      const failures: string[] = [];
      // Every provider called, for the delivery log (send_attempts), the last one deciding.
      const attempts: ProviderAttempt[] = [];
      let retryAfterMs = 0;
      // A message one provider may already hold goes back to that provider only (same
      // idempotency key); if it is no longer configured, nobody can say whether it was sent.
      const pinned = options.onlyProvider ? routes.filter((r) => r.provider.name === options.onlyProvider) : routes;
      if (options.onlyProvider && pinned.length === 0) {
        throw new ProviderError('ambiguous', `${options.onlyProvider} may have accepted this message earlier and is no longer configured`);
      }
      for (const route of pinned) {
        if (route.limiter && !route.limiter.tryTake()) {
          failures.push(`${route.provider.name}: rate limit reached`);
          retryAfterMs = Math.max(retryAfterMs, route.limiter.waitMs());
          continue;
        }
        if (!route.breaker.tryAcquire()) {
          failures.push(`${route.provider.name}: circuit open`);
          continue;
        }
        const started = performance.now();
        const elapsed = () => Math.round(performance.now() - started);
        try {
          const result = await route.provider.send(message, options);
          route.breaker.onSuccess();
          attempts.push({ provider: route.provider.name, result: 'sent', latencyMs: elapsed(), providerMessageId: result.providerMessageId, error: null });
          return { ...result, provider: result.provider ?? route.provider.name, attempts };
        } catch (thrown) {
          const error = asProviderError(thrown);
          const result = error.kind === 'permanent' ? 'permanent_error' : error.kind === 'ambiguous' ? 'ambiguous' : 'transient_error';
          attempts.push({ provider: route.provider.name, result, latencyMs: elapsed(), providerMessageId: null, error: error.message });
          if (error.kind === 'permanent') {
            // The provider is healthy: it answered, and refused this message.
            route.breaker.onSuccess();
            throw new ProviderError('permanent', error.message, undefined, undefined, attempts);
          }
          route.breaker.onFailure();
          if (error.kind === 'ambiguous') {
            const settled = settleAmbiguous(route.provider, error);
            throw new ProviderError(settled.kind, settled.message, settled.retryAfterMs, settled.pinTo, attempts);
          }
          failures.push(error.message);
          retryAfterMs = Math.max(retryAfterMs, error.retryAfterMs ?? 0);
        }
      }
      throw new ProviderError('transient', failures.length > 0 ? failures.join('; ') : 'no email provider is configured', retryAfterMs || undefined, options.onlyProvider ?? undefined, attempts.length > 0 ? attempts : undefined);
    },
    async close() {
      await Promise.all(routes.map((r) => r.provider.close?.()));
    },
  };
}
