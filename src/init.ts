/**
 * The composition root: the one place that turns configuration into a database, providers, a
 * clock, workers and the HTTP app's dependencies. Nothing else reads process.env or builds
 * singletons; tests call `createRuntime` with their own config and clock.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppDeps } from './app.js';
import type { Config } from './config.js';
import { createPgliteDatabase, createPostgresDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createEmailServices } from './email/email.js';
import { emailDeliveryCheck } from './email/email-health.js';
import type { EmailProvider } from './email/provider.js';
import type { HttpClient } from './email/providers/http.js';
import { NO_EVENT_SINK } from './events/events.js';
import { databaseCheck } from './health/health.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/logger.js';

/** Something that runs in the background until stopped (engine worker, email sender). */
export interface BackgroundWorker {
  name: string;
  start(): void;
  /** Stops claiming new work and resolves once the work in hand is finished. */
  stop(): Promise<void>;
}

export interface Runtime {
  deps: AppDeps;
  workers: BackgroundWorker[];
  appSecret: string;
  /** Stops the workers (finishing in-flight work) and closes the database. */
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  logger?: Logger;
  /** An already open database (tests); it is not closed by `close()`. */
  db?: Database;
  /** Replaces the configured email provider (tests, benchmarks). */
  emailProvider?: EmailProvider;
  /** Outbound HTTP for the email provider APIs (tests). */
  emailHttp?: HttpClient;
}

/** With no APP_SECRET, keep a generated secret beside the embedded data so signed links survive restarts. */
export function resolveAppSecret(config: Config): string {
  if (config.appSecret) return config.appSecret;
  const file = path.join(config.dataDir, '.app-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export async function openDatabase(config: Config): Promise<Database> {
  if (config.databaseUrl) return createPostgresDatabase(config.databaseUrl, config.databasePoolSize);
  mkdirSync(config.dataDir, { recursive: true });
  return createPgliteDatabase(path.join(config.dataDir, 'pglite'));
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? systemClock;
  const ownsDb = !overrides.db;
  const db = overrides.db ?? (await openDatabase(config));
  // The embedded database has a single process by definition, so it migrates itself at start.
  if (db.kind === 'pglite') {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const appSecret = resolveAppSecret(config);
  let shuttingDown = false;

  const workers: BackgroundWorker[] = [];

  const base: Omit<AppDeps, 'email'> = {
    config,
    db,
    clock,
    logger,
    eventSink: NO_EVENT_SINK,
    healthChecks: [databaseCheck(db)],
    isShuttingDown: () => shuttingDown,
  };
  // The same object: services that read deps.eventSink later see a sink wired after them.
  const deps: AppDeps = Object.assign(base, { email: createEmailServices(base, { appSecret, ...(overrides.emailProvider ? { provider: overrides.emailProvider } : {}), ...(overrides.emailHttp ? { http: overrides.emailHttp } : {}) }) });
  workers.push(deps.email.sender);
  deps.healthChecks.push(emailDeliveryCheck(db, clock, deps.email.providers));

  return {
    deps,
    workers,
    appSecret,
    async close() {
      shuttingDown = true;
      await Promise.all(workers.map((worker) => worker.stop()));
      if (ownsDb) await db.close();
    },
  };
}
