/**
 * SMTP delivery (SMTP_URL): the message is built once (mime.ts) and sent by our pooled,
 * pipelining client (smtp-client.ts). A 5xx reply is permanent (the server refused this
 * message); a 4xx reply or a connection problem before the end of DATA is transient; failed
 * authentication is permanent. A timeout or a lost connection after the whole message and its
 * DATA terminator went out is ambiguous: the server may have queued it, and SMTP has no
 * idempotency key.
 */
import { buildMimeMessage, envelopeOf, type Envelope } from './mime.js';
import { SmtpClient } from './smtp-client.js';
import { parseSmtpUrl } from './smtp-url.js';
import { ProviderError, type EmailProvider, type ProviderMessage, type SendResult } from './provider.js';

export interface SmtpOptions {
  maxConnections?: number;
  /** Milliseconds for connecting, greeting and each socket read; well below the sender's lease. */
  timeoutMs?: number;
}

interface SmtpFailure {
  message?: string;
  code?: string;
  responseCode?: number;
}

export function classifySmtpError(error: unknown): ProviderError {
  const failure = (error ?? {}) as SmtpFailure & { dataWritten?: boolean };
  const message = failure.message ?? String(error);
  if (typeof failure.responseCode === 'number') {
    return new ProviderError(failure.responseCode >= 500 ? 'permanent' : 'transient', `SMTP ${failure.responseCode}: ${message}`);
  }
  // Authentication failures do not fix themselves by retrying the same message.
  if (failure.code === 'EAUTH') return new ProviderError('permanent', `SMTP authentication failed: ${message}`);
  // No reply after the message and its terminator were written (smtp-client marks the error).
  if (failure.dataWritten === true) return new ProviderError('ambiguous', `SMTP ${failure.code ?? 'error'} after the end of DATA: ${message}; the server may have accepted the message`);
  return new ProviderError('transient', `SMTP ${failure.code ?? 'error'}: ${message}`);
}

export function createSmtpProvider(url: string, options: SmtpOptions = {}): EmailProvider {
  // Implicit TLS, STARTTLS required with credentials, certificate checks: smtp-url.ts.
  const target = parseSmtpUrl(url);
  const client = new SmtpClient({ ...target, maxConnections: options.maxConnections ?? 20, timeoutMs: options.timeoutMs ?? 30_000 });
  return {
    name: 'smtp',
    async send(message: ProviderMessage, { handOff }): Promise<SendResult> {
      let raw: Buffer;
      let envelope: Envelope;
      try {
        raw = buildMimeMessage({ ...message, messageId: message.rfcMessageId, date: new Date() });
        envelope = envelopeOf(message.from, message.to);
      } catch (error) {
        // A message without a usable address or with a bad header does not improve by retrying.
        throw new ProviderError('permanent', `message cannot be built: ${(error as Error).message}`);
      }
      try {
        await client.send(envelope, raw, handOff && (() => handOff({ provider: 'smtp', idempotent: false })));
        return { providerMessageId: message.rfcMessageId };
      } catch (error) {
        // A refused hand-off is already a ProviderError (transient: nothing left).
        if (error instanceof ProviderError) throw error;
        throw classifySmtpError(error);
      }
    },
    async check() {
      try {
        await client.verify();
        return { ok: true, detail: `connected to ${target.host}:${target.port}${target.secure ? ' (implicit TLS)' : ''}` };
      } catch (error) {
        return { ok: false, detail: classifySmtpError(error).message };
      }
    },
    async close() {
      client.close();
    },
  };
}
