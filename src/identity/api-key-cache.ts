/**
 * The per-process cache of resolved API keys (auth-cache.ts): a key that stops being valid
 * (revoked, role changed, deleted with its workspace) is announced by PostgreSQL on
 * API_KEY_CHANNEL with the key's id (migration 114's trigger, at commit).
 */
import { AuthCache } from './auth-cache.js';
import type { Role } from './permissions.js';

export const API_KEY_CHANNEL = 'api_key_revoked';

export interface CachedApiKey {
  keyId: string;
  workspaceId: string;
  role: Role;
  /** api_keys.last_used_at as this process last read or wrote it (ms since epoch); null: never used. */
  lastUsedAt: number | null;
}

export class ApiKeyCache extends AuthCache<CachedApiKey> {
  constructor() {
    super(API_KEY_CHANNEL, (key) => key.keyId);
  }
}
