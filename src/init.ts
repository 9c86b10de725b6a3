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
import { ApiKeyCache } from './identity/api-key-cache.js';
import { SessionCache } from './identity/session-cache.js';
import { WriteKeyCache } from './events/write-key-cache.js';
import { WorkHolder } from './db/holder.js';
import { migrate } from './db/migrate.js';
import { combineEventSinks, type EventSink } from './core/events.js';
import { createEventProcessor, eventWorkSink, type EventProcessor } from './events/processor.js';
import { CampaignEngine, createEngineWorker } from './campaigns/engine.js';
import { createCampaignEventSink } from './campaigns/sink.js';
import { createWebhookWorker, nodeWebhookClient, systemDnsResolver, type DnsResolver, type WebhookHttpClient } from './campaigns/webhooks.js';
import { createAiServices } from './ai/ai.js';
import { aiProviderCheck } from './ai/ai-health.js';
import { ModelReplyClassifier } from './ai/classify.js';
import { createMessagePersonalizer, personalizeClaimedWith } from './ai/send-time.js';
import { createEmailServices } from './email/email.js';
import { emailDeliveryCheck } from './email/email-health.js';
import { CredentialVault } from './email/provider-settings.js';
import { createGuardianNotifier } from './guardian/notifier.js';
import type { EmailProvider } from './email/provider.js';
import type { HttpClient } from './email/providers/http.js';
import { createEvaluatorWorker, GuardianEvaluator } from './guardian/evaluator.js';
import { openCircuitProviders } from './guardian/signals.js';
import { guardianHttpClient } from './guardian/http-client.js';
import { createProcessMonitor, type ProcessMonitor } from './guardian/monitor.js';
import { databaseCheck } from './health/health.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createMetrics } from './platform/metrics.js';
import { createSentryReporter, type ErrorReporter } from './platform/sentry.js';
import { createLeadScoring } from './scoring/scoring.js';
import { createAnalyticsFolder, type AnalyticsFolder } from './analytics/rollup.js';
import { createEmbeddedAutovacuum } from './db/maintenance.js';

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
  /** Lead scores and segment membership, applied after the producers commit (one of `workers`). */
  eventProcessor: EventProcessor;
  /** This process as the holder of claimed email and webhook work; released by `close()`. */
  holder: WorkHolder;
  /** Folds the analytics ledger into the rollups (one of `workers`); tests and benchmarks drain it. */
  analyticsFolder: AnalyticsFolder;
  /** Guardian's rule evaluator (one of `workers`); tests and benchmarks run its batches directly. */
  guardianEvaluator: GuardianEvaluator;
  /** This process's heartbeat, circuit states and HTTP counts for Guardian; `server.ts` starts it in every role. */
  processMonitor: ProcessMonitor;
  appSecret: string;
  /** Where errors are reported (Sentry with SENTRY_DSN); flushed by `close()`. */
  errorReporter: ErrorReporter | undefined;
  /** Stops the workers (finishing in-flight work) and closes the database. */
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  logger?: Logger;
  /** An already open database (tests); it is not closed by `close()`. */
  db?: Database;
  /** Randomness (retry jitter), in [0, 1). */
  random?: () => number;
  /** Outbound HTTP and DNS of campaign webhooks and of Guardian's Slack and webhook channels. */
  webhookHttp?: WebhookHttpClient;
  dns?: DnsResolver;
  /** Replaces the configured email provider (tests, benchmarks). */
  emailProvider?: EmailProvider;
  /** Outbound HTTP for the email provider APIs (tests). */
  emailHttp?: HttpClient;
  /** Error monitoring (tests); otherwise Sentry when SENTRY_DSN is set. */
  errorReporter?: ErrorReporter;
  /** Waits between AI provider retries (tests shorten them). */
  aiSleep?: (ms: number) => Promise<void>;
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

