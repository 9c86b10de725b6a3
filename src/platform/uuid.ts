/**
 * Time-ordered UUIDs (version 7: 48 bits of Unix milliseconds, the version nibble, then random
 * bits with the RFC 9562 variant) — the one encoder of the codebase. Rows get their ids here rather
 * than from gen_random_uuid() when many are inserted at once: consecutive inserts land on the right
 * edge of the primary-key and foreign-key indexes instead of on random pages (each of which costs a
 * full-page image in the WAL after a checkpoint), and the insert need not return them.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

// Randomness is drawn in blocks: one crypto call per 4 KB instead of one per id.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** One UUIDv7 for the millisecond `ms` (now by default). */
export function uuidv7(ms: number = Date.now()): string {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `count` UUIDv7s for the millisecond `ms`. */
export function uuidv7s(count: number, ms: number): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i += 1) ids[i] = uuidv7(ms);
  return ids;
}

/**
 * The first 7 bytes of a UUIDv7 for `at` (48 bits of Unix milliseconds, then the version nibble
 * and 4 random bits), for SQL to complete with the random bytes of gen_random_uuid(), whose variant
 * bits are already those of version 7:
 * `encode(overlay(uuid_send(gen_random_uuid()) PLACING $prefix FROM 1 FOR 7), 'hex')::uuid`.
 */
export function uuidv7Prefix(at: Date): Buffer {
  const prefix = Buffer.alloc(7);
  prefix.writeUIntBE(at.getTime(), 0, 6);
  prefix[6] = 0x70 | (randomBytes(1)[0]! & 0x0f);
  return prefix;
}
