/** Local-time arithmetic for "wait until" steps, in the contact's time zone, using Intl only. */

const formatters = new Map<string, Intl.DateTimeFormat>();

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function localParts(at: Date, zone: string): { weekday: number; hour: number; minute: number } {
  const parts = formatterFor(zone).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
  return { weekday: WEEKDAYS.indexOf(get('weekday')), hour: Number(get('hour')), minute: Number(get('minute')) };
}

/** Quiet hours [start, end) may wrap midnight (21 → 8). */
export function inQuietHours(hour: number, quiet: { start: number; end: number }): boolean {
  return quiet.start < quiet.end ? hour >= quiet.start && hour < quiet.end : hour >= quiet.start || hour < quiet.end;
}

export interface UntilTime {
  weekdays?: number[] | undefined;
  hour?: number | undefined;
  minute?: number | undefined;
  quietHours?: { start: number; end: number } | undefined;
}

const STEP_MS = 60_000;
const HORIZON_MS = 8 * 86_400_000;

/**
 * The first instant at or after `now` whose local time in `zone` is on an allowed weekday,
 * outside quiet hours, and (when an hour is given) at that hour and minute. Walks minute by
 * minute, jumping whole hours where the hour cannot match, so DST and half-hour zones just work.
 */
export function nextAllowedTime(now: Date, zone: string, rule: UntilTime): Date {
  const weekdays = rule.weekdays && rule.weekdays.length > 0 ? new Set(rule.weekdays) : null;
  const targetMinute = rule.minute ?? 0;
  let t = now.getTime();
  const end = t + HORIZON_MS;
  while (t <= end) {
    const local = localParts(new Date(t), zone);
    const dayOk = weekdays === null || weekdays.has(local.weekday);
    const quiet = rule.quietHours ? inQuietHours(local.hour, rule.quietHours) : false;
    if (dayOk && !quiet) {
      if (rule.hour === undefined) return new Date(t);
      if (local.hour === rule.hour) {
        if (local.minute === targetMinute) return new Date(t);
        if (local.minute < targetMinute) {
          t += (targetMinute - local.minute) * STEP_MS - (t % STEP_MS);
          continue;
        }
      }
    }
    // Jump to the start of the next local hour (or next minute when the hour itself matches).
    const skipMinutes = rule.hour !== undefined && local.hour === rule.hour && dayOk && !quiet ? 1 : 60 - local.minute;
    t = t - (t % STEP_MS) + skipMinutes * STEP_MS;
  }
  // No allowed time within a week (e.g. all hours quiet): the validator prevents it; wait the horizon.
  return new Date(end);
}
