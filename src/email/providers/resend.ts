/** Resend (https://resend.com/docs/api-reference/emails/send-email): POST /emails, Bearer key, Idempotency-Key. */
import type { EmailProvider, ProviderMessage } from '../provider.js';
import { callProvider, jsonOf, type HttpClient } from './http.js';

export interface ResendCredentials {
  apiKey: string;
}

export function createResendProvider(credentials: ResendCredentials, http: HttpClient, options: { baseUrl?: string; timeoutMs?: number } = {}): EmailProvider {
  const baseUrl = options.baseUrl ?? 'https://api.resend.com';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const auth = { authorization: `Bearer ${credentials.apiKey}` };
  const describe = (r: { body: string }) => String(jsonOf(r.body).message ?? r.body);
  return {
    name: 'resend',
    // Resend keeps an Idempotency-Key for 24 hours: a repeat returns the first answer, sends nothing.
    idempotent: true,
    async send(message: ProviderMessage, { idempotencyKey, handOff }) {
      const response = await callProvider(
        http,
        'resend',
        {
          method: 'POST',
          url: `${baseUrl}/emails`,
          headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': idempotencyKey.slice(0, 256) },
          body: JSON.stringify({ from: message.from, to: [message.to], subject: message.subject, html: message.html, text: message.text, headers: { ...message.headers, 'Message-ID': message.rfcMessageId } }),
          timeoutMs,
        },
        describe,
        { to: { provider: 'resend', idempotent: true }, mark: handOff },
      );
      return { providerMessageId: String(jsonOf(response.body).id ?? message.rfcMessageId) };
    },
    async check() {
      try {
        await callProvider(http, 'resend', { method: 'GET', url: `${baseUrl}/domains`, headers: auth, timeoutMs }, describe);
        return { ok: true, detail: 'Resend accepted the API key' };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
  };
}
