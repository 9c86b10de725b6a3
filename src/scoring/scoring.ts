/**
 * Lead score 0–100 = engagement (40) + sentiment (20) + intent (20) + role (10) + status (10),
 * each part explained. The score is stored with the inputs it was computed from
 * (contacts.score_inputs); the explanation is rendered from those when a contact is read
 * (`explainScore`), so it always adds up to the stored score. The event processor
 * (`src/events/processor.ts`) hands it every stored event shortly after the producer committed:
 * it adds the batch's deltas to the contact's engagement counters (one upsert), recomputes the
 * touched contacts (one read, one update of those whose score or last activity changed) and returns
 * a `score_threshold_crossed` event for each contact that changed band (cold < 60 ≤ warm < 80 ≤
 * hot), for the processor to record.
 */
import type { Queryable } from '../db/database.js';
import type { Engagement, ScoreInputs } from '../core/contact.js';
import type { ContactStatus, ScorePart } from '../core/contact.schemas.js';
import type { NewEvent, RecordedEvent } from '../core/events.js';
import { assertUnreachable } from '../http/errors.js';
import type { ClassifyContext, ReplyClassifier } from './classifier.js';

export type ScoreBand = 'cold' | 'warm' | 'hot';

export function bandOf(score: number): ScoreBand {
  if (score >= 80) return 'hot';
  if (score >= 60) return 'warm';
  return 'cold';
}

export const NO_ENGAGEMENT: Readonly<Engagement> = { opens: 0, clicks: 0, replies: 0, activity: 0, sentimentSum: 0, sentimentCount: 0, maxIntent: 0, intentReason: null };

// Track events whose names signal buying intent, strongest first.
const INTENT_EVENTS: Array<[RegExp, number, string]> = [
  [/(order|purchase|checkout).*(complete|placed)|subscription started|payment/i, 1, 'completed a purchase'],
  [/checkout|quote|contact sales|pricing/i, 0.7, 'looked at pricing or checkout'],
  [/demo|trial|sign(ed)? ?up|register/i, 0.5, 'requested a demo or signed up'],
];

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function rolePart(jobTitle: string | null): ScorePart {
  const title = (jobTitle ?? '').toLowerCase();
  let points = 0;
  let why = 'no job title';
  if (/\b(ceo|cto|cmo|cfo|coo|cro|chief|founder|co-founder|owner|president|partner)\b/.test(title)) [points, why] = [10, 'executive or founder'];
  else if (/\b(vp|vice president|svp|evp)\b/.test(title)) [points, why] = [9, 'vice president'];
  else if (/\b(director|head)\b/.test(title)) [points, why] = [8, 'director or head of a team'];
  else if (/\b(manager|lead|principal)\b/.test(title)) [points, why] = [6, 'manager or team lead'];
  else if (title.trim()) [points, why] = [3, 'individual contributor'];
  return { part: 'role', points, max: 10, explanation: jobTitle ? `${jobTitle}: ${why}` : why };
}

function statusPart(status: ContactStatus): ScorePart {
  switch (status) {
    case 'prospect':
      return { part: 'status', points: 0, max: 10, explanation: 'prospect' };
    case 'lead':
      return { part: 'status', points: 5, max: 10, explanation: 'lead' };
    case 'customer':
      return { part: 'status', points: 10, max: 10, explanation: 'customer' };
    default:
      return assertUnreachable(status);
  }
}

export function scoreInputs(contact: { jobTitle: string | null; status: ContactStatus; scoreAdjustment?: number }, e: Engagement): ScoreInputs {
  return { ...e, jobTitle: contact.jobTitle, status: contact.status, scoreAdjustment: contact.scoreAdjustment ?? 0 };
}

/**
 * The explanation of a stored score, from the inputs stored with it. With the contact's `current`
 * job title and status: those when they are worth the points of the stored ones — the processor
 * does not rewrite a contact whose score did not change (`recompute`), so a new title of the same
 * rank may not be in the stored inputs yet. The parts always add up to the stored score.
 */
