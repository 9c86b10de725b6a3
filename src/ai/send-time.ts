/**
 * Personalized campaign email at send time, a sender batch at once. The sender hands each claimed
 * batch to `personalizeClaimed` before tracking is added; the messages whose campaign node asked
 * for personalization (ai_mode) and whose outcome is not decided yet are personalized, the rest
 * pass untouched. Per batch and workspace the work is a fixed number of statements whatever the
 * batch's size: the governance context (policy, prices, settings), the contacts' facts, the cached
 * variants (when they are kept), the budget reservation and settlement (paid providers), the call
 * log rows, the new variant rows, and the messages' content and outcome — offline, four in all.
 *
 * Generated variants are stored per (original content, contact, generator): a retried send reuses
 * its variant, and when the policy requires approval a new variant waits as `pending` while the
 * original is sent; once approved, later sends of the same content to that contact use it. Any
 * failure sends the original. The message records what happened (ai_outcome, ai_reason) and keeps
 * the content actually sent; it is written before the batch is delivered.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/database.js';
import { SYSTEM_ACTOR } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { loadAiContext } from './context.js';
import { OfflineCompiler, sentContentOf } from './offline-compiled.js';
import { personalizeResultOf, type AiMode, type AiService } from './personalize.js';
import type { SentContent, VariantStatus } from './variants.js';

export interface PersonalizableMessage {
  id: string;
  workspaceId: string;
  contactId: string | null;
  sourceType: string;
  sourceId: string | null;
  subject: string;
  html: string;
  text: string;
  aiMode: AiMode;
}

/** A message as the sender claimed it (its row's columns); personalized content replaces its own. */
export interface ClaimedForAi {
  id: string;
  workspace_id: string;
  contact_id: string | null;
  source_type: string;
  source_id: string | null;
  subject: string;
  html: string;
  text_body: string;
  ai_mode: AiMode | null;
  ai_outcome: string | null;
}

interface Decision {
  outcome: 'personalized' | 'pending_approval' | 'rejected' | 'fallback';
  reason: string;
  content: SentContent;
}

function contentHash(m: Pick<PersonalizableMessage, 'subject' | 'html' | 'text'>): string {
  return createHash('sha256').update(JSON.stringify([m.subject, m.html, m.text])).digest('hex');
}

export type MessagePersonalizer = (messages: PersonalizableMessage[], concurrency?: number) => Promise<Map<string, SentContent>>;

