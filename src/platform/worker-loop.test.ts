import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { createWorkerLoop } from './worker-loop.js';

/** A loop over an in-memory queue, woken by a fake LISTEN; records the size of every non-empty batch. */
function queueLoop(gatherMs: number) {
  let listener: (() => void) | null = null;
  const queue: number[] = [];
  const batches: number[] = [];
  let naps = 0;
  const loop = createWorkerLoop({
    name: 'test loop',
    db: {
      listen: async (_channel: string, onNotify: (payload: string) => void) => {
        listener = () => onNotify('');
        return async () => {};
      },
    },
    logger: createLogger('silent'),
    channel: 'test',
    pollMs: 60_000,
    gatherMs,
    async runBatch() {
      const n = queue.splice(0).length;
      if (n > 0) batches.push(n);
      else naps += 1;
      return n;
    },
  });
  const produce = () => {
    queue.push(1);
    listener?.();
  };
  return { loop, produce, batches, napped: () => naps };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i += 1) await sleep(5);
  expect(condition()).toBe(true);
}

describe('worker loop', () => {
  it('claims work committed during the gather window after a wake-up in one batch', async () => {
    const { loop, produce, batches, napped } = queueLoop(300);
    loop.start();
    await until(() => napped() === 1);
    produce();
    produce();
    await sleep(20);
    produce();
    await until(() => batches.length > 0);
    await loop.stop();
    expect(batches).toEqual([3]);
  });

  it('without a gather window, runs a batch per wake-up', async () => {
    const { loop, produce, batches, napped } = queueLoop(0);
    loop.start();
    await until(() => napped() === 1);
    produce();
    await until(() => batches.length === 1);
    await until(() => napped() === 2);
    produce();
    await until(() => batches.length === 2);
    await loop.stop();
    expect(batches).toEqual([1, 1]);
  });

  it('stops during a gather window without waiting for it, leaving the work for the next start', async () => {
    const { loop, produce, batches, napped } = queueLoop(60_000);
    loop.start();
    await until(() => napped() === 1);
    produce();
    const started = Date.now();
    await loop.stop();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(batches).toEqual([]);
  });
});
