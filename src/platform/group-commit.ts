/**
 * Group commit: many callers each submit one item and wait for it to be written; the items are
 * written together, one write at a time. A write starts as soon as the previous one ended, with
 * everything that arrived meanwhile, so a batch grows with the load (one item when idle, many
 * under a burst) and no item waits longer than about two writes.
 */
export interface GroupCommitOptions<T, R> {
  /** Writes a batch; returns one result per item, in order. */
  write: (items: T[]) => Promise<R[]>;
  maxBatch: number;
  /**
   * On a failed write: the delay before the same batch is written again, or null to reject its
   * items. Called with the failure and the number of failures of this batch so far.
   */
  retryAfterMs?: (error: unknown, failures: number) => number | null;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<T, R> {
  private pending: Array<Pending<T, R>> = [];
  private writing = false;

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    const batch = this.pending.splice(0, this.options.maxBatch);
    void this.writeBatch(batch).finally(() => {
      this.writing = false;
      this.kick();
    });
  }

  private async writeBatch(batch: Array<Pending<T, R>>): Promise<void> {
    for (let failures = 1; ; failures += 1) {
      try {
        const results = await this.options.write(batch.map((p) => p.item));
        batch.forEach((p, i) => p.resolve(results[i]!));
        return;
      } catch (error) {
        const delay = this.options.retryAfterMs?.(error, failures) ?? null;
        if (delay === null) {
          for (const p of batch) p.reject(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
