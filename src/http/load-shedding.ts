/**
 * Load shedding on event-loop delay, the bound @fastify/under-pressure applies: the delay is
 * sampled (perf_hooks.monitorEventLoopDelay) and, while its mean over the last interval exceeds
 * `maxEventLoopDelayMs`, every new request except the health probes is answered at once with 503
 * SERVICE_UNAVAILABLE and `Retry-After: 1`, before authentication, parsing or any query. Past
 * capacity the process then serves the requests it admitted on time instead of serving every
 * request late (after its client gave up). The other bound, on waiting for a database connection,
 * is the pool's (DATABASE_POOL_WAIT_MS, src/db/database.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './errors.js';

export interface LoadSheddingOptions {
  /** Mean event-loop delay (ms) over one sample interval past which requests are refused; 0: never. */
  maxEventLoopDelayMs: number;
  /** How often the delay is sampled (ms). */
  sampleIntervalMs?: number;
}

const RESOLUTION_MS = 10;
const BODY: ErrorBody = { error: { code: 'SERVICE_UNAVAILABLE', message: 'The server is busy right now; try again shortly' } };

export function registerLoadShedding(app: FastifyInstance, options: LoadSheddingOptions): void {
  if (options.maxEventLoopDelayMs <= 0) return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  let overloaded = false;
  let timer: NodeJS.Timeout | undefined;
  // Measured from the moment the app is ready: start-up (loading modules, compiling) blocks the
  // loop for long stretches that say nothing about the load.
  app.addHook('onReady', async () => {
    histogram.enable();
    timer = setInterval(() => {
      // The histogram's mean includes the sampling resolution itself.
      const delayMs = Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
      overloaded = Number.isFinite(delayMs) && delayMs > options.maxEventLoopDelayMs;
      histogram.reset();
    }, options.sampleIntervalMs ?? 500);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    histogram.disable();
  });
  // Not async: it runs first on every request and waits for nothing.
  app.addHook('onRequest', (request, reply, done) => {
    if (!overloaded || request.url.startsWith('/health')) return done();
    request.log.warn('event loop overloaded; request shed');
    reply.code(503).header('retry-after', '1').send(BODY);
  });
}
