import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GroupCommit', () => {
  it('writes the first item at once and everything that arrived meanwhile in the next write, one write at a time', async () => {
    const writes: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const commit = new GroupCommit<number, string>({
      maxBatch: 100,
      write: async (items) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        writes.push(items);
        await tick(10);
        inFlight -= 1;
        return items.map((i) => `ok ${i}`);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => commit.submit(i)));
    expect(results).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
    expect(writes).toEqual([[1], [2, 3, 4, 5]]);
    expect(most).toBe(1);
  });

  it('retries a failed write with the same items when told to, and rejects them otherwise', async () => {
    let calls = 0;
    const retrying = new GroupCommit<number, number>({
      maxBatch: 10,
      write: async (items) => {
        calls += 1;
        if (calls < 3) throw new Error('database unavailable');
        return items.map((i) => i * 2);
      },
      retryAfterMs: (_error, failures) => (failures < 5 ? 1 : null),
    });
    expect(await retrying.submit(21)).toBe(42);
    expect(calls).toBe(3);

    const failing = new GroupCommit<number, number>({
      maxBatch: 10,
      write: async () => {
        throw new Error('database unavailable');
      },
    });
    await expect(failing.submit(1)).rejects.toThrow('database unavailable');
  });

  it('lets a small batch linger for more items, and writes a full one at once', async () => {
    const writes: number[][] = [];
    const commit = new GroupCommit<number, number>({
      maxBatch: 100,
      maxConcurrent: 2,
      lingerMs: 30,
      minBatch: 3,
      write: async (items) => {
        writes.push(items);
        return items;
      },
    });
    const first = commit.submit(1);
    await tick(5);
    expect(writes).toEqual([]);
    const second = commit.submit(2);
    await Promise.all([first, second]);
    expect(writes).toEqual([[1, 2]]);
    await Promise.all([3, 4, 5].map((i) => commit.submit(i)));
    expect(writes).toEqual([[1, 2], [3, 4, 5]]);
  });
});
