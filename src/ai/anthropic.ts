/**
 * Anthropic's Messages API through the official `@anthropic-ai/sdk`. As with openai.ts, the SDK's
 * own retries are off: retries, backoff and the circuit breaker are in resilience.ts.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createChatProvider, fromSdkError, type ChatRequest, type ChatResult } from './chat.js';
import { AiCallError, type AiProvider } from './provider.js';

export interface AnthropicOptions {
  apiKey: string;
  model: string;
  /** Defaults to https://api.anthropic.com. */
  baseUrl: string | null;
  timeoutMs: number;
}

export function createAnthropicProvider(options: AnthropicOptions): AiProvider {
  const client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseUrl ?? 'https://api.anthropic.com', timeout: options.timeoutMs, maxRetries: 0 });
  const chat = async (request: ChatRequest): Promise<ChatResult> => {
    try {
      const response = await client.messages.create({
        model: options.model,
        system: request.system,
        messages: [{ role: 'user', content: request.user }],
        max_tokens: request.maxTokens,
        stream: false,
      });
      const usage = { tokensIn: response.usage?.input_tokens ?? 0, tokensOut: response.usage?.output_tokens ?? 0 };
      const text = Array.isArray(response.content) ? response.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('') : null;
      if (!text) throw new AiCallError('malformed', 'the response has no text content', undefined, usage);
      return { text, usage };
    } catch (error) {
      throw fromSdkError(error, Anthropic);
    }
  };
  return createChatProvider('anthropic', options.model, chat, async () => {
    try {
      const result = await chat({ system: 'Answer with {"ok": true}.', user: 'ping', maxTokens: 16 });
      return { ok: true, detail: `${options.model} answered (${result.usage.tokensIn + result.usage.tokensOut} tokens)` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  });
}
