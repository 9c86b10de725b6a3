/**
 * Timeouts, retries and a circuit breaker around a provider. The breaker is the email providers'
 * (src/email/failover.ts); retries back off exponentially with jitter (half to full delay) and never
 * sooner than the provider's Retry-After. A Retry-After longer than `maxBackoffMs` ends the call
 * instead: the email falls back now rather than waiting past its send time.
 */
import { CircuitBreaker } from '../email/failover.js';
import { AiCallError, type AiProvider, type ProviderCall } from './provider.js';
import { backoffDelay } from '../platform/backoff.js';

export interface RetryOptions {
  maxRetries: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt per try; `attempts` counts every request that reached (or tried to reach) the provider. */
export async function withRetries<T>(run: () => Promise<ProviderCall<T>>, breaker: CircuitBreaker, options: RetryOptions): Promise<ProviderCall<T> & { attempts: number }> {
  let attempts = 0;
  for (;;) {
    if (!breaker.tryAcquire()) throw new AiCallError('circuit_open', 'the provider’s circuit is open after repeated failures');
    attempts += 1;
    try {
      const result = await run();
      breaker.onSuccess();
      return { ...result, attempts };
    } catch (thrown) {
      const error = thrown instanceof AiCallError ? thrown : new AiCallError('network', (thrown as Error)?.message ?? String(thrown));
      if (!error.retryable) {
        // The provider answered: it is up, this request was refused or its answer unusable.
        breaker.onSuccess();
        throw error;
      }
      breaker.onFailure();
      if (attempts > options.maxRetries) throw error;
      const jittered = backoffDelay(attempts, { baseMs: options.baseBackoffMs, maxMs: options.maxBackoffMs }, options.random);
      if ((error.retryAfterMs ?? 0) > options.maxBackoffMs) {
        throw new AiCallError(error.kind, `${error.message}; Retry-After ${Math.round(error.retryAfterMs! / 1000)} s is longer than we wait`, error.retryAfterMs, error.usage);
      }
      await options.sleep(Math.max(jittered, error.retryAfterMs ?? 0));
    }
  }
}

/** The provider with every operation run through withRetries and the breaker. */
export function resilient(provider: AiProvider, breaker: CircuitBreaker, options: RetryOptions, onFailure?: (error: AiCallError) => void): AiProvider {
  const run = async <T>(call: () => Promise<ProviderCall<T>>): Promise<ProviderCall<T>> => {
    try {
      const result = await withRetries(call, breaker, options);
      return { value: result.value, usage: result.usage };
    } catch (error) {
      if (error instanceof AiCallError && error.kind !== 'circuit_open') onFailure?.(error);
      throw error;
    }
  };
  return {
    kind: provider.kind,
    model: provider.model,
    personalize: (draft, contact, maxTokens) => run(() => provider.personalize(draft, contact, maxTokens)),
    subjectVariants: (subject, count, maxTokens) => run(() => provider.subjectVariants(subject, count, maxTokens)),
    classifyReply: (text, maxTokens) => run(() => provider.classifyReply(text, maxTokens)),
    check: () => provider.check(),
  };
}
