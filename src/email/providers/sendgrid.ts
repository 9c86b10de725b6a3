/** SendGrid v3 (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send): POST /v3/mail/send, 202 + X-Message-Id. */
import type { EmailProvider, ProviderMessage } from '../provider.js';
import { callProvider, jsonOf, parseMailbox, type HttpClient } from './http.js';

export interface SendGridCredentials {
  apiKey: string;
}

export function createSendGridProvider(credentials: SendGridCredentials, http: HttpClient, options: { baseUrl?: string; timeoutMs?: number } = {}): EmailProvider {
  const baseUrl = options.baseUrl ?? 'https://api.sendgrid.com';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const auth = { authorization: `Bearer ${credentials.apiKey}` };
  const describe = (r: { body: string }) => {
    const errors = jsonOf(r.body).errors;
    return Array.isArray(errors) ? errors.map((e: { message?: string }) => e.message ?? '').join('; ') : r.body;
  };
  const mailbox = (value: string) => {
    const { name, email } = parseMailbox(value);
    return name ? { email, name } : { email };
  };
  return {
    name: 'sendgrid',
    // SendGrid has no idempotency key; our message id travels in custom_args for webhooks.
    async send(message: ProviderMessage, { handOff }) {
      const response = await callProvider(
        http,
        'sendgrid',
        {
          method: 'POST',
          url: `${baseUrl}/v3/mail/send`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({
            personalizations: [{ to: [mailbox(message.to)] }],
            from: mailbox(message.from),
            subject: message.subject,
            content: [
              { type: 'text/plain', value: message.text },
              { type: 'text/html', value: message.html },
            ],
            headers: { ...message.headers, 'Message-ID': message.rfcMessageId },
            custom_args: { message_id: message.messageId, workspace_id: message.workspaceId },
          }),
          timeoutMs,
        },
        describe,
        { to: { provider: 'sendgrid', idempotent: false }, mark: handOff },
      );
      return { providerMessageId: response.headers['x-message-id'] ?? message.rfcMessageId };
    },
    async check() {
      try {
        await callProvider(http, 'sendgrid', { method: 'GET', url: `${baseUrl}/v3/scopes`, headers: auth, timeoutMs }, describe);
        return { ok: true, detail: 'SendGrid accepted the API key' };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
  };
}
