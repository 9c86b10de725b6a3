/**
 * The notification centre in the top bar: a bell with the caller's unread count (polled), opening
 * a panel of the workspace's Guardian notifications — alerts, digests, channels that keep failing —
 * each with "Mark read", and "Mark all read". Read state is per user.
 */
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from './api';
import type { Static } from '@sinclair/typebox';
import type { NotificationList } from '@server/guardian/deliveries.schemas.js';
import { guardianApi } from './guardian-api';
import { Link } from './router';
import { Alert, formatDate, Spinner, useLoad } from './ui';

export function NotificationBell({ canMarkRead }: { canMarkRead: boolean }) {
  const [open, setOpen] = useState(false);
  const [count, reloadCount] = useLoad(() => guardianApi.notifications.unreadCount(), [], 30_000);
  const [list, setList] = useState<Static<typeof NotificationList> | null>(null);
  const [error, setError] = useState<string>();
  const wrapper = useRef<HTMLDivElement>(null);
  const unread = list?.unreadCount ?? (count.status === 'ready' ? count.data.unreadCount : 0);

  const load = async () => {
    setError(undefined);
    try {
      setList(await guardianApi.notifications.list());
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  useEffect(() => {
    if (open) void load();
    else setList(null);
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setOpen(false);
    };
    const onClick = (event: MouseEvent) => {
      if (wrapper.current && !wrapper.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const markRead = async (id: string) => {
    try {
      await guardianApi.notifications.markRead(id);
      await load();
      await reloadCount();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  const markAll = async () => {
    try {
      await guardianApi.notifications.markAllRead();
      await load();
      await reloadCount();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  return (
    <div className="bell" ref={wrapper}>
      <button type="button" className="button ghost bell-button" aria-expanded={open} aria-controls="notification-panel" onClick={() => setOpen((o) => !o)} data-testid="notification-bell">
        <svg aria-hidden="true" focusable="false" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
        </svg>
        <span className="visually-hidden">Notifications</span>
        {unread > 0 ? (
          <span className="bell-count" data-testid="unread-count">
            {unread}
            <span className="visually-hidden"> unread</span>
          </span>
        ) : null}
      </button>
      {open ? (
        <div id="notification-panel" className="bell-panel panel stack" role="region" aria-label="Notifications">
          <div className="row space-between">
            <h2 className="small-heading">Notifications</h2>
            {canMarkRead && unread > 0 ? (
              <button type="button" className="button small" onClick={() => void markAll()}>
                Mark all read
              </button>
            ) : null}
          </div>
          {error ? <Alert>{error}</Alert> : null}
          {!list && !error ? <Spinner /> : null}
          {list && list.notifications.length === 0 ? (
            <p className="muted">
              Nothing yet. Alerts sent to an in-app channel appear here; add one in <Link to="/guardian/channels">Guardian › Channels</Link>.
            </p>
          ) : null}
          {list && list.notifications.length > 0 ? (
            <ul className="bell-list">
              {list.notifications.map((n) => (
                <li key={n.id} className={n.read ? 'read' : 'unread'}>
                  <p className="bell-title">
                    {n.read ? null : <span className="visually-hidden">Unread: </span>}
                    {n.severity ? <span className={`badge badge-${n.severity === 'critical' || n.severity === 'high' ? 'failed' : 'queued'}`}>{n.severity}</span> : null} {n.title}
                  </p>
                  <p className="muted small bell-body">{n.body}</p>
                  <p className="row small">
                    <span className="muted">{formatDate(n.createdAt)}</span>
                    {n.link ? <a href={n.link}>Open</a> : null}
                    {canMarkRead && !n.read ? (
                      <button type="button" className="button small ghost" onClick={() => void markRead(n.id)} aria-label={`Mark read: ${n.title}`}>
                        Mark read
                      </button>
                    ) : null}
                  </p>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
