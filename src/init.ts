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
import { WorkHolder } from './db/holder.js';
import { migrate } from './db/migrate.js';
import { combineEventSinks, type EventSink } from './core/events.js';
import { createEventProcessor, eventWorkSink, type EventProcessor } from './events/processor.js';
import { CampaignEngine, createEngineWorker } from './campaigns/engine.js';
import { createCampaignEventSink } from './campaigns/sink.js';
import { createWebhookWorker, nodeWebhookClient, systemDnsResolver, type DnsResolver, type WebhookHttpClient } from './campaigns/webhooks.js';
import { createAiServices } from './ai/ai.js';
import { createMessagePersonalizer } from './ai/variants.js';
import { createEmailServices } from './email/email.js';
import { emailDeliveryCheck } from './email/email-health.js';
import type { EmailProvider } from './email/provider.js';
import type { HttpClient } from './email/providers/http.js';
import { databaseCheck } from './health/health.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createMetrics } from './platform/metrics.js';
import { RulesReplyClassifier } from './scoring/classifier.js';
import { createLeadScoring } from './scoring/scoring.js';

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
  appSecret: string;
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
  /** Outbound HTTP and DNS of campaign webhooks. */
  webhookHttp?: WebhookHttpClient;
  dns?: DnsResolver;
  /** Replaces the configured email provider (tests, benchmarks). */
  emailProvider?: EmailProvider;
  /** Outbound HTTP for the email provider APIs (tests). */
  emailHttp?: HttpClient;
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
    return createPostgresDatabase(config.databaseUrl, config.databasePoolSize, logger && { warn: (message, err) => logger.warn({ err }, message), info: (message) => logger.info(message) });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return createPgliteDatabase(path.join(config.dataDir, 'pglite'));
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
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

  const ai = createAiServices({ db, clock, logger }, { appSecret, random: overrides.random ?? Math.random, ...(overrides.aiSleep ? { sleep: overrides.aiSleep } : {}) });
  const personalize = createMessagePersonalizer({ db, clock, logger, ...ai });
  const base: Omit<AppDeps, 'email'> = {
    config,
    db,
    clock,
    logger,
    eventSink,
    metrics: createMetrics(),
    healthChecks: [databaseCheck(db)],
    isShuttingDown: () => shuttingDown,
    dns: overrides.dns ?? systemDnsResolver,
    ai,
  };
  // The same object: services that read deps.eventSink later see a sink wired after them.
  const deps: AppDeps = Object.assign(base, { email: createEmailServices(base, { appSecret, personalize, holder, ...(overrides.emailProvider ? { provider: overrides.emailProvider } : {}), ...(overrides.emailHttp ? { http: overrides.emailHttp } : {}) }) });
  workers.push(deps.email.sender);
  deps.healthChecks.push(emailDeliveryCheck(db, clock, deps.email.providers));
  const campaignEngine = new CampaignEngine({ db, clock, logger, config, random: overrides.random ?? Math.random, eventSink: () => deps.eventSink }, { batchSize: config.engineBatchSize });
  workers.push(createEngineWorker(campaignEngine, { db, logger, config }));
  const eventProcessor = createEventProcessor({ db, clock, logger, config, scoring: createLeadScoring(new RulesReplyClassifier()), eventSink: () => deps.eventSink });
  workers.push(eventProcessor);
  workers.push(createWebhookWorker({ db, clock, logger, http: overrides.webhookHttp ?? nodeWebhookClient, holder, dns: deps.dns, random: overrides.random ?? Math.random }, config.workerPollMs));

  return {
    deps,
    workers,
    eventProcessor,
    holder,
    appSecret,
    async close() {
      shuttingDown = true;
      await Promise.all(workers.map((worker) => worker.stop()));
      // After the workers finished what they held: anything still claimed becomes reclaimable.
      await holder.release();
      if (ownsDb) await db.close();
    },
  };
}
