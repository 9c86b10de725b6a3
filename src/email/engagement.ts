/**
 * What happens when a recipient acts on an email: opens (pixel), clicks (redirect) and
 * unsubscribes. Each is recorded as an `email` event through recordEvents, so campaigns and
 * scores see it in the same transaction. Links are trusted only after their signature checked.
 */
import type { Database, Queryable } from '../db/database.js';
import { deliverEvents, eventBatch, insertEventsSql, recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { isMachineOpen, type ClickLink, type OpenLink, type UnsubscribeLink } from './links.js';
import { addSuppression, getSuppression, removeSuppression } from './suppressions.js';
import { optInToTopic, optOutOfTopic, topicsOfContact, type ContactTopic } from './topics.js';

export interface Visitor {
  userAgent: string;
  ip: string;
}

/**
 * Records one email event of a message in one statement that also checks the message still
 * exists (nothing is stored when it does not: false), then hands it to the sink in the same
 * transaction.
 */
async function recordMessageEvent(db: Database, sink: EventSink, workspaceId: string, messageId: string, event: NewEvent, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const batch = eventBatch([event]);
    const result = await tx.query<{ found: boolean; event_ids: string[] }>(
      `WITH m AS (SELECT 1 FROM messages WHERE workspace_id = $1 AND id = $4),
            e AS (${insertEventsSql('$1', '$2', '$3', 'EXISTS (SELECT 1 FROM m)')})
       SELECT EXISTS (SELECT 1 FROM m) AS found, ARRAY(SELECT id::text FROM e) AS event_ids`,
      [workspaceId, batch.payload, now, messageId],
    );
    const row = result.rows[0]!;
    if (!row.found) return false;
    await deliverEvents(tx, sink, workspaceId, [event], batch, row.event_ids, now);
    return true;
  });
}

/** Records an open; returns false when the message no longer exists. */
export async function recordOpen(db: Database, sink: EventSink, link: OpenLink, visitor: Visitor, now: Date): Promise<boolean> {
  const properties = { messageId: link.m, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) };
  return recordMessageEvent(db, sink, link.w, link.m, { contactId: link.c, type: 'email', name: 'opened', properties }, now);
}

/** Records a click; the caller redirects to the signed URL either way. */
export async function recordClick(db: Database, sink: EventSink, link: ClickLink, visitor: Visitor, now: Date): Promise<boolean> {
  const properties = { messageId: link.m, url: link.u, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) };
  return recordMessageEvent(db, sink, link.w, link.m, { contactId: link.c, type: 'email', name: 'clicked', properties }, now);
}

export interface SubscriptionStatus {
  email: string;
  /** Suppressed for any reason (unsubscribed from all, bounce, complaint, manual). */
  unsubscribed: boolean;
  /** The workspace's topics with the contact's state; null when the link has no (existing) contact. */
  topics: ContactTopic[] | null;
  /** The topic of the email the link came from, when it still exists. */
  messageTopic: { id: string; name: string } | null;
}

async function workspaceExists(q: Queryable, workspaceId: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM workspaces WHERE id = $1', [workspaceId])).rowCount > 0;
}

async function contactTopicsOf(q: Queryable, link: UnsubscribeLink): Promise<ContactTopic[] | null> {
  if (!link.c) return null;
  const contact = await q.query('SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2', [link.w, link.c]);
  return contact.rowCount === 0 ? null : topicsOfContact(q, link.w, link.c);
}

async function statusOf(q: Queryable, link: UnsubscribeLink): Promise<SubscriptionStatus> {
  const suppression = await getSuppression(q, link.w, link.e);
  const topics = await contactTopicsOf(q, link);
  let messageTopic: SubscriptionStatus['messageTopic'] = null;
  if (link.p) {
    const row = await q.query<{ id: string; name: string }>('SELECT id, name FROM subscription_topics WHERE workspace_id = $1 AND id = $2', [link.w, link.p]);
    messageTopic = row.rows[0] ?? null;
  }
  return { email: link.e, unsubscribed: suppression !== null, topics, messageTopic };
}

