/**
 * Process entry: reads the config, builds the runtime and the app, listens, and shuts down
 * gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests and engine steps,
 * close the database).
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createRuntime } from './init.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const runtime = await createRuntime(config);
  const { logger } = runtime.deps;
  const serveHttp = config.role !== 'worker';
  const runWorkers = config.role !== 'api';

  const app = serveHttp ? await buildApp(runtime.deps) : undefined;
  if (runWorkers) for (const worker of runtime.workers) worker.start();
  // Every role reports its heartbeat, breakers and HTTP counts for Guardian (src/guardian/monitor.ts).
  runtime.processMonitor.start(config.role, runWorkers ? runtime.workers.map((w) => w.name) : []);
  if (app) await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  logger.info({ role: config.role, database: runtime.deps.db.kind, url: config.publicUrl }, 'Unite Hub started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      // app.close() stops accepting connections and waits for in-flight requests.
      if (app) await app.close();
      await runtime.close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Unite Hub failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
