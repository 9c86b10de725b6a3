/**
 * Who holds claimed work. A process that claims rows of a queue that talks to the outside (email
 * messages, campaign webhooks) claims them under its holder id: a number from the
 * `work_holder_ids` sequence (migration 089) whose session-level advisory lock the process holds
 * on a connection of its own for as long as it lives. When the process dies, PostgreSQL ends that
 * session and the lock with it, so `holderIsDead` sees it at once and any live process reclaims the
 * dead holder's work within a second — no lease to wait out. A process alive but slow keeps its
 * lock and its work; nothing is taken from it on a guess.
 *
 * A holder whose lock connection is lost (the database restarted, a network cut) takes a new id on
 * its next claim; its old claims are reclaimed like a dead process's, and the claim token of each
 * row keeps the old claim from recording anything afterwards.
 */
import type { Database, SessionLock } from './database.js';

/** The advisory lock space (`classid` in pg_locks) of holder locks: arbitrary, constant, shared by every process. */
export const HOLDER_LOCK_SPACE = 1_970_170_112;

/**
 * SQL condition: the holder id in `column` holds no lock in this database, so its process is gone.
 * pg_locks lists every session's locks whatever the role reading it.
 */
export function holderIsDead(column: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_locks l
                       WHERE l.locktype = 'advisory' AND l.classid = ${HOLDER_LOCK_SPACE}::oid AND l.objid = (${column})::oid
                         AND l.objsubid = 2 AND l.granted
                         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;
}

/**
 * SQL CTEs for `WITH RECURSIVE`: `holders`, the distinct holder ids of the rows of `table` that
 * match `condition` (unqualified columns), and `dead_holders`, those among them whose process is
 * gone. One ordered probe of the table's holder index per holder, not a scan: every claim leaves an
 * entry in that index, dead once the row is released, until a vacuum; a bitmap scan read them all
 * on every reclaim pass (125 ms a pass after 100,000 emails), while an index scan marks the dead
 * entries it meets and skips them on the next pass (1 ms). The index must be on holder_id, partial
 * on `condition` or on holder_id not null.
 */
export function deadHoldersCtes(table: string, condition: string): string {
  return `holders AS (
      (SELECT holder_id AS holder FROM ${table} WHERE ${condition} AND holder_id IS NOT NULL ORDER BY holder_id LIMIT 1)
      UNION ALL
      SELECT (SELECT holder_id FROM ${table} WHERE ${condition} AND holder_id > h.holder ORDER BY holder_id LIMIT 1)
        FROM holders h WHERE h.holder IS NOT NULL
    ), dead_holders AS (
      SELECT h.holder FROM holders h WHERE h.holder IS NOT NULL AND ${holderIsDead('h.holder')}
    )`;
}

export class WorkHolder {
  private current: { id: number; lock: SessionLock } | null = null;
  private registering: Promise<number> | null = null;
  private closed = false;

  constructor(private readonly db: Database) {}

  /** This process's holder id, registered (lock taken) on first use and again after a lost lock. */
  async id(): Promise<number> {
    if (this.closed) throw new Error('the work holder is closed');
    if (this.current && !this.current.lock.lost) return this.current.id;
    this.registering ??= this.register().finally(() => (this.registering = null));
    return this.registering;
  }

  private async register(): Promise<number> {
    // A fresh id is free unless the sequence wrapped around onto a live holder; then take the next.
    for (let tries = 0; tries < 10; tries += 1) {
      const next = await this.db.query<{ id: number }>(`SELECT nextval('work_holder_ids')::integer AS id`);
      const id = next.rows[0]!.id;
      const lock = await this.db.tryAdvisoryLock(HOLDER_LOCK_SPACE, id);
      if (lock) {
        const previous = this.current;
        this.current = { id, lock };
        if (previous) await previous.lock.release();
        return id;
      }
    }
    throw new Error('no free work holder id');
  }

  /** Releases the lock: whatever this holder still has in hand becomes reclaimable. */
  async release(): Promise<void> {
    this.closed = true;
    await this.registering?.catch(() => undefined);
    const current = this.current;
    this.current = null;
    await current?.lock.release();
  }
}
