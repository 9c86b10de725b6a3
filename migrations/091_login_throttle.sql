-- Per-account login throttling (src/identity/login-throttle.ts). One row per normalized email that
-- had a failed attempt recently, whether or not an account has that email (so throttling does
-- not reveal which emails have accounts). Every attempt is counted before its password is
-- checked; past the free attempts each one locks the email until locked_until, a delay that grows
-- and is capped, and attempts during a lock are refused without being counted (they never extend
-- it). A successful log-in deletes the row; failures older than a day are forgotten.
CREATE TABLE login_throttle (
  email text PRIMARY KEY,
  failures integer NOT NULL CHECK (failures >= 0),
  last_attempt_at timestamptz NOT NULL,
  locked_until timestamptz
);

-- Browsers that logged in to an account before (an httpOnly cookie holding a random token; only
-- its SHA-256 is stored). They are not held by that account's lock, so an attacker who keeps an
-- email locked cannot keep its owner out on a browser the owner already used.
CREATE TABLE login_known_devices (
  token_hash text PRIMARY KEY,
  email text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX login_known_devices_email_idx ON login_known_devices (email, created_at);
