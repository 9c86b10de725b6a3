/**
 * The narrow interface every email provider implements (dev inbox, SMTP). The sender decides
 * retries from the error's kind: a transient failure (timeout, throttling, 4xx SMTP reply, 5xx
 * HTTP) is retried later; a permanent one (bad address, rejected content, bad credentials) is not.
 */
import { createHash } from 'node:crypto';

export interface ProviderMessage {
  workspaceId: string;
  /** Our `messages.id`. */
  messageId: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Extra headers (List-Unsubscribe …); `Message-ID` is given separately. */
  headers: Record<string, string>;
  /** The RFC 5322 Message-ID, `<…@domain>`, deterministic from the idempotency key. */
  rfcMessageId: string;
}

export interface SendResult {
  providerMessageId: string;
  /** The provider that accepted, when a router chose among several. */
  provider?: string;
}

export interface ProviderCheck {
  ok: boolean;
  detail: string;
}

export interface EmailProvider {
  readonly name: string;
  /** Resolves only when the provider accepted the message; otherwise throws a ProviderError. */
  send(message: ProviderMessage, options: { idempotencyKey: string }): Promise<SendResult>;
  /** Tests the connection and credentials without sending. */
  check?(): Promise<ProviderCheck>;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}

export type ProviderErrorKind = 'transient' | 'permanent';

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** A provider-requested wait before the next attempt (429 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Anything thrown that is not a ProviderError (a bug, a dropped socket) is treated as transient. */
export function asProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError('transient', error instanceof Error ? error.message : String(error));
}

function domainOf(address: string): string {
  const match = /@([^\s>]+)>?\s*$/.exec(address);
  return match?.[1]?.toLowerCase() ?? 'unitehub.local';
}

/** The same idempotency key always gives the same Message-ID, so receivers can drop a duplicate. */
export function rfcMessageIdFor(workspaceId: string, idempotencyKey: string, from: string): string {
  const digest = createHash('sha256').update(`${workspaceId}\n${idempotencyKey}`).digest('hex').slice(0, 40);
  return `<${digest}@${domainOf(from)}>`;
}
