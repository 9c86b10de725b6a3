/**
 * Exponential backoff with jitter — the one copy of the codebase. The `attempt`-th retry (1-based)
 * waits between half and all of base × 2^(attempt − 1), capped at `maxMs`; the random half spreads
 * retries that failed together so they do not come back together. Callers apply their own floor
 * (a provider's Retry-After) on top.
 */

export interface Backoff {
  /** The full delay of the first retry, in ms; it doubles per attempt. */
  baseMs: number;
  /** The largest full delay, in ms. */
  maxMs: number;
}

/** The delay before retry `attempt` (1-based; 0 or less counts as 1), in ms; `random` returns [0, 1). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const full = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return full / 2 + (full / 2) * random();
}
