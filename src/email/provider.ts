/**
 * The narrow interface every email provider implements (dev inbox, SMTP, HTTP APIs). The sender
 * decides retries from the error's kind:
 * - transient: certainly not accepted, worth another try (connection refused, throttling, an SMTP
 *   4xx reply before the end of DATA, an HTTP 5xx/429 answer) — retried later, failed over;
 * - permanent: certainly not accepted, and never will be (bad address, rejected content);
 * - ambiguous: the whole message went out and no answer came back (a timeout or a dropped
 *   connection after the HTTP request or the SMTP DATA terminator was sent): it may have been
 *   accepted. Only a provider that honours idempotency keys (`idempotent`) may be asked again;
 *   otherwise the sender parks the message as 'uncertain' for an operator to decide.
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

/** One call to one provider, as the delivery log records it. */
export interface ProviderAttempt {
  provider: string;
  result: 'sent' | 'transient_error' | 'permanent_error' | 'ambiguous';
  latencyMs: number;
  providerMessageId: string | null;
  error: string | null;
}

export interface SendResult {
  providerMessageId: string;
  /** The provider that accepted, when a router chose among several. */
  provider?: string;
  /** A router's calls, in order, the accepting one last. */
  attempts?: ProviderAttempt[];
}

export interface ProviderCheck {
  ok: boolean;
  detail: string;
}

export interface EmailProvider {
  readonly name: string;
  /** True when a repeat with the same idempotency key never delivers twice (Resend, the dev inbox). */
  readonly idempotent?: boolean;
  /**
   * Resolves only when the provider accepted the message; otherwise throws a ProviderError.
   * `onlyProvider` (a router's concern): send through the provider of that name or not at all.
   */
  send(message: ProviderMessage, options: SendOptions): Promise<SendResult>;
  /** Tests the connection and credentials without sending. */
  check?(): Promise<ProviderCheck>;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}

export interface SendOptions {
  idempotencyKey: string;
  /** Set after an ambiguous failure on an idempotent provider: only it may be asked again. */
  onlyProvider?: string | null;
  /**
   * A provider that talks to the outside calls this right before the message can leave (SMTP:
   * after the server's 354, before the data; HTTP: before the request) and sends nothing if it
   * rejects. The sender commits a durable mark there, so that a process dying after it knows the
   * message may have been accepted (send-journal.ts, reclaim.ts).
   */
  handOff?: (to: HandOff) => Promise<void>;
}

/** Who is about to receive a message: a provider (by name) and whether it honours idempotency keys. */
export interface HandOff {
  provider: string;
  idempotent: boolean;
}

export type ProviderErrorKind = 'transient' | 'permanent' | 'ambiguous';

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** A provider-requested wait before the next attempt (429 Retry-After). */
    readonly retryAfterMs?: number,
    /**
     * The provider that may already hold the message (an ambiguous failure it can settle by its
     * idempotency key): a retry must go to it alone, never fail over.
     */
    readonly pinTo?: string,
    /** A router's calls, in order, the failing one last. */
    readonly attempts?: ProviderAttempt[],
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Anything thrown that is not a ProviderError (a bug) is treated as transient. */
export function asProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError('transient', error instanceof Error ? error.message : String(error));
}

/**
 * What an ambiguous failure means for this provider: a retry with the same idempotency key is
 * safe on an idempotent provider (so it is transient there); elsewhere it stays ambiguous.
 */
export function settleAmbiguous(provider: Pick<EmailProvider, 'idempotent' | 'name'>, error: ProviderError): ProviderError {
  if (error.kind !== 'ambiguous' || !provider.idempotent) return error;
  return new ProviderError('transient', error.message, error.retryAfterMs, provider.name, error.attempts);
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
