import { describe, expect, it } from 'vitest';
import { formatInZone, isoToZoned, zonedToIso } from './zoned';

describe('wall-clock times in a time zone', () => {
  it('converts both ways, across daylight saving', () => {
    expect(zonedToIso('2026-01-15T09:30', 'Europe/Berlin')).toBe('2026-01-15T08:30:00.000Z');
    expect(zonedToIso('2026-07-15T09:30', 'Europe/Berlin')).toBe('2026-07-15T07:30:00.000Z');
    expect(zonedToIso('2026-07-15T09:30', 'America/New_York')).toBe('2026-07-15T13:30:00.000Z');
    expect(zonedToIso('2026-07-15T09:30', 'UTC')).toBe('2026-07-15T09:30:00.000Z');
    expect(isoToZoned('2026-07-15T13:30:00.000Z', 'America/New_York')).toBe('2026-07-15T09:30');
    expect(isoToZoned('2026-01-15T08:30:00.000Z', 'Europe/Berlin')).toBe('2026-01-15T09:30');
    expect(zonedToIso('soon', 'UTC')).toBeNull();
    expect(formatInZone('2026-01-15T08:30:00.000Z', 'Europe/Berlin')).toContain('09:30');
  });
});
