/**
 * The AI provider interface: one small contract every provider implements (offline.ts,
 * openai.ts, anthropic.ts), the shapes it exchanges, and the error a provider call fails with.
 * Providers never see governance: policy, budget, redaction and output checks wrap them
 * (personalize.ts).
 */

import type { AI_PROVIDERS } from './ai.schemas.js';

export { AI_PROVIDERS } from './ai.schemas.js';
export type AiProviderKind = (typeof AI_PROVIDERS)[number];

/** An email as a marketer wrote it: HTML (or MJML), possibly with Liquid tags. */
export interface EmailDraft {
  subject: string;
  preheader: string;
  html: string;
}

/** What the personalizer may know about one contact: its own data only. */
export interface ContactFacts {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
  jobTitle: string | null;
  status: string | null;
  scoreBand: 'cold' | 'warm' | 'hot' | null;
  /** Days since the contact's last activity; null when it never had any. */
  daysSinceActivity: number | null;
  custom: Record<string, string | number | boolean>;
}

export interface Personalized {
  draft: EmailDraft;
  /** What was changed, in words a marketer reads ("subject: added the first name"). */
  changes: string[];
}

export interface Usage {
  tokensIn: number;
  tokensOut: number;
}

export interface ProviderCall<T> {
  value: T;
  usage: Usage;
}

/** A reply's reading, as the lead score uses it (src/scoring/classifier.ts). */
export interface ReplyVerdict {
  /** −1 (negative) … 1 (positive). */
  sentiment: number;
  /** 0 (none) … 1 (ready to buy). */
  intent: number;
  reason: string;
}

export interface AiProvider {
  readonly kind: AiProviderKind;
  readonly model: string;
  personalize(draft: EmailDraft, contact: ContactFacts, maxTokens: number): Promise<ProviderCall<Personalized>>;
  subjectVariants(subject: string, count: number, maxTokens: number): Promise<ProviderCall<string[]>>;
  /** Reads the sentiment and buying intent of an email reply. */
  classifyReply(text: string, maxTokens: number): Promise<ProviderCall<ReplyVerdict>>;
  /** A cheap authenticated request that proves the URL, key and model work. */
  check(): Promise<{ ok: boolean; detail: string }>;
}

/**
 * Why a provider call failed. `auth` and `malformed` are not retried; `rate_limited`, `server`,
 * `timeout` and `network` are, after `retryAfterMs` when the provider said so.
 */
export type AiErrorKind = 'auth' | 'bad_request' | 'rate_limited' | 'server' | 'timeout' | 'network' | 'malformed' | 'circuit_open';

export class AiCallError extends Error {
  constructor(
    readonly kind: AiErrorKind,
    message: string,
    readonly retryAfterMs?: number,
    /** Tokens the provider charged for before the failure (a malformed answer still costs). */
    readonly usage?: Usage,
  ) {
    super(message);
    this.name = 'AiCallError';
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'server' || this.kind === 'timeout' || this.kind === 'network';
  }
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
