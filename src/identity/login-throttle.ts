/**
 * Per-account login throttling, on top of the per-address rate limit: an attacker who changes
 * address on every attempt still gets only a few guesses per email. Every attempt is counted
 * before its password is checked (a burst of parallel guesses cannot slip through before the
 * first failure is stored); after FREE_ATTEMPTS, each attempt locks the email for a delay that
 * doubles from BASE_DELAY_MS up to MAX_DELAY_MS. Attempts during a lock are refused unchecked and
 * not counted, so they never extend it: an email is locked at most MAX_DELAY_MS after the last
 * attempt that was let through. A successful log-in clears the count; failures a day old are
 * forgotten. A browser that logged in to the account before (known-device cookie) is not held by
 * the lock, so keeping an email locked does not keep its owner out (migration 091).
 */
import type { Database, Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { randomToken, sha256 } from './tokens.js';

export const FREE_ATTEMPTS = 5;
export const BASE_DELAY_MS = 30_000;
export const MAX_DELAY_MS = 15 * 60_000;
const FORGET_AFTER_MS = 24 * 3_600_000;
const DEVICES_PER_EMAIL = 20;

/** The lock that follows the `attempt`-th counted attempt (1-based), in ms; 0 while attempts are free. */
export function lockDelayMs(attempt: number): number {
  if (attempt <= FREE_ATTEMPTS) return 0;
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt - FREE_ATTEMPTS - 1, 20));
}

function throttled(lockedUntil: Date, now: Date): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000));
  return new AppError('LOGIN_THROTTLED', `Too many failed log-ins for this email; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

/**
 * Counts one attempt for `email`, or throws LOGIN_THROTTLED while it is locked. One transaction:
 * the upsert takes the row lock and holds it until the lock time is written, so concurrent
 * attempts are counted one after another and each sees the lock the previous one set.
 */
export async function countLoginAttempt(db: Database, email: string, now: Date): Promise<void> {
  await db.transaction((tx) => countIn(tx, email, now));
}

async function countIn(q: Queryable, email: string, now: Date): Promise<void> {
  // name: countLoginAttempt — skipped (no row returned) while the email is locked.
  const counted = await q.query<{ failures: number }>(
    `INSERT INTO login_throttle AS t (email, failures, last_attempt_at) VALUES ($1, 1, $2)
     ON CONFLICT (email) DO UPDATE
        SET failures = CASE WHEN t.last_attempt_at < $3 THEN 1 ELSE t.failures + 1 END,
            last_attempt_at = $2, locked_until = NULL
      WHERE t.locked_until IS NULL OR t.locked_until <= $2
     RETURNING failures`,
    [email, now, new Date(now.getTime() - FORGET_AFTER_MS)],
  );
  const row = counted.rows[0];
  if (!row) {
    const lock = await q.query<{ locked_until: Date }>('SELECT locked_until FROM login_throttle WHERE email = $1', [email]);
    throw throttled(lock.rows[0]?.locked_until ?? now, now);
  }
  const delay = lockDelayMs(row.failures);
  if (delay > 0) await q.query('UPDATE login_throttle SET locked_until = $2 WHERE email = $1', [email, new Date(now.getTime() + delay)]);
  // Rows of emails nobody tried for a day carry nothing: cleared whenever an email starts afresh.
  if (row.failures === 1) await q.query('DELETE FROM login_throttle WHERE last_attempt_at < $1 AND (locked_until IS NULL OR locked_until < $2)', [new Date(now.getTime() - FORGET_AFTER_MS), now]);
}

/** After a successful log-in: the email starts afresh. */
export async function clearLoginAttempts(q: Queryable, email: string): Promise<void> {
  await q.query('DELETE FROM login_throttle WHERE email = $1', [email]);
}

/** Whether `token` (the known-device cookie) belongs to a browser that logged in to `email` before. */
export async function isKnownDevice(q: Queryable, email: string, token: string | undefined): Promise<boolean> {
  if (!token || token.length > 100) return false;
  const found = await q.query('SELECT 1 FROM login_known_devices WHERE token_hash = $1 AND email = $2', [sha256(token), email]);
  return found.rowCount > 0;
}

/** Remembers this browser for `email` (keeping the newest few per email); returns the cookie's token. */
export async function rememberDevice(q: Queryable, email: string, now: Date): Promise<string> {
  const token = randomToken();
  await q.query('INSERT INTO login_known_devices (token_hash, email, created_at) VALUES ($1, $2, $3)', [sha256(token), email, now]);
  await q.query(
    `DELETE FROM login_known_devices WHERE email = $1 AND token_hash NOT IN (
       SELECT token_hash FROM login_known_devices WHERE email = $1 ORDER BY created_at DESC LIMIT $2)`,
    [email, DEVICES_PER_EMAIL],
  );
  return token;
}
