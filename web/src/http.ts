/**
 * The HTTP client under web/src/api.ts: same origin, cookie session; every unsafe request echoes the
 * `uh_csrf` cookie in `x-csrf-token` (double submit); every failure becomes an `ApiError` carrying
 * the server's stable code and human message.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Per-field messages: a 400 `VALIDATION_FAILED` lists them (`details: [{ path: '/email', message }]`);
 * any other refusal about one field names it (`details: { field: 'customFields.seats' }`) and its
 * message is that field's.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  const named = (error.details as { field?: unknown } | null | undefined)?.field;
  if (!Array.isArray(error.details)) {
    if (typeof named === 'string') out[named] = error.message;
    return out;
  }
  for (const detail of error.details as unknown[]) {
    if (typeof detail !== 'object' || detail === null) continue;
    const { path, field, message } = detail as { path?: unknown; field?: unknown; message?: unknown };
    const name = typeof field === 'string' ? field : typeof path === 'string' ? path.replace(/^\//, '').split('/')[0] : undefined;
    if (name && typeof message === 'string' && !(name in out)) out[name] = message;
  }
  return out;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'The server could not be reached; check your connection and retry.';
  return error instanceof Error ? error.message : String(error);
}

let onUnauthenticated: (() => void) | undefined;
/** The session layer registers how to react when any call answers 401 (back to the login page). */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'uh_csrf') return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // A Blob (a CSV file) is streamed as is; anything else travels as JSON.
  const isBlob = typeof Blob !== 'undefined' && body instanceof Blob;
  if (body !== undefined) headers['content-type'] = isBlob ? 'text/csv' : 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: isBlob ? (body as Blob) : JSON.stringify(body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The server answered ${response.status} ${response.statusText}`,
      error?.details,
    );
    if (response.status === 401 && !path.startsWith('/auth/login') && !path.startsWith('/auth/signup')) onUnauthenticated?.();
    throw apiError;
  }
  return parsed as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