/** The status shown on the preference page; null when the workspace is gone. */
export async function subscriptionStatus(db: Database, link: UnsubscribeLink): Promise<SubscriptionStatus | null> {
  if (!(await workspaceExists(db, link.w))) return null;
  return statusOf(db, link);
}

async function unsubscribeFromAll(tx: Queryable, sink: EventSink, link: UnsubscribeLink, source: 'one_click' | 'preference_page', now: Date): Promise<void> {
  const { created } = await addSuppression(tx, link.w, link.e, 'unsubscribed', source);
  if (link.c) {
    await tx.query(`UPDATE contacts SET subscription_state = 'unsubscribed', updated_at = $3 WHERE workspace_id = $1 AND id = $2 AND subscription_state <> 'unsubscribed'`, [link.w, link.c, now]);
  }
  if (created) {
    await recordEvents(tx, sink, link.w, [{ contactId: link.c, type: 'email', name: 'unsubscribed', properties: { messageId: link.m, source, scope: 'all', topicId: link.p ?? null } }], now);
  }
}

/**
 * Unsubscribes from all marketing email: the contact's subscription_state, a suppression
 * ('unsubscribed') and an `unsubscribed` event with `scope: 'all'`, once; repeating it changes
 * nothing. Null when the workspace is gone.
 */
export async function unsubscribe(db: Database, sink: EventSink, link: UnsubscribeLink, source: 'one_click' | 'preference_page', now: Date): Promise<SubscriptionStatus | null> {
  return db.transaction(async (tx) => {
    if (!(await workspaceExists(tx, link.w))) return null;
    await unsubscribeFromAll(tx, sink, link, source, now);
    return statusOf(tx, link);
  });
}

/**
 * The RFC 8058 one-click rule: the email's own topic when it has one (the link's `p`), that topic
 * still exists and the link names a contact — an opt-out of that topic only. Otherwise (no topic,
 * a deleted topic, no contact) the address is unsubscribed from all marketing email, which is
 * what the recipient asked for at least. Returns which it was; null when the workspace is gone.
 */
export async function oneClickUnsubscribe(db: Database, sink: EventSink, link: UnsubscribeLink, now: Date): Promise<{ status: SubscriptionStatus; scope: 'topic' | 'all' } | null> {
  return db.transaction(async (tx) => {
    if (!(await workspaceExists(tx, link.w))) return null;
    const topics = await contactTopicsOf(tx, link);
    const topic = link.p ? topics?.find((t) => t.id === link.p) : undefined;
    if (topic && link.c) {
      await optOutOfTopic(tx, sink, link.w, link.c, topic, 'one_click', link.m, now);
      return { status: await statusOf(tx, link), scope: 'topic' };
    }
    await unsubscribeFromAll(tx, sink, link, 'one_click', now);
    return { status: await statusOf(tx, link), scope: 'all' };
  });
}

/**
 * The preference page's topic form: the contact stays subscribed to the topics in `subscribed`
 * and is opted out of every other topic of the workspace. Null when the workspace is gone or the
 * link has no contact (the page then offers only "unsubscribe from all").
 */
export async function savePreferences(db: Database, sink: EventSink, link: UnsubscribeLink, subscribed: ReadonlySet<string>, now: Date): Promise<SubscriptionStatus | null> {
  return db.transaction(async (tx) => {
    if (!(await workspaceExists(tx, link.w))) return null;
    const topics = await contactTopicsOf(tx, link);
    if (!topics || !link.c) return null;
    for (const topic of topics) {
      if (subscribed.has(topic.id)) await optInToTopic(tx, link.w, link.c, topic.id);
      else await optOutOfTopic(tx, sink, link.w, link.c, topic, 'preference_page', link.m, now);
    }
    return statusOf(tx, link);
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
    return statusOf(tx, link);
  });
}
