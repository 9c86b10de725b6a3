/**
 * The per-process cache of resolved write keys (src/identity/auth-cache.ts), so a `/v1` request
 * costs no query for its key: a key that stops being valid (revoked, deleted with its workspace)
 * is announced by PostgreSQL on WRITE_KEY_CHANNEL with the key's id (migration 128's trigger, at
 * commit), and every process drops it.
 */
import { AuthCache } from '../identity/auth-cache.js';

export const WRITE_KEY_CHANNEL = 'write_key_revoked';

export interface CachedWriteKey {
  id: string;
  workspaceId: string;
}

export class WriteKeyCache extends AuthCache<CachedWriteKey> {
  constructor() {
    super(WRITE_KEY_CHANNEL, (key) => key.id);
  }
}
