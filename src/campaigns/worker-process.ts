/**
 * A process that runs only the campaign engine against DATABASE_URL, for the engine benchmark
 * and the crash tests (`tsx src/campaigns/worker-process.ts`). SIGTERM stops it gracefully
 * (the batch in hand finishes) and it prints one JSON line: `{"peakRssMb": …}`.
 * ENGINE_BATCH_SIZE overrides the batch size.
 */
import { loadConfig } from '../config.js';
import { createPostgresDatabase } from '../db/database.js';
import { systemClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { CampaignEngine, createEngineWorker } from './engine.js';
import { createCampaignEventSink } from './sink.js';

const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL is required\n');
  process.exit(78);
}
const batchSize = Number(process.argv[2] ?? '500');
const db = createPostgresDatabase(config.databaseUrl, Math.min(config.databasePoolSize, 4));
const logger = createLogger(config.logLevel);
const sink = createCampaignEventSink({ clock: systemClock });
const engine = new CampaignEngine({ db, clock: systemClock, logger, config, random: Math.random, eventSink: () => sink }, { batchSize });
const worker = createEngineWorker(engine, { db, logger, config });
worker.start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await worker.stop();
    await db.close();
    process.stdout.write(`${JSON.stringify({ peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
    process.exit(0);
  })();
});
