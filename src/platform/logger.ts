/**
 * Structured logs (pino). Secrets and personal data are redacted by path, so a password, token,
 * cookie or API key never reaches a log line whatever the log level.
 */
import pino, { type Logger } from 'pino';
import { reportingHook, type ErrorReporter } from './sentry.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'smtpUrl',
  '*.smtpUrl',
  'databaseUrl',
  '*.databaseUrl',
  'credentials',
  '*.credentials',
];

/** With `reporter`, error-level lines are also reported to error monitoring (platform/sentry.ts). */
export function createLogger(level: string, destination?: pino.DestinationStream, reporter?: ErrorReporter): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, ...(reporter ? { hooks: { logMethod: reportingHook(reporter) } } : {}) }, destination);
}

export type { Logger };
