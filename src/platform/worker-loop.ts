/**
 * The loop every background worker runs: work batch after batch while there is work, then nap
 * until a NOTIFY on its channel (delivered at the producer's commit) or the poll interval,
 * whichever comes first. A failed batch is logged and retried after a nap (its transaction rolled
 * back, so its rows are still there). `stop()` lets the batch in hand finish.
 */
import type { Database } from '../db/database.js';
import type { Logger } from './logger.js';

export interface WorkerLoop {
  start(): void;
  stop(): Promise<void>;
}

export interface WorkerLoopOptions {
  /** Used in log lines ("<name> batch failed"). */
  name: string;
  db: Pick<Database, 'listen'>;
  logger: Logger;
  channel: string;
  pollMs: number;
  /** Runs one batch; returns how many items it handled (0 makes the loop nap). */
  runBatch(): Promise<number>;
  /**
   * After a nap, how long to wait before the next batch, so that what producers commit meanwhile
   * is claimed in one batch rather than one batch each (a batch's fixed cost outweighs its rows').
   * Work waits this much longer when it trickles in; 0 (the default) runs at once.
   */
  gatherMs?: number;
}

export function createWorkerLoop(options: WorkerLoopOptions): WorkerLoop {
  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let woken = false;
  let unlisten: (() => Promise<void>) | null = null;
  let endGather: (() => void) | null = null;

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        woken = false;
        resolve();
      }
      wake = done;
    });
  const gather = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        endGather = null;
        resolve();
      }
      endGather = done;
    });
  const poke = () => {
    if (wake) wake();
    else woken = true;
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        try {
          unlisten = await options.db.listen(options.channel, poke);
        } catch (error) {
          options.logger.warn({ err: error }, `${options.name} could not LISTEN; polling only`);
        }
        while (running) {
          try {
            // One batch at a time, so stop() waits for the batch in hand only.
            if ((await options.runBatch()) > 0) continue;
          } catch (error) {
            options.logger.error({ err: error }, `${options.name} batch failed`);
          }
          if (running) await nap(options.pollMs);
          if (running && options.gatherMs) await gather(options.gatherMs);
        }
      })();
    },
    async stop() {
      running = false;
      poke();
      endGather?.();
      await loop;
      if (unlisten) await unlisten();
      unlisten = null;
    },
  };
}
