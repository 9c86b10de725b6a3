/**
 * When a channel's digest is due: daily at an hour, or weekly on a weekday at an hour, of the
 * workspace's time zone (workspaces.settings.timeZone, UTC when unset). `nextDigestAt` finds the
 * first such local time after a moment, across daylight-saving changes (a local hour that does not
 * exist that day is taken at the same UTC offset as the hour before it).
 */
import type { ChannelView } from './channels.schemas.js';

export interface DigestSchedule {
  frequency: 'daily' | 'weekly';
  hour: number;
  /** Weekly only: 0 = Sunday … 6 = Saturday. */
  weekday: number | null;
}

/** The zone's offset from UTC at `at`, in milliseconds (positive east of Greenwich). */
function offsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - Math.floor(at.getTime() / 1000) * 1000;
}

/** The UTC instant of a local wall-clock time in `timeZone`. */
function atLocal(year: number, month: number, day: number, hour: number, timeZone: string): Date {
  const guess = Date.UTC(year, month, day, hour);
  const first = guess - offsetMs(new Date(guess), timeZone);
  return new Date(guess - offsetMs(new Date(first), timeZone));
}

export function nextDigestAt(schedule: DigestSchedule, after: Date, timeZone: string): Date {
  const local = new Date(after.getTime() + offsetMs(after, timeZone));
  for (let d = 0; d <= 8; d += 1) {
    const day = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + d));
    if (schedule.frequency === 'weekly' && day.getUTCDay() !== schedule.weekday) continue;
    const candidate = atLocal(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), schedule.hour, timeZone);
    if (candidate.getTime() > after.getTime()) return candidate;
  }
  throw new Error('no digest time within 8 days');
}

export function digestView(
  row: { digest_frequency: 'daily' | 'weekly' | null; digest_hour: number | null; digest_weekday: number | null; next_digest_at: Date | null },
  timeZone: string,
): ChannelView['digest'] {
  if (!row.digest_frequency || row.digest_hour === null || !row.next_digest_at) return null;
  return { frequency: row.digest_frequency, hour: row.digest_hour, weekday: row.digest_weekday, timeZone, nextAt: new Date(row.next_digest_at).toISOString() };
}