export function explainScore(inputs: ScoreInputs, current?: { jobTitle: string | null; status: ContactStatus }): ScorePart[] {
  let shown = inputs;
  if (current && (current.jobTitle !== inputs.jobTitle || current.status !== inputs.status)) {
    const samePoints = rolePart(current.jobTitle).points === rolePart(inputs.jobTitle).points && statusPart(current.status).points === statusPart(inputs.status).points;
    if (samePoints) shown = { ...inputs, jobTitle: current.jobTitle, status: current.status };
  }
  return computeScore(shown, shown).breakdown;
}

/** The score alone (what the event processor stores), without writing the explanation. */
export function scoreOf(inputs: ScoreInputs): number {
  return pointsOf(inputs, inputs).score;
}

/** Each part's points and the total, before any explanation is written. */
function pointsOf(contact: { jobTitle: string | null; status: ContactStatus; scoreAdjustment?: number }, e: Engagement) {
  const opens = Math.min(10, e.opens * 2);
  const clicks = Math.min(16, e.clicks * 4);
  const replies = Math.min(16, e.replies * 8);
  const activity = Math.min(8, e.activity);
  const engagement = Math.min(40, opens + clicks + replies + activity);
  const average = e.sentimentCount > 0 ? e.sentimentSum / e.sentimentCount : 0;
  const sentiment = e.sentimentCount > 0 ? Math.round(((average + 1) / 2) * 20) : 0;
  const intent = Math.round(Math.min(1, Math.max(0, e.maxIntent)) * 20);
  const role = rolePart(contact.jobTitle);
  const status = statusPart(contact.status);
  const adjustment = contact.scoreAdjustment ?? 0;
  const total = engagement + sentiment + intent + role.points + status.points + adjustment;
  return { opens, clicks, replies, activity, engagement, average, sentiment, intent, role, status, adjustment, score: Math.max(0, Math.min(100, total)) };
}

/** The score and its explanation; the parts always sum to the score. */
export function computeScore(contact: { jobTitle: string | null; status: ContactStatus; scoreAdjustment?: number }, e: Engagement): { score: number; breakdown: ScorePart[] } {
  const p = pointsOf(contact, e);
  const breakdown: ScorePart[] = [
    {
      part: 'engagement',
      points: p.engagement,
      max: 40,
      explanation: `${plural(e.opens, 'open')} (${p.opens}/10), ${plural(e.clicks, 'click')} (${p.clicks}/16), ${plural(e.replies, 'reply').replace('replys', 'replies')} (${p.replies}/16), ${plural(e.activity, 'tracked event')} (${p.activity}/8)`,
    },
    {
      part: 'sentiment',
      points: p.sentiment,
      max: 20,
      explanation: e.sentimentCount > 0 ? `average reply sentiment ${p.average.toFixed(2)} over ${plural(e.sentimentCount, 'reply').replace('replys', 'replies')} (−1 … 1)` : 'no replies yet',
    },
    { part: 'intent', points: p.intent, max: 20, explanation: e.maxIntent > 0 ? `strongest signal: ${e.intentReason ?? 'buying signal'}` : 'no buying signal yet' },
    p.role,
    p.status,
  ];
  if (p.adjustment !== 0) {
    breakdown.push({ part: 'adjustment', points: p.adjustment, max: 100, explanation: `changed by campaign actions (${p.adjustment > 0 ? '+' : ''}${p.adjustment})` });
  }
  return { score: p.score, breakdown };
}

function replyText(properties: Record<string, unknown>): string | null {
  for (const key of ['text', 'body', 'snippet', 'reply']) {
    const value = properties[key];
    if (typeof value === 'string' && value.trim()) return value.slice(0, 10_000);
  }
  return null;
}

