/**
 * Error monitoring: with SENTRY_DSN set, every error-level log line (the HTTP error handler's bare
 * 500s, a worker's failed batch, a parked queue batch) and every uncaught exception or unhandled
 * rejection goes to Sentry, tagged with the request id (when the line belongs to a request), the
 * release and the process role. `@sentry/node` is imported only then, so a process without a DSN
 * never loads it. What leaves the process is scrubbed (`scrubEvent`): no email addresses,
 * cookies, authorization or CSRF headers, request bodies, query strings, users or secrets.
 */
import type { ErrorEvent, EventHint } from '@sentry/node';
import type { ProcessRole } from '../config.js';

export interface ErrorReporter {
  /** Reports one error; `context.requestId` links it to the request's log lines and x-request-id. */
  capture(error: unknown, context: { requestId?: string; message?: string }): void;
  /** Waits (at most `timeoutMs`) until what was reported has been sent. */
  flush(timeoutMs: number): Promise<void>;
}

export interface SentryOptions {
  dsn: string;
  release: string;
  role: ProcessRole;
  environment: string;
}

const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** Keys whose values never leave the process, wherever they appear in an event. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|credential|dsn|session|csrf|smtp_?url|database_?url|^email$/i;

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(EMAIL, '[email]');
  if (depth > 12 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : scrubValue(item, depth + 1);
  return out;
}

/** beforeSend: strips personal data and secrets from an event before it is sent. */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  delete event.user;
  if (event.request) {
    // Method and path only: no body, cookies, headers or query string (tokens ride in some URLs).
    event.request = {
      ...(event.request.method ? { method: event.request.method } : {}),
      ...(event.request.url ? { url: event.request.url.split('?')[0]!.replace(EMAIL, '[email]') } : {}),
    };
  }
  return scrubValue(event, 0) as ErrorEvent;
}

/** Loads `@sentry/node` and starts its client; the returned reporter sends through it. */
export async function createSentryReporter(options: SentryOptions): Promise<ErrorReporter> {
  const Sentry = await import('@sentry/node');
  Sentry.init({
    dsn: options.dsn,
    release: options.release,
    environment: options.environment,
    sendDefaultPii: false,
    // Errors only: no tracing, no OpenTelemetry auto-instrumentation, no request capture.
    skipOpenTelemetrySetup: true,
    defaultIntegrations: false,
    integrations: [
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
      Sentry.onUncaughtExceptionIntegration({ exitEvenIfOtherHandlersAreRegistered: false }),
      Sentry.onUnhandledRejectionIntegration({ mode: 'strict' }),
    ],
    beforeSend: (event: ErrorEvent, _hint: EventHint) => scrubEvent(event),
    beforeBreadcrumb: () => null,
  });
  Sentry.setTag('role', options.role);
  return {
    capture(error, context) {
      // Tags of this event only (a capture context, not a shared scope).
      Sentry.captureException(error instanceof Error ? error : new Error(context.message ?? String(error)), {
        tags: context.requestId ? { request_id: context.requestId } : {},
        extra: context.message ? { log_message: context.message } : {},
      });
    },
    async flush(timeoutMs) {
      await Sentry.flush(timeoutMs);
    },
  };
}

/**
 * The pino `logMethod` hook that reports error-level lines: the `err` of the line (or its message)
 * with the request id the line is bound to (Fastify binds `reqId` to each request's logger).
 */
export function reportingHook(reporter: ErrorReporter) {
  return function logMethod(this: { bindings(): Record<string, unknown> }, args: unknown[], method: (...args: unknown[]) => void, level: number): void {
    if (level >= 50) {
      try {
        const [first, second] = args;
        const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
        const message = typeof first === 'string' ? first : typeof second === 'string' ? second : undefined;
        const error = fields.err ?? (first instanceof Error ? first : undefined);
        const requestId = this.bindings().reqId;
        reporter.capture(error ?? new Error(message ?? 'error logged'), { ...(typeof requestId === 'string' ? { requestId } : {}), ...(message ? { message } : {}) });
      } catch {
        // Reporting must never break logging.
      }
    }
    method.apply(this, args);
  };
}
