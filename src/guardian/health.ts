/**
 * Sending health over time for the Guardian charts: per time bucket and provider, emails sent,
 * bounces and complaints reported, and the two rates. Hourly buckets over 24 hours, daily over 7
 * or 30 days. Reads messages_sent_at_idx and events_email_outcomes_idx (migration 098).
 */
import type { Queryable } from '../db/database.js';
import type { HealthSeriesView } from './guardian.schemas.js';

const RANGES = { '24h': { seconds: 86_400, bucket: 3600 }, '7d': { seconds: 7 * 86_400, bucket: 86_400 }, '30d': { seconds: 30 * 86_400, bucket: 86_400 } } as const;
export type HealthRange = keyof typeof RANGES;

export async function sendingHealth(q: Queryable, workspaceId: string, range: HealthRange, now: Date): Promise<HealthSeriesView> {
  const { seconds, bucket } = RANGES[range];
  // Buckets aligned to the bucket size (UTC), the last one containing now.
  const end = Math.floor(now.getTime() / (bucket * 1000)) * bucket * 1000 + bucket * 1000;
  const start = end - seconds * 1000;
  const from = new Date(start);
  const to = new Date(end);
  const { rows } = await q.query<{ bucket: Date; provider: string; sends: string; bounces: string; complaints: string }>(
    `WITH sends AS (
       SELECT to_timestamp(floor(extract(epoch FROM sent_at) / $4) * $4) AS bucket, coalesce(provider, 'unknown') AS provider, count(*) AS n
         FROM messages WHERE workspace_id = $1 AND sent_at IS NOT NULL AND sent_at >= $2 AND sent_at < $3 GROUP BY 1, 2),
     outcomes AS (
       SELECT to_timestamp(floor(extract(epoch FROM occurred_at) / $4) * $4) AS bucket, coalesce(properties->>'provider', 'unknown') AS provider,
              count(*) FILTER (WHERE name = 'bounced') AS bounces, count(*) FILTER (WHERE name = 'complained') AS complaints
         FROM events WHERE workspace_id = $1 AND type = 'email' AND name IN ('bounced', 'complained') AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2)
     SELECT coalesce(s.bucket, o.bucket) AS bucket, coalesce(s.provider, o.provider) AS provider,
            coalesce(s.n, 0) AS sends, coalesce(o.bounces, 0) AS bounces, coalesce(o.complaints, 0) AS complaints
       FROM sends s FULL JOIN outcomes o ON o.bucket = s.bucket AND o.provider = s.provider
      ORDER BY 1, 2`,
    [workspaceId, from, to, bucket],
  );
  const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 100_000) / 1000 : null);
  const points = rows.map((r) => {
    const sends = Number(r.sends);
    const bounces = Number(r.bounces);
    const complaints = Number(r.complaints);
    return { at: new Date(r.bucket).toISOString(), provider: r.provider, sends, bounces, complaints, bounceRate: rate(bounces, sends), complaintRate: rate(complaints, sends) };
  });
  return { range, bucketSeconds: bucket, from: from.toISOString(), to: to.toISOString(), providers: [...new Set(points.map((p) => p.provider))].sort(), points };
}