export function createMessagePersonalizer(deps: { db: Database; clock: Clock; logger: Logger; service: AiService }): MessagePersonalizer {
  const { db, clock, service } = deps;
  // The offline rules compiled per original email, kept across batches (offline-compiled.ts).
  const offline = new OfflineCompiler();

  /** One workspace's messages of one batch; returns each message's decision. */
  async function decide(workspaceId: string, messages: PersonalizableMessage[], concurrency: number, decisions: Map<string, Decision>): Promise<void> {
    const withContact = messages.filter((m) => m.contactId !== null);
    for (const m of messages) if (m.contactId === null) decisions.set(m.id, { outcome: 'fallback', reason: 'the message has no contact', content: originalOf(m) });
    // Two independent reads, in flight together: the batch waits for one round trip, not two.
    const [context, facts] = await Promise.all([loadAiContext(db, workspaceId), service.factsOfMany(db, workspaceId, withContact.map((m) => m.contactId!))]);
    const variantRows: Array<Record<string, unknown>> = [];
    for (const mode of ['offline', 'provider'] as const) {
      const group = withContact.filter((m) => m.aiMode === mode);
      if (group.length === 0) continue;
      const provider = service.providerIn(workspaceId, context, mode);
      const generator = `${provider.kind}:${provider.model}`;
      // The offline rules are deterministic and free: with no approval to wait for, nothing is
      // worth caching, and skipping the variant rows saves two statements per batch.
      const store = mode === 'provider' || context.policy.requireApproval;
      const hashes = new Map(store ? group.map((m) => [m.id, contentHash(m)]) : []);
      const cached = new Map<string, { status: VariantStatus; subject: string; html: string; text_body: string }>();
      if (store) {
        const found = await db.query<{ content_hash: string; contact_id: string; status: VariantStatus; subject: string; html: string; text_body: string }>(
          `SELECT content_hash, contact_id, status, subject, html, text_body FROM ai_variants
            WHERE workspace_id = $1 AND generator = $2 AND (content_hash, contact_id) IN (SELECT * FROM unnest($3::text[], $4::uuid[]))`,
          [workspaceId, generator, group.map((m) => hashes.get(m.id)!), group.map((m) => m.contactId!)],
        );
        for (const r of found.rows) cached.set(`${r.content_hash}:${r.contact_id}`, r);
      }
      const fresh: PersonalizableMessage[] = [];
      for (const m of group) {
        const hit = cached.get(`${hashes.get(m.id)}:${m.contactId}`);
        if (!hit) fresh.push(m);
        else if (hit.status === 'approved') decisions.set(m.id, { outcome: 'personalized', reason: 'cached variant', content: { subject: hit.subject, html: hit.html, text: hit.text_body } });
        else decisions.set(m.id, { outcome: hit.status === 'pending' ? 'pending_approval' : 'rejected', reason: `the variant is ${hit.status}; the original was sent`, content: originalOf(m) });
      }
      if (fresh.length === 0) continue;
      const items = fresh.map((m) =>
        service.personalizeItem({ subject: m.subject, preheader: '', html: m.html }, m.contactId!, facts.get(m.contactId!) ?? null, context.policy, { messageId: m.id, campaignId: campaignOf(m) }, offline),
      );
      const governed = await service.governedMany(db, workspaceId, SYSTEM_ACTOR, 'personalize', context, provider, items, concurrency);
      const now = clock.now().toISOString();
      // The same content to the same contact twice in one batch: one variant row (the first).
      const stored = new Set<string>();
      fresh.forEach((m, i) => {
        const original = originalOf(m);
        const result = personalizeResultOf(governed[i]!, { subject: m.subject, preheader: '', html: m.html });
        if (result.outcome !== 'ok') {
          decisions.set(m.id, { outcome: 'fallback', reason: `${result.reasonCode}: ${result.reason}`, content: original });
          return;
        }
        const content: SentContent = governed[i]!.value?.sent ?? sentContentOf(result.draft);
        const status: VariantStatus = context.policy.requireApproval ? 'pending' : 'approved';
        const key = `${hashes.get(m.id)}:${m.contactId}`;
        if (store && !stored.has(key)) {
          stored.add(key);
          variantRows.push({ workspace_id: workspaceId, content_hash: hashes.get(m.id), contact_id: m.contactId, generator, campaign_id: campaignOf(m), original, subject: content.subject, html: content.html, text_body: content.text, changes: result.changes, status, ai_call_id: result.callId, created_at: now });
        }
        if (status === 'pending') decisions.set(m.id, { outcome: 'pending_approval', reason: 'the policy requires approval; the original was sent', content: original });
        else decisions.set(m.id, { outcome: 'personalized', reason: result.changes.join('; ') || 'nothing to change', content });
      });
    }
    if (variantRows.length > 0) {
      const columns = Object.keys(variantRows[0]!).join(', ');
      await db.query(`INSERT INTO ai_variants (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::ai_variants, $1::json) ON CONFLICT (workspace_id, content_hash, contact_id, generator) DO NOTHING`, [JSON.stringify(variantRows)]);
    }
  }

  /** Records every decision of the batch on its message, in one statement. */
  async function record(messages: PersonalizableMessage[], decisions: Map<string, Decision>): Promise<void> {
    const rows = messages.map((m) => {
      const d = decisions.get(m.id)!;
      return { id: m.id, subject: d.content.subject, html: d.content.html, text_body: d.content.text, ai_outcome: d.outcome, ai_reason: d.reason.slice(0, 2000) };
    });
    await db.query(
      `UPDATE messages m SET subject = x.subject, html = x.html, text_body = x.text_body, ai_outcome = x.ai_outcome, ai_reason = x.ai_reason
         FROM json_populate_recordset(NULL::messages, $1::json) x
        WHERE m.id = x.id AND m.ai_outcome IS NULL`,
      [JSON.stringify(rows)],
    );
  }

  return async function personalizeMessages(messages, concurrency = 50) {
    const decisions = new Map<string, Decision>();
    const byWorkspace = new Map<string, PersonalizableMessage[]>();
    for (const m of messages) byWorkspace.set(m.workspaceId, [...(byWorkspace.get(m.workspaceId) ?? []), m]);
    for (const [workspaceId, group] of byWorkspace) {
      try {
        await decide(workspaceId, group, concurrency, decisions);
      } catch (error) {
        // No email is lost or held because AI failed: anything unexpected sends the original.
        deps.logger.error({ err: error, workspaceId }, 'personalization failed; sending the originals');
        for (const m of group) if (!decisions.has(m.id)) decisions.set(m.id, { outcome: 'fallback', reason: 'INTERNAL: an unexpected error', content: originalOf(m) });
      }
    }
    try {
      await record(messages, decisions);
    } catch (error) {
      // Unrecorded, the originals are sent; a retried send decides again.
      deps.logger.error({ err: error }, 'could not record personalization; sending the originals');
      return new Map(messages.map((m) => [m.id, originalOf(m)]));
    }
    return new Map([...decisions].map(([id, d]) => [id, d.content]));
  };
}

/**
 * The sender's hook: personalizes the claimed messages that asked for it and have no outcome yet,
 * replacing their subject, html and text in place. Never throws.
 */
export function personalizeClaimedWith(personalize: MessagePersonalizer) {
  return async function personalizeClaimed(claimed: ClaimedForAi[], concurrency: number): Promise<void> {
    const wanted = claimed.filter((m): m is ClaimedForAi & { ai_mode: AiMode } => m.ai_mode !== null && m.ai_outcome === null);
    if (wanted.length === 0) return;
    const contents = await personalize(
      wanted.map((m) => ({ id: m.id, workspaceId: m.workspace_id, contactId: m.contact_id, sourceType: m.source_type, sourceId: m.source_id, subject: m.subject, html: m.html, text: m.text_body, aiMode: m.ai_mode })),
      concurrency,
    ).catch(() => new Map<string, SentContent>());
    for (const m of wanted) {
      const content = contents.get(m.id);
      if (!content) continue;
      m.subject = content.subject;
      m.html = content.html;
      m.text_body = content.text;
    }
  };
}

function originalOf(m: PersonalizableMessage): SentContent {
  return { subject: m.subject, html: m.html, text: m.text };
}

function campaignOf(m: PersonalizableMessage): string | null {
  return m.sourceType === 'campaign' ? m.sourceId : null;
}
