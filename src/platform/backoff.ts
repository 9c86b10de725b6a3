/**
 * Exponential backoff with jitter: the delay before retry number `attempt` (1-based) doubles from
 * `baseMs` up to `maxMs`, then a random share of its second half is taken off (half to full delay),
 * so that retries of many failures spread out instead of arriving together.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponential = Math.min(policy.baseMs * 2 ** Math.max(0, attempt - 1), policy.maxMs);
  return Math.round(exponential / 2 + (exponential / 2) * random());
}
