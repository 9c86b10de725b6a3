/**
 * A process that runs only the campaign engine against DATABASE_URL, for the engine benchmark
 * and the crash tests (`tsx test/engine-worker-process.ts`; kept out of src/ so it does not ship in
 * dist). It is built by the application's
 * composition root (`createRuntime`), so the engine records its events through the same sink as
 * in production (triggers, and the event processor's queue, which another process applies); of
 * the runtime's workers only the campaign engine is started. ENGINE_BATCH_SIZE sets the batch.
 * SIGTERM stops it gracefully (the batch in hand finishes) and it prints one JSON line:
 * `{"peakRssMb": …}`.
 */
import { loadConfig } from '../src/config.js';
import { createPostgresDatabase } from '../src/db/database.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL is required\n');
  process.exit(78);
}
const db = createPostgresDatabase(config.databaseUrl, Math.min(config.databasePoolSize, 4));
const runtime = await createRuntime(config, { db, logger: createLogger(config.logLevel) });
const engine = runtime.workers.find((worker) => worker.name === 'campaign-engine');
if (!engine) throw new Error('the runtime has no campaign engine worker');
engine.start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await engine.stop();
    await runtime.close();
    await db.close();
    process.stdout.write(`${JSON.stringify({ peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
    process.exit(0);
  })();
});
