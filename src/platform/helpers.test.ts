import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { escapeHtml } from './html.js';
import { uuidv7, uuidv7Prefix, uuidv7s } from './uuid.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeHex = (ms: number) => ms.toString(16).padStart(12, '0').replace(/^(.{8})/, '$1-');

describe('uuidv7', () => {
  it('encodes the millisecond first, then version 7 and the RFC 9562 variant', () => {
    const ms = Date.UTC(2026, 0, 1);
    const id = uuidv7(ms);
    expect(id).toMatch(V7);
    expect(id.slice(0, 13)).toBe(timeHex(ms));
  });

  it('orders ids of later milliseconds after earlier ones and never repeats one', () => {
    const earlier = uuidv7s(3, Date.UTC(2026, 0, 1));
    const later = uuidv7s(1, Date.UTC(2026, 0, 1, 0, 0, 0, 1));
    for (const id of [...earlier, ...later]) expect(id).toMatch(V7);
    expect(earlier.every((id) => id < later[0]!)).toBe(true);
    const acrossYears = [uuidv7(Date.UTC(2026, 0, 1)), uuidv7(Date.UTC(2026, 0, 1, 0, 0, 1)), uuidv7(Date.UTC(2027, 5, 1))];
    expect([...acrossYears].sort()).toEqual(acrossYears);
    // More ids than one block of pooled randomness holds.
    expect(new Set(uuidv7s(2000, 0)).size).toBe(2000);
  });

  it('gives SQL the first 7 bytes: the millisecond and the version nibble', () => {
    const ms = Date.UTC(2026, 3, 5, 6, 7, 8, 9);
    const prefix = uuidv7Prefix(new Date(ms));
    expect(prefix).toHaveLength(7);
    expect(prefix.readUIntBE(0, 6)).toBe(ms);
    expect(prefix[6]! >> 4).toBe(7);
  });
});

describe('backoffDelay', () => {
  const backoff = { baseMs: 1000, maxMs: 10_000 };
  it('doubles per attempt between half and all of the full delay', () => {
    expect([1, 2, 3].map((n) => backoffDelay(n, backoff, () => 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, backoff, () => 0.999999))).toEqual([1000, 2000, 4000].map((v) => expect.closeTo(v, 0)));
  });

  it('caps the full delay and treats attempt 0 as the first', () => {
    expect(backoffDelay(30, backoff, () => 0)).toBe(5000);
    expect(backoffDelay(0, backoff, () => 0)).toBe(500);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or a quoted attribute', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
    expect(escapeHtml('plain')).toBe('plain');
  });
});
