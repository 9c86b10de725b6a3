import { describe, expect, it } from 'vitest';
import { nextDigestAt } from './digest-schedule.js';

describe('nextDigestAt', () => {
  it('is the next local hour of the day in the time zone', () => {
    // 08:30 UTC = 09:30 in Paris (winter): 09:00 has passed today, so tomorrow 09:00 = 08:00 UTC.
    expect(nextDigestAt({ frequency: 'daily', hour: 9, weekday: null }, new Date('2026-01-05T08:30:00Z'), 'Europe/Paris').toISOString()).toBe('2026-01-06T08:00:00.000Z');
    expect(nextDigestAt({ frequency: 'daily', hour: 9, weekday: null }, new Date('2026-01-05T07:30:00Z'), 'Europe/Paris').toISOString()).toBe('2026-01-05T08:00:00.000Z');
    expect(nextDigestAt({ frequency: 'daily', hour: 0, weekday: null }, new Date('2026-01-05T23:30:00Z'), 'UTC').toISOString()).toBe('2026-01-06T00:00:00.000Z');
  });

  it('follows daylight saving and the weekday for weekly digests', () => {
    // New York: EDT (UTC-4) in July, EST (UTC-5) in January.
    expect(nextDigestAt({ frequency: 'daily', hour: 7, weekday: null }, new Date('2026-07-01T12:00:00Z'), 'America/New_York').toISOString()).toBe('2026-07-02T11:00:00.000Z');
    expect(nextDigestAt({ frequency: 'daily', hour: 7, weekday: null }, new Date('2026-01-01T13:00:00Z'), 'America/New_York').toISOString()).toBe('2026-01-02T12:00:00.000Z');
    // 2026-01-05 is a Monday; Friday (5) at 17:00 Tokyo = 08:00 UTC on 2026-01-09.
    expect(nextDigestAt({ frequency: 'weekly', hour: 17, weekday: 5 }, new Date('2026-01-05T09:00:00Z'), 'Asia/Tokyo').toISOString()).toBe('2026-01-09T08:00:00.000Z');
  });
});
