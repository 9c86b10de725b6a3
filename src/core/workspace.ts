/**
 * Workspace-wide settings every domain may read (the lower layer): today the workspace's time
 * zone, which digests, broadcasts and reports use for "a day" and "9 o'clock".
 */
import type { Queryable } from '../db/database.js';

/** True when `zone` is an IANA time zone name this runtime knows (e.g. "Europe/Berlin"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The workspace's time zone (workspaces.settings.timeZone, an IANA name); UTC when unset or unknown. */
export async function workspaceTimeZone(q: Queryable, workspaceId: string): Promise<string> {
  const { rows } = await q.query<{ zone: string | null }>(`SELECT settings->>'timeZone' AS zone FROM workspaces WHERE id = $1`, [workspaceId]);
  const zone = rows[0]?.zone;
  return zone && isTimeZone(zone) ? zone : 'UTC';
}
