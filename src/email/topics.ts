/**
 * Subscription topics: the kinds of marketing email a workspace sends ("Product news",
 * "Webinars"). A campaign email node names its topic (or gets the workspace's default topic);
 * a contact may opt out of one topic and keep the others. The sender refuses a message whose
 * contact opted out of its topic ('topic_unsubscribed', suppressions.ts); the preference page
 * and one-click unsubscribe (public.routes.ts) change opt-outs through this module.
 *
 * Transactional email (test sends, member notifications, campaigns whose priority is
 * 'transactional') has no topic: opt-outs never apply to it.
 */
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { EmailDeps } from './deps.js';

export interface Topic {
  id: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  /** Contacts opted out of this topic. */
  optedOut: number;
  createdAt: string;
  updatedAt: string;
}

export interface TopicInput {
  name: string;
  description?: string | null | undefined;
  isDefault?: boolean | undefined;
}

interface TopicRow {
  id: string;
  name: string;
  description: string | null;
  is_default: boolean;
  opted_out: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `t.id, t.name, t.description, t.is_default, t.created_at, t.updated_at,
       (SELECT count(*)::int FROM contact_topic_optouts o WHERE o.workspace_id = t.workspace_id AND o.topic_id = t.id) AS opted_out`;

const toTopic = (r: TopicRow): Topic => ({
  id: r.id,
  name: r.name,
  description: r.description,
  isDefault: r.is_default,
  optedOut: r.opted_out,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function nameTaken(name: string): AppError {
  return new AppError('TOPIC_NAME_TAKEN', `A topic named "${name.trim()}" already exists`);
}

/** The workspace's topics: the default first, then by name. */
export async function listTopics(q: Queryable, workspaceId: string): Promise<Topic[]> {
  const result = await q.query<TopicRow>(`SELECT ${COLUMNS} FROM subscription_topics t WHERE t.workspace_id = $1 ORDER BY t.is_default DESC, lower(t.name), t.id`, [workspaceId]);
  return result.rows.map(toTopic);
}

export async function getTopic(q: Queryable, workspaceId: string, id: string): Promise<Topic | null> {
  const result = await q.query<TopicRow>(`SELECT ${COLUMNS} FROM subscription_topics t WHERE t.workspace_id = $1 AND t.id = $2`, [workspaceId, id]);
  return result.rows[0] ? toTopic(result.rows[0]) : null;
}

/** At most one default topic: making one the default takes it from the others. */
async function clearDefault(q: Queryable, workspaceId: string, except: string | null, now: Date): Promise<void> {
  await q.query(`UPDATE subscription_topics SET is_default = false, updated_at = $3 WHERE workspace_id = $1 AND is_default AND ($2::uuid IS NULL OR id <> $2)`, [workspaceId, except, now]);
}

export async function createTopic({ db, clock }: EmailDeps, workspaceId: string, actor: Actor, input: TopicInput): Promise<Topic> {
  const now = clock.now();
  try {
    return await db.transaction(async (tx) => {
      if (input.isDefault) await clearDefault(tx, workspaceId, null, now);
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO subscription_topics (workspace_id, name, description, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
        [workspaceId, input.name.trim(), input.description ?? null, input.isDefault ?? false, now],
      );
      const topic = (await getTopic(tx, workspaceId, inserted.rows[0]!.id))!;
      await recordAudit(tx, { workspaceId, actor, action: 'topic.create', resourceType: 'topic', resourceId: topic.id, after: topic });
      return topic;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
}

export async function updateTopic({ db, clock }: EmailDeps, workspaceId: string, actor: Actor, id: string, input: TopicInput): Promise<Topic> {
  const now = clock.now();
  try {
    return await db.transaction(async (tx) => {
      const before = await getTopic(tx, workspaceId, id);
      if (!before) throw notFound('Topic');
      if (input.isDefault) await clearDefault(tx, workspaceId, id, now);
      await tx.query(`UPDATE subscription_topics SET name = $3, description = $4, is_default = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2`, [
        workspaceId,
        id,
        input.name.trim(),
        input.description ?? null,
        input.isDefault ?? false,
        now,
      ]);
      const after = (await getTopic(tx, workspaceId, id))!;
      await recordAudit(tx, { workspaceId, actor, action: 'topic.update', resourceType: 'topic', resourceId: id, before, after });
      return after;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
}

/**
 * name: campaigns-naming-topic — campaigns (not archived) whose draft or a published version has
 * a node (an email, an email_event trigger) naming this topic. jsonb containment on the definition; topics are deleted rarely.
 */
async function campaignsUsing(q: Queryable, workspaceId: string, topicId: string): Promise<Array<{ id: string; name: string }>> {
  const probe = JSON.stringify({ nodes: [{ config: { topicId } }] });
  const result = await q.query<{ id: string; name: string }>(
    `SELECT c.id, c.name
       FROM campaigns c
      WHERE c.workspace_id = $1 AND c.status <> 'archived'
        AND (c.draft_definition @> $2::jsonb
             OR EXISTS (SELECT 1 FROM campaign_versions v WHERE v.workspace_id = c.workspace_id AND v.campaign_id = c.id AND v.definition @> $2::jsonb))
      ORDER BY c.name`,
    [workspaceId, probe],
  );
  return result.rows;
}

/** Deletes a topic and its opt-outs; refused while a live campaign names it. Queued messages keep going, without a topic. */
export async function deleteTopic({ db }: EmailDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getTopic(tx, workspaceId, id);
    if (!before) throw notFound('Topic');
    const using = await campaignsUsing(tx, workspaceId, id);
    if (using.length > 0) {
      throw new AppError('TOPIC_IN_USE', `The topic is used by ${using.length} campaign${using.length === 1 ? '' : 's'}: ${using.map((c) => c.name).join(', ')}`, { campaigns: using });
    }
    await tx.query('DELETE FROM subscription_topics WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'topic.delete', resourceType: 'topic', resourceId: id, before });
  });
}

/** Issues for topic ids a campaign definition names that do not exist in the workspace. */
export async function missingTopics(q: Queryable, workspaceId: string, required: Array<{ nodeId: string; topicId: string }>): Promise<Array<{ nodeId: string; field: string; message: string }>> {
  if (required.length === 0) return [];
  const found = await q.query<{ id: string }>('SELECT id FROM subscription_topics WHERE workspace_id = $1 AND id = ANY($2::uuid[])', [workspaceId, required.map((r) => r.topicId)]);
  const existing = new Set(found.rows.map((r) => r.id));
  return required.filter((r) => !existing.has(r.topicId)).map((r) => ({ nodeId: r.nodeId, field: 'config.topicId', message: `no subscription topic ${r.topicId} in this workspace` }));
}

export interface ContactTopic {
  id: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  subscribed: boolean;
  /** When and how the contact opted out; null while subscribed. */
  optedOutAt: string | null;
  source: string | null;
}

/** Every topic of the workspace with the contact's state in it. */
export async function topicsOfContact(q: Queryable, workspaceId: string, contactId: string): Promise<ContactTopic[]> {
  const result = await q.query<{ id: string; name: string; description: string | null; is_default: boolean; created_at: Date | null; source: string | null }>(
    `SELECT t.id, t.name, t.description, t.is_default, o.created_at, o.source
       FROM subscription_topics t
       LEFT JOIN contact_topic_optouts o ON o.topic_id = t.id AND o.contact_id = $2
      WHERE t.workspace_id = $1
      ORDER BY t.is_default DESC, lower(t.name), t.id`,
    [workspaceId, contactId],
  );
  return result.rows.map((r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    isDefault: r.is_default,
    subscribed: r.created_at === null,
    optedOutAt: r.created_at ? r.created_at.toISOString() : null,
    source: r.source,
  }));
}

/** The contacts API view: 404 when the contact is not in the workspace. */
export async function contactTopics(q: Queryable, workspaceId: string, contactId: string): Promise<ContactTopic[]> {
  const contact = await q.query('SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2', [workspaceId, contactId]);
  if (contact.rowCount === 0) throw notFound('Contact');
  return topicsOfContact(q, workspaceId, contactId);
}

/**
 * Opts a contact out of a topic, once: a new opt-out records an `email` `unsubscribed` event with
 * `scope: 'topic'` and the topic, which campaign triggers and segments read. Returns whether it is new.
 */
export async function optOutOfTopic(
  q: Queryable,
  sink: EventSink,
  workspaceId: string,
  contactId: string,
  topic: { id: string; name: string },
  source: string,
  messageId: string | null,
  now: Date,
): Promise<boolean> {
  const inserted = await q.query(
    `INSERT INTO contact_topic_optouts (workspace_id, contact_id, topic_id, source, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_id, topic_id) DO NOTHING`,
    [workspaceId, contactId, topic.id, source, now],
  );
  if (inserted.rowCount === 0) return false;
  await recordEvents(q, sink, workspaceId, [{ contactId, type: 'email', name: 'unsubscribed', properties: { messageId, source, scope: 'topic', topicId: topic.id, topicName: topic.name } }], now);
  return true;
}

/** Opts a contact back in to a topic; returns whether an opt-out was removed. */
export async function optInToTopic(q: Queryable, workspaceId: string, contactId: string, topicId: string): Promise<boolean> {
  const removed = await q.query('DELETE FROM contact_topic_optouts WHERE workspace_id = $1 AND contact_id = $2 AND topic_id = $3', [workspaceId, contactId, topicId]);
  return removed.rowCount > 0;
}

/**
 * Sets a contact's state in the given topics from the contacts API (audited). Unknown topic ids
 * are refused before anything changes.
 */
export async function setContactTopics(
  db: Database,
  sink: EventSink,
  workspaceId: string,
  contactId: string,
  changes: Array<{ topicId: string; subscribed: boolean }>,
  actor: Actor,
  now: Date,
): Promise<ContactTopic[]> {
  return db.transaction(async (tx) => {
    const contact = await tx.query('SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2', [workspaceId, contactId]);
    if (contact.rowCount === 0) throw notFound('Contact');
    const before = await topicsOfContact(tx, workspaceId, contactId);
    const byId = new Map(before.map((t) => [t.id, t]));
    const unknown = changes.filter((c) => !byId.has(c.topicId)).map((c) => c.topicId);
    if (unknown.length > 0) throw new AppError('VALIDATION_FAILED', `No subscription topic ${unknown[0]} in this workspace`, { field: 'topics', unknown });
    const source = `${actor.type}:${actor.id ?? ''}`;
    const changed: Array<{ topicId: string; subscribed: boolean }> = [];
    for (const change of changes) {
      const topic = byId.get(change.topicId)!;
      const did = change.subscribed ? await optInToTopic(tx, workspaceId, contactId, topic.id) : await optOutOfTopic(tx, sink, workspaceId, contactId, topic, source, null, now);
      if (did) changed.push(change);
    }
    if (changed.length > 0) {
      await recordAudit(tx, { workspaceId, actor, action: 'contact.topics_update', resourceType: 'contact', resourceId: contactId, before: before.map((t) => ({ id: t.id, subscribed: t.subscribed })), after: changed });
    }
    return topicsOfContact(tx, workspaceId, contactId);
  });
}
