/**
 * The only module that reads the environment. `loadConfig` validates every variable once and
 * returns a frozen object; a bad value stops the process with a message naming the variable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { parseSmtpUrl } from './email/smtp-url.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type ProcessRole = 'all' | 'api' | 'worker';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  readonly host: string;
  /** Public base URL used in links inside emails (tracking, unsubscribe). */
  readonly publicUrl: string;
  /** `postgres://…` selects PostgreSQL; undefined selects embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly databasePoolSize: number;
  /** The longest a statement waits for a pooled connection before the request is refused with 503 (DATABASE_POOL_WAIT_MS; 0: no bound). */
  readonly databasePoolWaitMs: number;
  /**
   * Connections the kernel queues for this process to accept (LISTEN_BACKLOG; capped by
   * net.core.somaxconn). Node's default, 511, overflows under bursts of new connections: the
   * kernel then drops SYNs and clients wait 1, 3, 7 s for their retransmission (docs/load.md).
   */
  readonly listenBacklog: number;
  /** Event-loop delay past which the API refuses new requests with 503 (MAX_EVENT_LOOP_DELAY_MS; 0: never). */
  readonly maxEventLoopDelayMs: number;
  readonly role: ProcessRole;
  readonly logLevel: string;
  /**
   * Secret for signing tracking links and encrypting provider credentials. When unset, the
   * composition root keeps a generated one in `dataDir` so links survive restarts.
   */
  readonly appSecret: string | undefined;
  readonly smtpUrl: string | undefined;
  readonly emailFrom: string;
  readonly bodyLimitBytes: number;
  readonly webDist: string;
  readonly secureCookies: boolean;
  readonly loginRateLimitPerMinute: number;
  /**
   * Addresses and CIDRs of the reverse proxies whose X-Forwarded-For / -Proto / -Host are believed
   * (TRUST_PROXY); empty: none, the client address is the socket's.
   */
  readonly trustProxy: readonly string[];
  /** Bearer token /metrics requires, and that shows /health/deep's details (METRICS_TOKEN); undefined: /metrics is open. */
  readonly metricsToken: string | undefined;
  /** Whether workspace SMTP providers may point at private, loopback or link-local hosts (SMTP_ALLOW_PRIVATE_HOSTS). */
  readonly smtpAllowPrivateHosts: boolean;
  /** URL prefixes a Guardian Slack channel may use (GUARDIAN_SLACK_URL_PREFIXES, comma-separated); Slack's incoming webhooks by default. */
  readonly guardianSlackUrlPrefixes: readonly string[];
  /** Whether Guardian webhook channels may point at private, loopback or link-local hosts (GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS). */
  readonly guardianWebhookAllowPrivateHosts: boolean;
  readonly workerPollMs: number;
  /** How long the event processor waits after a wake-up before claiming, to claim bursts together (EVENT_GATHER_MS). */
  readonly eventGatherMs: number;
  /** Enrollments the campaign engine claims per transaction. */
  readonly engineBatchSize: number;
  readonly shutdownTimeoutMs: number;
  /** Requests per minute by tier (src/http/rate-limits.ts); 0 turns a tier off. */
  readonly rateLimits: { readonly apiKeyPerMinute: number; readonly workspacePerMinute: number; readonly writeKeyPerMinute: number; readonly publicIpPerMinute: number };
  /** Redis shared by all processes for rate-limit counters (REDIS_URL); undefined: counted per process. */
  readonly redisUrl: string | undefined;
  /** Sentry DSN (SENTRY_DSN); undefined: no error monitoring, @sentry/node is never loaded. */
  readonly sentryDsn: string | undefined;
  /** The release reported with errors (SENTRY_RELEASE; default `unite-hub@<package.json version>`). */
  readonly release: string;
  /** How often each Guardian rule is evaluated (GUARDIAN_EVAL_INTERVAL, seconds; default 60). */
  readonly guardianEvalIntervalMs: number;
}

/** GUARDIAN_SLACK_URL_PREFIXES: each an http(s) URL prefix; Slack's incoming-webhook base by default. */
function slackPrefixes(env: Env): string[] {
  const raw = env.GUARDIAN_SLACK_URL_PREFIXES;
  if (!raw || raw.trim() === '') return ['https://hooks.slack.com/services/'];
  const prefixes = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const prefix of prefixes) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(prefix);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || !prefix.endsWith('/')) {
      throw new ConfigError('GUARDIAN_SLACK_URL_PREFIXES', `"${prefix}" must be an http(s) URL ending with /`);
    }
  }
  return prefixes;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: comma-separated IP addresses, CIDRs, or loopback / linklocal / uniquelocal. */
function proxyList(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '' || raw === 'false') return [];
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) {
    const ok = PROXY_NAMES.includes(entry) || ipaddr.isValid(entry) || (entry.includes('/') && (() => {
      try {
        ipaddr.parseCIDR(entry);
        return true;
      } catch {
        return false;
      }
    })());
    if (!ok) throw new ConfigError(name, `must list IP addresses or CIDRs (or loopback, linklocal, uniquelocal), separated by commas; "${entry}" is neither`);
  }
  return entries;
}

