/**
 * Wall-clock times in a named time zone (the workspace's, for broadcasts) to and from UTC
 * instants, with Intl only: the `datetime-local` input speaks "YYYY-MM-DDTHH:mm" in that zone.
 */

/** Milliseconds the zone is ahead of UTC at the instant `ms`. */
export function zoneOffset(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** "2026-03-01T09:30" in `zone` → an ISO instant; null when the text is not such a time. */
export function zonedToIso(local: string, zone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // Two passes settle the offset across a daylight-saving change.
  let ms = wall - zoneOffset(wall, zone);
  ms = wall - zoneOffset(ms, zone);
  return new Date(ms).toISOString();
}

/** An ISO instant → "YYYY-MM-DDTHH:mm" on the wall clock of `zone`. */
export function isoToZoned(iso: string, zone: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  return new Date(ms + zoneOffset(ms, zone)).toISOString().slice(0, 16);
}

/** A readable time in `zone`, e.g. "Mon, 2 Mar 2026, 09:30 (Europe/Berlin)". */
export function formatInZone(iso: string, zone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  return `${text} (${zone})`;
}
