/**
 * The per-process cache of resolved session cookies (auth-cache.ts): a session that ends (log-out,
 * removal from its workspace, its user deleted) or resolves differently (moved to another
 * workspace, its user's role, name or email changed) is announced by PostgreSQL on SESSION_CHANNEL
 * with the user's id (migration 127's triggers, at commit), and every process drops that user's
 * sessions. An entry is kept no later than the session's own expiry.
 */
import { AuthCache } from './auth-cache.js';
import type { SessionAuth } from './identity.js';

export const SESSION_CHANNEL = 'session_changed';

export class SessionCache extends AuthCache<SessionAuth> {
  constructor() {
    super(SESSION_CHANNEL, (session) => session.userId);
  }
}
