/**
 * OpenAI-compatible chat completions through the official `openai` SDK. The base URL is
 * configurable, so OpenAI, Azure OpenAI (its /openai/v1 endpoint), Ollama, vLLM and LM Studio all
 * work. The SDK's own retries are off: retries, backoff and the circuit breaker are ours
 * (resilience.ts), so every attempt is bounded and counted the same way for every provider.
 */
import OpenAI from 'openai';
import { createChatProvider, fromSdkError, type ChatRequest, type ChatResult } from './chat.js';
import { AiCallError, type AiProvider } from './provider.js';

export interface OpenAiOptions {
  apiKey: string;
  model: string;
  /** e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama). */
  baseUrl: string;
  timeoutMs: number;
}

export function createOpenAiProvider(options: OpenAiOptions): AiProvider {
  // Everything explicit: the SDK would otherwise fill organization and project from OPENAI_* variables.
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseUrl, organization: null, project: null, timeout: options.timeoutMs, maxRetries: 0 });
  const chat = async (request: ChatRequest): Promise<ChatResult> => {
    try {
      const response = await client.chat.completions.create({
        model: options.model,
        messages: [
          { role: 'system', content: request.system },
          { role: 'user', content: request.user },
        ],
        max_tokens: request.maxTokens,
        temperature: 0.4,
        stream: false,
      });
      const usage = { tokensIn: response.usage?.prompt_tokens ?? 0, tokensOut: response.usage?.completion_tokens ?? 0 };
      const text = response.choices?.[0]?.message?.content;
      if (typeof text !== 'string') throw new AiCallError('malformed', 'the response has no message content', undefined, usage);
      return { text, usage };
    } catch (error) {
      throw fromSdkError(error, OpenAI);
    }
  };
  return createChatProvider('openai', options.model, chat, async () => {
    try {
      const result = await chat({ system: 'Answer with {"ok": true}.', user: 'ping', maxTokens: 16 });
      return { ok: true, detail: `${options.model} answered (${result.usage.tokensIn + result.usage.tokensOut} tokens)` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  });
}
