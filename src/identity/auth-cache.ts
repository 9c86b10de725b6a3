/**
 * A per-process cache of resolved credentials (API keys, session cookies), so an authenticated
 * request costs no query for its credential: entries by the credential's SHA-256, each kept until
 * the earlier of TTL_MS and the credential's own expiry. A credential that stops being valid, or
 * whose resolution changes (a key revoked, a session ended or moved to another workspace, a role
 * changed), is announced by PostgreSQL on the cache's channel at commit, by triggers (migrations
 * 114 and 127), whatever path changed it; every process drops the owner's entries at once. When
 * the listening connection was lost and comes back (notifications may have been missed meanwhile)
 * the whole cache is dropped. The TTL bounds what a missed notification could keep alive.
 */
import type { Database } from '../db/database.js';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class AuthCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private unlisten: (() => Promise<void>) | null = null;
  /**
   * Bumped on every drop: a read that started before a change was announced must not put the old
   * resolution back (`set` with an older generation is ignored).
   */
  private drops = 0;

  /**
   * `channel`: where PostgreSQL announces changes, with the owner's id as payload; `ownerOf`: the
   * id a value is dropped by (an API key's id, a session's user).
   */
  constructor(
    private readonly channel: string,
    private readonly ownerOf: (value: V) => string,
  ) {}

  /** The current generation; pass it to `set` with what a read started now found. */
  get generation(): number {
    return this.drops;
  }

  /** Subscribes to the channel; resolves once listening. */
  async start(db: Database): Promise<void> {
    if (this.unlisten) return;
    this.unlisten = await db.listen(this.channel, (payload) => (payload ? this.drop(payload) : this.clear()));
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
    this.clear();
  }

  clear(): void {
    this.drops += 1;
    this.entries.clear();
  }

  get(hash: string, now: number): V | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` until TTL_MS from now, or `validUntil` (ms since epoch) when that is sooner. */
  set(hash: string, value: V, now: number, generation: number, validUntil = Number.POSITIVE_INFINITY): void {
    if (generation !== this.drops) return;
    // Oldest first: a Map iterates in insertion order.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { value, expiresAt: Math.min(now + TTL_MS, validUntil) });
  }

  /** Drops every entry of `owner`. */
  drop(owner: string): void {
    this.drops += 1;
    for (const [hash, entry] of this.entries) if (this.ownerOf(entry.value) === owner) this.entries.delete(hash);
  }

  /** Drops the entry of one credential. */
  forget(hash: string): void {
    this.drops += 1;
    this.entries.delete(hash);
  }
}