/** How one event changes the counters, or null when it does not count. */
async function deltaOf(event: Pick<RecordedEvent, 'type' | 'name' | 'properties'>, classifier: ReplyClassifier, context: ClassifyContext): Promise<Partial<Engagement> | null> {
  switch (event.type) {
    case 'email':
      if (event.name === 'opened') return { opens: 1 };
      if (event.name === 'clicked') return { clicks: 1 };
      if (event.name === 'replied') {
        const text = replyText(event.properties);
        if (!text) return { replies: 1 };
        const c = await classifier.classify(text, context);
        return { replies: 1, sentimentSum: c.sentiment, sentimentCount: 1, maxIntent: c.intent, intentReason: c.intent > 0 ? `a reply ${c.reason}` : null };
      }
      return null;
    case 'track': {
      const signal = INTENT_EVENTS.find(([pattern]) => pattern.test(event.name));
      return signal ? { activity: 1, maxIntent: signal[1], intentReason: `${signal[2]} (${event.name})` } : { activity: 1 };
    }
    case 'page':
    case 'screen':
      return { activity: 1 };
    case 'identify':
    case 'group':
    case 'alias':
    case 'system':
      return null;
    default:
      return assertUnreachable(event.type);
  }
}

interface ScoreRow {
  id: string;
  job_title: string | null;
  status: ContactStatus;
  score: number;
  score_adjustment: number;
  /** The contact's stored last activity (the engagement row's is `last_activity_at`). */
  stored_activity_at: Date | null;
  no_inputs: boolean;
  opens: number | null;
  clicks: number | null;
  replies: number | null;
  activity: number | null;
  sentiment_sum: number | null;
  sentiment_count: number | null;
  max_intent: number | null;
  intent_reason: string | null;
  last_activity_at: Date | null;
}

/** The fields of a stored event that scoring reads. */
/** `occurredAt`, when given, moves the contact's last activity (events that count as engagement only). */
export type ScoredEvent = Pick<RecordedEvent, 'contactId' | 'type' | 'name' | 'properties'> & { occurredAt?: Date };

/**
 * What a recomputation did: the band crossings to record, the contacts it recomputed, and the
 * existing contacts it skipped because another transaction held them (to recompute later).
 */
export interface Recomputed {
  crossings: NewEvent[];
  recomputed: string[];
  deferred: string[];
}

export interface LeadScoring {
  /**
   * Applies a batch of stored events: counters (always), then a recomputation of every touched
   * contact that is not locked by another transaction (see `recompute`).
   */
  applyEvents(q: Queryable, workspaceId: string, events: ScoredEvent[], now: Date): Promise<Recomputed>;
  /**
   * Recomputes the given contacts' scores from their counters and fields. Contacts are locked with
   * SKIP LOCKED: a contact a producer holds (an identify upsert, a campaign step) is deferred
   * rather than waited for, so the processor never joins a lock cycle with a producer.
   */
  recompute(q: Queryable, workspaceId: string, contactIds: string[]): Promise<Recomputed>;
}

/** Events that are scoring's or segments' own output: they never change a score. */
export function isDerivedEvent(event: Pick<RecordedEvent, 'type' | 'name'>): boolean {
  return event.type === 'system' && (event.name === 'score_threshold_crossed' || event.name === 'segment_entered' || event.name === 'segment_exited');
}

