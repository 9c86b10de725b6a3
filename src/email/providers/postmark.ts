/** Postmark (https://postmarkapp.com/developer/api/email-api): POST /email with X-Postmark-Server-Token. */
import type { EmailProvider, ProviderMessage } from '../provider.js';
import { callProvider, jsonOf, type HttpClient } from './http.js';

export interface PostmarkCredentials {
  serverToken: string;
}

export function createPostmarkProvider(credentials: PostmarkCredentials, http: HttpClient, options: { baseUrl?: string; timeoutMs?: number; messageStream?: string } = {}): EmailProvider {
  const baseUrl = options.baseUrl ?? 'https://api.postmarkapp.com';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const auth = { 'x-postmark-server-token': credentials.serverToken, accept: 'application/json' };
  const describe = (r: { body: string }) => {
    const body = jsonOf(r.body);
    return `${String(body.Message ?? r.body)}${body.ErrorCode !== undefined ? ` (ErrorCode ${String(body.ErrorCode)})` : ''}`;
  };
  return {
    name: 'postmark',
    // Postmark has no idempotency key; the deterministic Message-ID lets receivers drop a repeat.
    async send(message: ProviderMessage, { handOff }) {
      const headers = Object.entries({ ...message.headers, 'Message-ID': message.rfcMessageId }).map(([Name, Value]) => ({ Name, Value }));
      const response = await callProvider(
        http,
        'postmark',
        {
          method: 'POST',
          url: `${baseUrl}/email`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ From: message.from, To: message.to, Subject: message.subject, HtmlBody: message.html, TextBody: message.text, Headers: headers, MessageStream: options.messageStream ?? 'outbound', Metadata: { messageId: message.messageId } }),
          timeoutMs,
        },
        describe,
        { to: { provider: 'postmark', idempotent: false }, mark: handOff },
      );
      return { providerMessageId: String(jsonOf(response.body).MessageID ?? message.rfcMessageId) };
    },
    async check() {
      try {
        await callProvider(http, 'postmark', { method: 'GET', url: `${baseUrl}/server`, headers: auth, timeoutMs }, describe);
        return { ok: true, detail: 'Postmark accepted the server token' };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
  };
}
