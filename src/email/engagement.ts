/**
 * What happens when a recipient acts on an email: opens (pixel), clicks (redirect) and
 * unsubscribes. Each is recorded as an `email` event through recordEvents, so campaigns and
 * scores see it in the same transaction. Links are trusted only after their signature checked.
 */
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink, type NewEvent, type RecordedEvent } from '../core/events.js';
import { GroupCommit } from '../platform/group-commit.js';
import { uuidv7 } from '../platform/uuid.js';
import { isMachineOpen, type ClickLink, type OpenLink, type UnsubscribeLink } from './links.js';
import { addSuppression, getSuppression, removeSuppression } from './suppressions.js';
import { optInToTopic, optOutOfTopic, topicsOfContact, type ContactTopic } from './topics.js';

export interface Visitor {
  userAgent: string;
  ip: string;
}

/** One email event of a message (an open or a click) and when it was received. */
export interface MessageEvent {
  workspaceId: string;
  messageId: string;
  event: NewEvent;
  now: Date;
}

// name: record-message-events
// The events of messages that still exist, in one statement: each is stored under the message's
// current contact (a contact deleted since the send leaves the message with none, and the event
// is kept without one rather than refused), in the order given. Returns the stored ones.
const RECORD_MESSAGE_EVENTS_SQL = `
  WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS r(ord integer, id uuid, workspace_id uuid, message uuid, type text, name text, properties jsonb, received_at timestamptz)
  ), found AS (
    SELECT r.*, m.contact_id FROM r JOIN messages m ON m.id = r.message AND m.workspace_id = r.workspace_id
  ), stored AS (
    INSERT INTO events (id, workspace_id, contact_id, type, name, properties, occurred_at, received_at)
    SELECT id, workspace_id, contact_id, type, name, properties, received_at, received_at FROM found ORDER BY ord
    RETURNING id
  )
  SELECT f.ord, f.id, f.contact_id FROM found f JOIN stored s ON s.id = f.id`;

/**
 * Records email events of messages (opens, clicks) in one transaction: one statement stores the
 * events of the messages that still exist, and the sink sees them in the same transaction. One
 * result per item: false when its message no longer exists (nothing stored).
 */
export async function recordMessageEvents(db: Database, sink: EventSink, items: MessageEvent[]): Promise<boolean[]> {
  if (items.length === 0) return [];
  const ids = items.map(() => uuidv7());
  const payload = JSON.stringify(
    items.map((item, ord) => ({ ord, id: ids[ord], workspace_id: item.workspaceId, message: item.messageId, type: item.event.type, name: item.event.name, properties: item.event.properties ?? {}, received_at: item.now.toISOString() })),
  );
  return db.transaction(async (tx) => {
    const result = await tx.query<{ ord: number; id: string; contact_id: string | null }>(RECORD_MESSAGE_EVENTS_SQL, [payload]);
    const stored: RecordedEvent[] = result.rows.map((row) => {
      const { workspaceId, event, now } = items[row.ord]!;
      return { id: row.id, workspaceId, contactId: row.contact_id, type: event.type, name: event.name, properties: event.properties ?? {}, occurredAt: now };
    });
    if (stored.length > 0) await sink.onEvents(tx, stored);
    const found = new Set(result.rows.map((row) => row.ord));
    return items.map((_, ord) => found.has(ord));
  });
}

function openEvent(link: OpenLink, visitor: Visitor, now: Date): MessageEvent {
  const properties = { messageId: link.m, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) };
  return { workspaceId: link.w, messageId: link.m, event: { contactId: link.c, type: 'email', name: 'opened', properties }, now };
}

function clickEvent(link: ClickLink, visitor: Visitor, now: Date): MessageEvent {
  const properties = { messageId: link.m, url: link.u, userAgent: visitor.userAgent, machineOpen: isMachineOpen(visitor.userAgent, visitor.ip) };
  return { workspaceId: link.w, messageId: link.m, event: { contactId: link.c, type: 'email', name: 'clicked', properties }, now };
}

/** Records an open; returns false when the message no longer exists. */
export async function recordOpen(db: Database, sink: EventSink, link: OpenLink, visitor: Visitor, now: Date): Promise<boolean> {
  return (await recordMessageEvents(db, sink, [openEvent(link, visitor, now)]))[0]!;
}

/** Records a click; the caller redirects to the signed URL either way. */
export async function recordClick(db: Database, sink: EventSink, link: ClickLink, visitor: Visitor, now: Date): Promise<boolean> {
  return (await recordMessageEvents(db, sink, [clickEvent(link, visitor, now)]))[0]!;
}

/**
 * Opens and clicks as they arrive from recipients, group-committed (platform/group-commit.ts):
 * every event that arrives while a write is under way goes into the next one, so a burst of
 * opens after a send costs a few transactions rather than one per pixel, and each request waits
 * about two writes. An event is stored before its request is answered, as when written alone.
 * A write that fails is retried item by item, so that one event's failure fails only its own
 * request.
 */
export class EngagementRecorder {
  private readonly writes: GroupCommit<MessageEvent, boolean | Error>;

  constructor(
    private readonly db: Database,
    private readonly sink: () => EventSink,
  ) {
    this.writes = new GroupCommit({ write: (items) => this.write(items), maxBatch: 200, maxConcurrent: 2 });
  }

  /** Records an open; false when the message no longer exists. */
  open(link: OpenLink, visitor: Visitor, now: Date): Promise<boolean> {
    return this.submit(openEvent(link, visitor, now));
  }

  /** Records a click; false when the message no longer exists. */
  click(link: ClickLink, visitor: Visitor, now: Date): Promise<boolean> {
    return this.submit(clickEvent(link, visitor, now));
  }

  private async submit(item: MessageEvent): Promise<boolean> {
    const result = await this.writes.submit(item);
    if (result instanceof Error) throw result;
    return result;
  }

  private async write(items: MessageEvent[]): Promise<Array<boolean | Error>> {
    try {
      return await recordMessageEvents(this.db, this.sink(), items);
    } catch (error) {
      if (items.length === 1) return [error instanceof Error ? error : new Error(String(error))];
      const results: Array<boolean | Error> = [];
      for (const item of items) {
        results.push(await recordMessageEvents(this.db, this.sink(), [item]).then((r) => r[0]!, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
      }
      return results;
    }
  }
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
