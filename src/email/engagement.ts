/**
 * What happens when a recipient acts on an email: opens (pixel), clicks (redirect) and
 * unsubscribes. Each is recorded as an `email` event through recordEvents, so campaigns and
 * scores see it in the same transaction. Links are trusted only after their signature checked.
 */
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink } from '../events/events.js';
import { isMachineOpen, type ClickLink, type OpenLink, type UnsubscribeLink } from './links.js';
import { addSuppression, getSuppression, removeSuppression } from './suppressions.js';

export interface Visitor {
  userAgent: string;
  ip: string;
}

async function messageExists(q: Queryable, workspaceId: string, messageId: string): Promise<boolean> {
  const result = await q.query('SELECT 1 FROM messages WHERE workspace_id = $1 AND id = $2', [workspaceId, messageId]);
  return result.rowCount > 0;
}

/** Records an open; returns false when the message no longer exists. */
export async function recordOpen(db: Database, sink: EventSink, link: OpenLink, visitor: Visitor, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await messageExists(tx, link.w, link.m))) return false;
    await recordEvents(tx, sink, link.w, [{ contactId: link.c, type: 'email', name: 'opened', properties: { messageId: link.m, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) } }], now);
    return true;
  });
}

/** Records a click; the caller redirects to the signed URL either way. */
export async function recordClick(db: Database, sink: EventSink, link: ClickLink, visitor: Visitor, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await messageExists(tx, link.w, link.m))) return false;
    await recordEvents(
      tx,
      sink,
      link.w,
      [{ contactId: link.c, type: 'email', name: 'clicked', properties: { messageId: link.m, url: link.u, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) } }],
      now,
    );
    return true;
  });
}

export interface SubscriptionStatus {
  email: string;
  unsubscribed: boolean;
}

async function workspaceExists(q: Queryable, workspaceId: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM workspaces WHERE id = $1', [workspaceId])).rowCount > 0;
}

/** The status shown on the preference page; null when the workspace is gone. */
export async function subscriptionStatus(db: Database, link: UnsubscribeLink): Promise<SubscriptionStatus | null> {
  if (!(await workspaceExists(db, link.w))) return null;
  const suppression = await getSuppression(db, link.w, link.e);
  return { email: link.e, unsubscribed: suppression !== null };
}

/**
 * Unsubscribes: the contact's subscription_state, a suppression ('unsubscribed') and an
 * `unsubscribed` event, once; repeating it changes nothing. Null when the workspace is gone.
 */
export async function unsubscribe(db: Database, sink: EventSink, link: UnsubscribeLink, source: 'one_click' | 'preference_page', now: Date): Promise<SubscriptionStatus | null> {
  return db.transaction(async (tx) => {
    if (!(await workspaceExists(tx, link.w))) return null;
    const { created } = await addSuppression(tx, link.w, link.e, 'unsubscribed', source);
    if (link.c) {
      await tx.query(`UPDATE contacts SET subscription_state = 'unsubscribed', updated_at = $3 WHERE workspace_id = $1 AND id = $2 AND subscription_state <> 'unsubscribed'`, [link.w, link.c, now]);
    }
    if (created) {
      await recordEvents(tx, sink, link.w, [{ contactId: link.c, type: 'email', name: 'unsubscribed', properties: { messageId: link.m, source } }], now);
    }
    return { email: link.e, unsubscribed: true };
  });
}

/** Undoes an unsubscribe from the preference page; other suppressions (bounces, complaints) stay. */
export async function resubscribe(db: Database, link: UnsubscribeLink, now: Date): Promise<SubscriptionStatus | null> {
  return db.transaction(async (tx) => {
    if (!(await workspaceExists(tx, link.w))) return null;
    await removeSuppression(tx, link.w, link.e, 'unsubscribed');
    if (link.c) {
      await tx.query(`UPDATE contacts SET subscription_state = 'subscribed', updated_at = $3 WHERE workspace_id = $1 AND id = $2`, [link.w, link.c, now]);
    }
    const remaining = await getSuppression(tx, link.w, link.e);
    return { email: link.e, unsubscribed: remaining !== null };
  });
}