export function createLeadScoring(classifier: ReplyClassifier): LeadScoring {
  async function applyEvents(q: Queryable, workspaceId: string, events: ScoredEvent[], now: Date): Promise<Recomputed> {
    const deltas = new Map<string, Engagement>();
    const lastActivity = new Map<string, Date>();
    const touched = new Set<string>();
    for (const event of events) {
      if (!event.contactId || isDerivedEvent(event)) continue;
      touched.add(event.contactId);
      const delta = await deltaOf(event, classifier, { q, workspaceId, contactId: event.contactId });
      if (!delta) continue;
      // Engagement is the contact acting: its latest time is the contact's last activity.
      const seen = lastActivity.get(event.contactId);
      if (event.occurredAt && (!seen || event.occurredAt > seen)) lastActivity.set(event.contactId, event.occurredAt);
      const total = deltas.get(event.contactId) ?? { ...NO_ENGAGEMENT };
      total.opens += delta.opens ?? 0;
      total.clicks += delta.clicks ?? 0;
      total.replies += delta.replies ?? 0;
      total.activity += delta.activity ?? 0;
      total.sentimentSum += delta.sentimentSum ?? 0;
      total.sentimentCount += delta.sentimentCount ?? 0;
      if ((delta.maxIntent ?? 0) > total.maxIntent) {
        total.maxIntent = delta.maxIntent ?? 0;
        total.intentReason = delta.intentReason ?? null;
      }
      deltas.set(event.contactId, total);
    }
    if (deltas.size > 0) await addEngagement(q, workspaceId, deltas, lastActivity, now);
    return recompute(q, workspaceId, [...touched]);
  }

  async function recompute(q: Queryable, workspaceId: string, contactIds: string[]): Promise<Recomputed> {
    if (contactIds.length === 0) return { crossings: [], recomputed: [], deferred: [] };
    const sorted = [...new Set(contactIds)].sort();
    const rows = await q.query<ScoreRow>(
      `SELECT c.id, c.job_title, c.status, c.score, c.score_adjustment, c.last_activity_at AS stored_activity_at, c.score_inputs IS NULL AS no_inputs, e.last_activity_at, e.opens, e.clicks, e.replies, e.activity, e.sentiment_sum, e.sentiment_count, e.max_intent, e.intent_reason
         FROM contacts c LEFT JOIN contact_engagement e ON e.contact_id = c.id
        WHERE c.workspace_id = $1 AND c.id = ANY($2::uuid[])
        ORDER BY c.id
        FOR NO KEY UPDATE OF c SKIP LOCKED`,
      [workspaceId, sorted],
    );
    const locked = new Set(rows.rows.map((r) => r.id));
    const skipped = sorted.filter((id) => !locked.has(id));
    // A skipped id is either locked by someone else (deferred) or gone (deleted: dropped).
    const deferred = skipped.length === 0 ? [] : (await q.query<{ id: string }>(`SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [workspaceId, skipped])).rows.map((r) => r.id);
    const updates: Array<{ id: string; score: number; inputs: ScoreInputs; last_activity_at: Date | null }> = [];
    const crossings: NewEvent[] = [];
    for (const row of rows.rows) {
      const inputs = scoreInputs(
        { jobTitle: row.job_title, status: row.status, scoreAdjustment: row.score_adjustment },
        {
          opens: row.opens ?? 0,
          clicks: row.clicks ?? 0,
          replies: row.replies ?? 0,
          activity: row.activity ?? 0,
          sentimentSum: row.sentiment_sum ?? 0,
          sentimentCount: row.sentiment_count ?? 0,
          maxIntent: row.max_intent ?? 0,
          intentReason: row.intent_reason,
        },
      );
      const score = scoreOf(inputs);
      // Only a real change is written: the score, or the last activity (lists filter and sort by
      // it). Counters or a same-rank job title that move neither are not worth a new row version
      // of a wide, much-indexed row (explainScore shows the current title; the counters catch up
      // with the next change). A batch with nothing changed sends no statement.
      const activityMoved = (row.stored_activity_at?.getTime() ?? null) !== (row.last_activity_at?.getTime() ?? null);
      if (score === row.score && !activityMoved && !row.no_inputs) continue;
      updates.push({ id: row.id, score, inputs, last_activity_at: row.last_activity_at });
      const from = bandOf(row.score);
      const to = bandOf(score);
      if (from !== to) {
        crossings.push({ contactId: row.id, type: 'system', name: 'score_threshold_crossed', properties: { from, to, band: to, score, previousScore: row.score, direction: score > row.score ? 'up' : 'down' } });
      }
    }
    // name: update-scores — one statement for the changed rows of the batch, locked above. NO KEY
    // UPDATE (not UPDATE) because rows that reference a contact by foreign key (enrollments,
    // identities, segment members) take KEY SHARE locks on it when they are inserted.
    if (updates.length > 0) await q.query(
      `UPDATE contacts c SET score = u.score, score_inputs = u.inputs, last_activity_at = u.last_activity_at
         FROM jsonb_to_recordset($2::jsonb) AS u(id uuid, score int, inputs jsonb, last_activity_at timestamptz)
        WHERE c.workspace_id = $1 AND c.id = u.id
          AND (c.score IS DISTINCT FROM u.score OR c.score_inputs IS DISTINCT FROM u.inputs OR c.last_activity_at IS DISTINCT FROM u.last_activity_at)`,
      [workspaceId, JSON.stringify(updates)],
    );
    return { crossings, recomputed: [...locked], deferred };
  }

  return { applyEvents, recompute };
}

/**
 * name: add-engagement — adds a batch's deltas to the counters in one upsert, in contact id order
 * so concurrent batches lock rows in the same order.
 */
/**
 * How counters are added into a contact's `contact_engagement` row (INSERT … AS ce): sums, the
 * strongest intent with its reason, the latest activity. Shared by event batches and contact merges.
 */
export const ADD_ENGAGEMENT_ON_CONFLICT = `ON CONFLICT (contact_id) DO UPDATE SET
       opens = ce.opens + EXCLUDED.opens,
       clicks = ce.clicks + EXCLUDED.clicks,
       replies = ce.replies + EXCLUDED.replies,
       activity = ce.activity + EXCLUDED.activity,
       sentiment_sum = ce.sentiment_sum + EXCLUDED.sentiment_sum,
       sentiment_count = ce.sentiment_count + EXCLUDED.sentiment_count,
       intent_reason = CASE WHEN EXCLUDED.max_intent > ce.max_intent THEN EXCLUDED.intent_reason ELSE ce.intent_reason END,
       max_intent = GREATEST(ce.max_intent, EXCLUDED.max_intent),
       last_activity_at = GREATEST(ce.last_activity_at, EXCLUDED.last_activity_at),
       updated_at = EXCLUDED.updated_at`;

async function addEngagement(q: Queryable, workspaceId: string, deltas: Map<string, Engagement>, lastActivity: Map<string, Date>, now: Date): Promise<void> {
  const rows = [...deltas.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([contactId, d]) => ({ contact_id: contactId, last_activity_at: lastActivity.get(contactId)?.toISOString() ?? null, opens: d.opens, clicks: d.clicks, replies: d.replies, activity: d.activity, sentiment_sum: d.sentimentSum, sentiment_count: d.sentimentCount, max_intent: d.maxIntent, intent_reason: d.intentReason }));
  await q.query(
    `INSERT INTO contact_engagement AS ce (contact_id, workspace_id, opens, clicks, replies, activity, sentiment_sum, sentiment_count, max_intent, intent_reason, last_activity_at, updated_at)
     SELECT d.contact_id, $1, d.opens, d.clicks, d.replies, d.activity, d.sentiment_sum, d.sentiment_count, d.max_intent, d.intent_reason, d.last_activity_at, $3
       FROM jsonb_to_recordset($2::jsonb) AS d(contact_id uuid, last_activity_at timestamptz, opens int, clicks int, replies int, activity int, sentiment_sum float8, sentiment_count int, max_intent float8, intent_reason text)
       -- An event can outlive its contact (events have no foreign keys, migration 083): skip those.
       JOIN contacts c ON c.id = d.contact_id AND c.workspace_id = $1
     ${ADD_ENGAGEMENT_ON_CONFLICT}`,
    [workspaceId, JSON.stringify(rows), now],
  );
}