export async function openDatabase(config: Config, logger?: Logger): Promise<Database> {
  if (config.databaseUrl) {
    return createPostgresDatabase(config.databaseUrl, config.databasePoolSize, logger && { warn: (message, err) => logger.warn({ err }, message), info: (message) => logger.info(message) }, { connectionWaitMs: config.databasePoolWaitMs });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return createPgliteDatabase(path.join(config.dataDir, 'pglite'));
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const errorReporter = overrides.errorReporter ?? (config.sentryDsn ? await createSentryReporter({ dsn: config.sentryDsn, release: config.release, role: config.role, environment: config.nodeEnv }) : undefined);
  const logger = overrides.logger ?? createLogger(config.logLevel, undefined, errorReporter);
  const clock = overrides.clock ?? systemClock;
  const ownsDb = !overrides.db;
  const db = overrides.db ?? (await openDatabase(config, logger));
  // The embedded database has a single process by definition, so it migrates itself at start.
  if (db.kind === 'pglite') {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  const appSecret = resolveAppSecret(config);
  let shuttingDown = false;

  const workers: BackgroundWorker[] = [];
  const holder = new WorkHolder(db);

  // Every stored event goes, in its producer's transaction, to the campaign engine (triggers,
  // waits, goals) and to the event processor's queue. The processor (a worker) then applies the
  // lead score and segment membership, and records what they derive (band crossings, segment
  // entries and exits) through this same sink, so the engine sees those too.
  const eventSink: EventSink = combineEventSinks(createCampaignEventSink({ clock }), eventWorkSink);

  // Rate-limit counters shared by every process (src/http/rate-limits.ts).
  const redis = config.redisUrl ? new (await import('ioredis')).Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }) : undefined;
  redis?.on('error', (error: Error) => logger.warn({ err: error }, 'redis unavailable; rate limits pass requests meanwhile'));
  const ai = createAiServices({ db, clock, logger }, { appSecret, random: overrides.random ?? Math.random, ...(overrides.aiSleep ? { sleep: overrides.aiSleep } : {}) });
  const personalize = personalizeClaimedWith(createMessagePersonalizer({ db, clock, logger, service: ai.service }));
  // Set once the email services exist (their breakers are what it reports).
  let circuitStates: () => Array<{ providerId: string; state: string }> = () => [];
  const processMonitor = createProcessMonitor({ db, clock, logger }, { intervalMs: 5000, circuitStates: () => circuitStates() });
  const dns = overrides.dns ?? systemDnsResolver;
  const guardianNotify = createGuardianNotifier(
    {
      db,
      clock,
      logger,
      holder,
      vault: new CredentialVault(appSecret),
      http: overrides.webhookHttp ?? guardianHttpClient,
      dns,
      random: overrides.random ?? Math.random,
      policy: { slackUrlPrefixes: config.guardianSlackUrlPrefixes, allowPrivateHosts: config.guardianWebhookAllowPrivateHosts },
      emailFrom: config.emailFrom,
      publicUrl: config.publicUrl,
    },
    config.workerPollMs,
  );
  const base: Omit<AppDeps, 'email'> = {
    config,
    db,
    clock,
    logger,
    eventSink,
    metrics: createMetrics(),
    healthChecks: [databaseCheck(db)],
    isShuttingDown: () => shuttingDown,
    dns,
    ai,
    processMonitor,
    guardianNotify,
    apiKeys: new ApiKeyCache(),
    sessions: new SessionCache(),
    writeKeys: new WriteKeyCache(),
    ...(redis ? { redis } : {}),
  };
  // The same object: services that read deps.eventSink later see a sink wired after them.
  const deps: AppDeps = Object.assign(base, {
    email: createEmailServices(base, { appSecret, personalize, holder, ...(overrides.emailProvider ? { provider: overrides.emailProvider } : {}), ...(overrides.emailHttp ? { http: overrides.emailHttp } : {}) }),
  });
  workers.push(deps.email.sender);
  circuitStates = () => deps.email.providers.circuitStates();
  deps.healthChecks.push(emailDeliveryCheck(db, clock, deps.email.providers, (now) => openCircuitProviders(db, now)), aiProviderCheck(db, clock, ai.settings));
  const campaignEngine = new CampaignEngine({ db, clock, logger, config, random: overrides.random ?? Math.random, eventSink: () => deps.eventSink }, { batchSize: config.engineBatchSize });
  workers.push(createEngineWorker(campaignEngine, { db, logger, config }));
  const eventProcessor = createEventProcessor({ db, clock, logger, config, scoring: createLeadScoring(new ModelReplyClassifier({ service: ai.service, logger })), eventSink: () => deps.eventSink });
  workers.push(eventProcessor);
  const analyticsFolder = createAnalyticsFolder({ db, logger }, 1000);
  workers.push(analyticsFolder);
  const guardianEvaluator = new GuardianEvaluator({ db, clock, logger }, { intervalMs: config.guardianEvalIntervalMs });
  workers.push(createEvaluatorWorker(guardianEvaluator, { db, logger }, Math.min(1000, config.guardianEvalIntervalMs)));
  workers.push(guardianNotify.worker);
  workers.push(createWebhookWorker({ db, clock, logger, http: overrides.webhookHttp ?? nodeWebhookClient, holder, dns: deps.dns, random: overrides.random ?? Math.random }, config.workerPollMs));
  // PostgreSQL in single-user mode has no autovacuum: the embedded database is kept analyzed and
  // vacuumed by the process itself (db/maintenance.ts).
  if (db.kind === 'pglite') workers.push(createEmbeddedAutovacuum({ db, logger }));

  return {
    deps,
    workers,
    eventProcessor,
    analyticsFolder,
    holder,
    guardianEvaluator,
    processMonitor,
    appSecret,
    errorReporter,
    async close() {
      shuttingDown = true;
      await Promise.all(workers.map((worker) => worker.stop()));
      await processMonitor.stop();
      // After the workers finished what they held: anything still claimed becomes reclaimable.
      await holder.release();
      if (ownsDb) await db.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await errorReporter?.flush(2_000);
    },
  };
}