/** SMTP_URL, checked for what the connection will make of it (smtp-url.ts). */
function smtpUrl(env: Env): string | undefined {
  const raw = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  if (raw === undefined) return undefined;
  try {
    parseSmtpUrl(raw);
  } catch (error) {
    throw new ConfigError('SMTP_URL', (error as Error).message);
  }
  return raw;
}

/** `unite-hub@<version>` from the package.json of the working directory. */
function packageRelease(cwd: string): string {
  try {
    const { name, version } = JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return `${name ?? 'unite-hub'}@${version ?? 'unknown'}`;
  } catch {
    return 'unite-hub@unknown';
  }
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const port = int(env, 'PORT', 3008, 0, 65535);
  const host = env.HOST && env.HOST !== '' ? env.HOST : '0.0.0.0';
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const secret = env.APP_SECRET;
  if (secret !== undefined && secret !== '' && secret.length < 32) {
    throw new ConfigError('APP_SECRET', 'must be at least 32 characters');
  }
  if (nodeEnv === 'production' && (secret === undefined || secret === '')) {
    throw new ConfigError('APP_SECRET', 'is required when NODE_ENV=production');
  }
  const role = oneOf(env, 'UNITE_ROLE', ['all', 'api', 'worker'] as const, 'all');
  if (role !== 'all' && !databaseUrl) {
    // The embedded database belongs to one process; splitting roles needs a shared PostgreSQL.
    throw new ConfigError('UNITE_ROLE', `"${role}" needs DATABASE_URL: the embedded database serves a single process`);
  }
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`;
  const emailFrom = env.EMAIL_FROM && env.EMAIL_FROM !== '' ? env.EMAIL_FROM : 'Unite Hub <no-reply@unitehub.local>';
  if (!/@/.test(emailFrom)) throw new ConfigError('EMAIL_FROM', 'must contain an email address');

  const metricsToken = env.METRICS_TOKEN && env.METRICS_TOKEN !== '' ? env.METRICS_TOKEN : undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');

  const config: Config = {
    nodeEnv,
    port,
    host,
    publicUrl: publicUrl.replace(/\/$/, ''),
    databaseUrl,
    dataDir: path.resolve(cwd, env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : 'data'),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    databasePoolWaitMs: int(env, 'DATABASE_POOL_WAIT_MS', 3_000, 0, 600_000),
    listenBacklog: int(env, 'LISTEN_BACKLOG', 4_096, 1, 65_535),
    // Off under test: a test process compiles modules and runs suites on the loop it would measure.
    maxEventLoopDelayMs: int(env, 'MAX_EVENT_LOOP_DELAY_MS', nodeEnv === 'test' ? 0 : 250, 0, 60_000),
    role,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, nodeEnv === 'test' ? 'silent' : 'info'),
    appSecret: secret && secret !== '' ? secret : undefined,
    smtpUrl: smtpUrl(env),
    emailFrom,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    webDist: path.resolve(cwd, 'dist/web'),
    secureCookies: oneOf(env, 'SECURE_COOKIES', ['true', 'false'] as const, nodeEnv === 'production' ? 'true' : 'false') === 'true',
    loginRateLimitPerMinute: int(env, 'LOGIN_RATE_LIMIT_PER_MINUTE', 10, 1, 10_000),
    trustProxy: Object.freeze(proxyList(env, 'TRUST_PROXY')),
    metricsToken,
    smtpAllowPrivateHosts: oneOf(env, 'SMTP_ALLOW_PRIVATE_HOSTS', ['true', 'false'] as const, 'false') === 'true',
    guardianSlackUrlPrefixes: Object.freeze(slackPrefixes(env)),
    guardianWebhookAllowPrivateHosts: oneOf(env, 'GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS', ['true', 'false'] as const, 'false') === 'true',
    workerPollMs: int(env, 'WORKER_POLL_MS', 500, 10, 60_000),
    eventGatherMs: int(env, 'EVENT_GATHER_MS', 20, 0, 1000),
    engineBatchSize: int(env, 'ENGINE_BATCH_SIZE', 500, 1, 10_000),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 15_000, 100, 600_000),
    rateLimits: Object.freeze({
      apiKeyPerMinute: int(env, 'RATE_LIMIT_API_KEY_PER_MINUTE', 600_000, 0, 10_000_000),
      workspacePerMinute: int(env, 'RATE_LIMIT_WORKSPACE_PER_MINUTE', 1_200_000, 0, 10_000_000),
      writeKeyPerMinute: int(env, 'RATE_LIMIT_WRITE_KEY_PER_MINUTE', 300_000, 0, 10_000_000),
      publicIpPerMinute: int(env, 'RATE_LIMIT_PUBLIC_IP_PER_MINUTE', 300_000, 0, 10_000_000),
    }),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    sentryDsn: url(env, 'SENTRY_DSN', ['http:', 'https:']),
    release: env.SENTRY_RELEASE && env.SENTRY_RELEASE !== '' ? env.SENTRY_RELEASE : packageRelease(cwd),
    guardianEvalIntervalMs: int(env, 'GUARDIAN_EVAL_INTERVAL', 60, 5, 3600) * 1000,
  };
  return Object.freeze(config);
}
