/**
 * SMTP delivery through nodemailer with a connection pool (SMTP_URL). A 5xx reply is permanent
 * (the server refused this message); a 4xx reply or a connection problem before the end of DATA
 * is transient. A timeout or a lost connection after the whole message and its DATA terminator
 * went out is ambiguous: the server may have queued it, and SMTP has no idempotency key.
 */
import nodemailer from 'nodemailer';
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

/**
 * A reply code is always certain (the server answered, even to the final dot). Without one, the
 * failure is ambiguous only if the whole message had been streamed to the server
 * (`messageStreamed`): before that the server cannot have accepted an unterminated message.
 */
export function classifySmtpError(error: unknown, messageStreamed = false): ProviderError {
  const failure = (error ?? {}) as SmtpFailure;
  const message = failure.message ?? String(error);
  if (typeof failure.responseCode === 'number') {
    return new ProviderError(failure.responseCode >= 500 ? 'permanent' : 'transient', `SMTP ${failure.responseCode}: ${message}`);
  }
  // Authentication failures do not fix themselves by retrying the same message.
  if (failure.code === 'EAUTH') return new ProviderError('permanent', `SMTP authentication failed: ${message}`);
  if (messageStreamed) return new ProviderError('ambiguous', `SMTP ${failure.code ?? 'error'} after the end of DATA: ${message}; the server may have accepted the message`);
  return new ProviderError('transient', `SMTP ${failure.code ?? 'error'}: ${message}`);
}

export function createSmtpProvider(url: string, options: SmtpOptions = {}): EmailProvider {
  const timeout = options.timeoutMs ?? 30_000;
  const parsed = new URL(url);
  const transporter = nodemailer.createTransport({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 587,
    secure: parsed.protocol === 'smtps:',
    ...(parsed.username ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } } : {}),
    pool: true,
    maxConnections: options.maxConnections ?? 20,
    maxMessages: Infinity,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // Local relays (and the tests' server) offer STARTTLS with self-signed certificates.
    tls: { rejectUnauthorized: parsed.searchParams.get('tls_verify') !== 'false' && parsed.hostname !== '127.0.0.1' && parsed.hostname !== 'localhost' },
  });
  // Message-IDs of sends whose whole message was read into the DATA stream (the terminator
  // follows at once): a failure without a reply after that point is ambiguous.
  // The message stream itself is watched (no extra stream stage): its 'end' means DATA got every byte.
  const streamed = new Set<string>();
  transporter.use('stream', (mail, done) => {
    const id = String(mail.data.messageId ?? '');
    const message = mail.message;
    const createReadStream = message.createReadStream.bind(message);
    message.createReadStream = (options) => createReadStream(options).once('end', () => streamed.add(id));
    done();
  });
  return {
    name: 'smtp',
    async send(message: ProviderMessage): Promise<SendResult> {
      streamed.delete(message.rfcMessageId);
      try {
        const info = (await transporter.sendMail({
          from: message.from,
          to: message.to,
          subject: message.subject,
          html: message.html,
          text: message.text,
          headers: message.headers,
          messageId: message.rfcMessageId,
        })) as { messageId?: string; response?: string };
        return { providerMessageId: info.messageId ?? message.rfcMessageId };
      } catch (error) {
        throw classifySmtpError(error, streamed.has(message.rfcMessageId));
      } finally {
        streamed.delete(message.rfcMessageId);
      }
    },
    async check() {
      try {
        await transporter.verify();
        return { ok: true, detail: `connected to ${parsed.hostname}:${parsed.port || 'default'}` };
      } catch (error) {
        return { ok: false, detail: classifySmtpError(error).message };
      }
    },
    async close() {
      transporter.close();
    },
  };
}
