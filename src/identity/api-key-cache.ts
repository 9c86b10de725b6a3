/**
 * A per-process cache of resolved API keys, so an API-key request costs no query for its key:
 * entries by the key's SHA-256, kept for at most TTL_MS. A key that stops being valid (revoked,
 * role changed, deleted with its workspace) is announced by PostgreSQL on API_KEY_CHANNEL
 * (migration 114's trigger, at commit), and every process drops it at once; when the listening
 * connection was lost and comes back (notifications may have been missed meanwhile) the whole
 * cache is dropped. The TTL bounds what a missed notification could keep alive.
 */
import type { Database } from '../db/database.js';
import type { Role } from './permissions.js';

export const API_KEY_CHANNEL = 'api_key_revoked';
const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export interface CachedApiKey {
  keyId: string;
  workspaceId: string;
  role: Role;
  /** api_keys.last_used_at as this process last read or wrote it (ms since epoch); null: never used. */
  lastUsedAt: number | null;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, { key: CachedApiKey; expiresAt: number }>();
  private unlisten: (() => Promise<void>) | null = null;
  /**
   * Bumped on every drop: a read that started before a revocation was announced must not put the
   * key back (`set` with an older generation is ignored).
   */
  private drops = 0;

  /** The current generation; pass it to `set` with what a read started now found. */
  get generation(): number {
    return this.drops;
  }

  /** Subscribes to revocations; resolves once listening. */
  async start(db: Database): Promise<void> {
    if (this.unlisten) return;
    this.unlisten = await db.listen(API_KEY_CHANNEL, (payload) => (payload ? this.drop(payload) : this.clear()));
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

  get(keyHash: string, now: number): CachedApiKey | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry.key;
  }

  set(keyHash: string, key: CachedApiKey, now: number, generation: number): void {
    if (generation !== this.drops) return;
    // Oldest first: a Map iterates in insertion order.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(keyHash, { key, expiresAt: now + TTL_MS });
  }

  /** Drops every entry of the key `keyId`. */
  drop(keyId: string): void {
    this.drops += 1;
    for (const [hash, entry] of this.entries) if (entry.key.keyId === keyId) this.entries.delete(hash);
  }
}
