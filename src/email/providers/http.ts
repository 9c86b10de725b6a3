/**
 * Outbound HTTP for the email provider APIs, behind one injected function so tests point it at
 * local servers. Every call has a timeout; outcomes are classified the same way for every
 * provider:
 * - an answer: 2xx accepted; 408, 429 (with Retry-After) and 5xx transient; 401/403 transient too
 *   (a credential problem of this provider, so the router fails over and the breaker opens,
 *   rather than dropping the message); other 4xx permanent. An answer is always certain.
 * - no connection (refused, unknown host, unreachable network, connect timeout, TLS failure):
 *   transient — the request never reached the provider.
 * - no answer after connecting (our timeout, a reset or closed socket): ambiguous — the request
 *   may have been received and acted on (see provider.ts).
 */
import { ProviderError, type HandOff } from '../provider.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type HttpClient = (request: HttpRequest) => Promise<HttpResponse>;

export class HttpTimeoutError extends Error {
  constructor(url: string, timeoutMs: number) {
    super(`no answer from ${new URL(url).host} within ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}

export const fetchHttp: HttpClient = async (request) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  try {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body ?? null, signal: controller.signal, redirect: 'error' });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    return { status: response.status, headers, body: await response.text() };
  } catch (error) {
    if (controller.signal.aborted) throw new HttpTimeoutError(request.url, request.timeoutMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
};

/** Retry-After as seconds or an HTTP date, in milliseconds from `now`. */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Error codes (Node and undici) that mean no connection was made, so nothing was sent. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The system error code of a failed fetch (undici puts it on `cause`, sometimes nested). */
function networkCodeOf(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** A call that got no answer: transient when no connection was made, otherwise ambiguous. */
export function classifyNetworkError(provider: string, error: unknown): ProviderError {
  const code = error instanceof HttpTimeoutError ? null : networkCodeOf(error);
  const text = error instanceof Error ? error.message : String(error);
  const detail = `${provider}: ${text}${code && !text.includes(code) ? ` (${code})` : ''}`;
  if (code && NOT_CONNECTED.has(code)) return new ProviderError('transient', detail);
  return new ProviderError('ambiguous', `${detail} — the request was sent and no answer came back; the provider may have accepted it`);
}

/**
 * Sends and returns the accepted response, or throws a classified ProviderError. A send passes
 * `handOff` (SendOptions): the request leaves only once it resolved.
 */
export async function callProvider(
  http: HttpClient,
  provider: string,
  request: HttpRequest,
  describeError: (response: HttpResponse) => string,
  handOff?: { to: HandOff; mark: ((to: HandOff) => Promise<void>) | undefined },
): Promise<HttpResponse> {
  await handOff?.mark?.(handOff.to);
  let response: HttpResponse;
  try {
    response = await http(request);
  } catch (error) {
    throw classifyNetworkError(provider, error);
  }
  if (response.status >= 200 && response.status < 300) return response;
  const detail = `${provider} ${response.status}: ${describeError(response)}`.slice(0, 1000);
  if (response.status === 429) throw new ProviderError('transient', detail, retryAfterMs(response.headers['retry-after']));
  if (response.status === 408 || response.status >= 500 || response.status === 401 || response.status === 403) throw new ProviderError('transient', detail);
  throw new ProviderError('permanent', detail);
}

export function jsonOf(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** `Name <a@b>` → { name, email }. */
export function parseMailbox(mailbox: string): { name: string | null; email: string } {
  const match = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(mailbox);
  if (!match) return { name: null, email: mailbox.trim() };
  const name = match[1]!.replace(/^"|"$/g, '').trim();
  return { name: name === '' ? null : name, email: match[2]!.trim() };
}
