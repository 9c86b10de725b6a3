/**
 * The in-app notification centre: notifications of the workspace (alerts told to an in-app
 * channel, digests, channels that keep failing), newest first, with a read state per user.
 * API keys have no user and so no read state: they see every notification as unread and cannot
 * mark one read.
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import type { NotificationView } from './deliveries.schemas.js';

interface NotificationRow {
  id: string;
  kind: NotificationView['kind'];
  severity: string | null;
  title: string;
  body: string;
  link: string | null;
  alert_id: string | null;
  channel_id: string | null;
  created_at: Date;
  read: boolean;
}

const toView = (r: NotificationRow): NotificationView => ({
  id: r.id,
  kind: r.kind,
  severity: r.severity,
  title: r.title,
  body: r.body,
  link: r.link,
  alertId: r.alert_id,
  channelId: r.channel_id,
  createdAt: new Date(r.created_at).toISOString(),
  read: r.read,
});

export async function unreadCount(q: Queryable, workspaceId: string, userId: string | null): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM guardian_notifications n
      WHERE n.workspace_id = $1 AND NOT EXISTS (SELECT 1 FROM guardian_notification_reads r WHERE r.notification_id = n.id AND r.user_id = $2)`,
    [workspaceId, userId],
  );
  return rows[0]!.n;
}

export async function listNotifications(q: Queryable, workspaceId: string, userId: string | null, options: { unread?: boolean | undefined; limit?: number | undefined }): Promise<{ notifications: NotificationView[]; unreadCount: number }> {
  const { rows } = await q.query<NotificationRow>(
    `SELECT n.id, n.kind, n.severity, n.title, n.body, n.link, n.alert_id, n.channel_id, n.created_at, (r.user_id IS NOT NULL) AS read
       FROM guardian_notifications n
       LEFT JOIN guardian_notification_reads r ON r.notification_id = n.id AND r.user_id = $2
      WHERE n.workspace_id = $1 AND ($3::boolean IS NOT TRUE OR r.user_id IS NULL)
      ORDER BY n.created_at DESC, n.id DESC LIMIT $4`,
    [workspaceId, userId, options.unread ?? null, options.limit ?? 30],
  );
  return { notifications: rows.map(toView), unreadCount: await unreadCount(q, workspaceId, userId) };
}

function requireUser(userId: string | null): string {
  if (!userId) throw new AppError('GUARDIAN_READ_STATE_NEEDS_USER', 'Notifications are marked read by a signed-in user; an API key has no read state');
  return userId;
}

/** Marks one notification read for the user (again is fine). */
export async function markRead(deps: { db: Queryable; clock: Clock }, workspaceId: string, userId: string | null, id: string): Promise<{ marked: number; unreadCount: number }> {
  const user = requireUser(userId);
  const found = await deps.db.query('SELECT 1 FROM guardian_notifications WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
  if (found.rowCount === 0) throw notFound('Notification');
  const done = await deps.db.query('INSERT INTO guardian_notification_reads (notification_id, user_id, read_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, user, deps.clock.now()]);
  return { marked: done.rowCount, unreadCount: await unreadCount(deps.db, workspaceId, user) };
}

export async function markAllRead(deps: { db: Queryable; clock: Clock }, workspaceId: string, userId: string | null): Promise<{ marked: number; unreadCount: number }> {
  const user = requireUser(userId);
  const done = await deps.db.query(
    `INSERT INTO guardian_notification_reads (notification_id, user_id, read_at)
     SELECT id, $2, $3 FROM guardian_notifications WHERE workspace_id = $1 ON CONFLICT DO NOTHING`,
    [workspaceId, user, deps.clock.now()],
  );
  return { marked: done.rowCount, unreadCount: 0 };
}
