/**
 * The campaign engine's EventSink: every stored event passes through here inside the transaction
 * that stored it, so a trigger, a waiting step or a goal can never miss an event. Per call it
 * (1) wakes enrollments waiting for that event, (2) exits enrollments whose goal it is, and
 * (3) starts campaigns whose trigger it matches. All three are set-based statements.
 *
 * Late events — stored without a contact and attributed to one later by a Segment identify/alias
 * (`attributedLate`) — go through the same three steps, judged by when they occurred: such an
 * event wakes a wait or reaches a goal only if it occurred at or after the enrollment began, and
 * starts a campaign only if it occurred at or after the campaign's running version was published.
 * An event is attributed once (only while its contact is unknown), so it cannot be seen twice.
 */
import type { Queryable } from '../db/database.js';
import type { EventSink, RecordedEvent } from '../core/events.js';
import { assertUnreachable } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import { compare } from './compare.js';
import type { CampaignDefinition, TriggerNodeConfig } from './definition.js';
import { ENROLLMENTS_CHANNEL } from './campaign-rows.js';
import { enrollContacts, type EnrollmentEntry } from './enrollment.js';

export function triggerMatches(trigger: TriggerNodeConfig, event: RecordedEvent): boolean {
  const p = event.properties;
  switch (trigger.kind) {
    case 'manual':
    case 'inbound_webhook':
    case 'broadcast':
      return false;
    case 'contact_created':
      return event.type === 'system' && event.name === 'contact_created';
    case 'tag_added':
      return event.type === 'system' && event.name === 'tag_added' && p.tag === trigger.tag;
    case 'score_threshold': {
      if (event.type !== 'system' || event.name !== 'score_threshold_crossed') return false;
      if (typeof p.threshold === 'number') return p.threshold === trigger.threshold && p.direction !== 'down';
      // Lead scoring names bands in from/to and carries the numbers in previousScore/score.
      const from = typeof p.previousScore === 'number' ? p.previousScore : Number(p.from);
      const to = typeof p.score === 'number' ? p.score : Number(p.to);
      return from < trigger.threshold && to >= trigger.threshold;
    }
    case 'event':
      return event.type === 'track' && event.name === trigger.name && (trigger.filters ?? []).every((f) => compare(p[f.property], f.op, f.value));
    case 'email_event':
      return event.type === 'email' && event.name === trigger.event && (trigger.topicId === undefined || p.topicId === trigger.topicId);
    case 'segment_entered':
      return event.type === 'system' && event.name === 'segment_entered' && p.segmentId === trigger.segmentId;
    default:
      return assertUnreachable(trigger);
  }
}

function entryEventOf(event: RecordedEvent): Record<string, unknown> {
  return { id: event.id, type: event.type, name: event.name, properties: event.properties, occurredAt: event.occurredAt.toISOString() };
}

export function createCampaignEventSink(deps: { clock: Clock }): EventSink {
  // Published versions never change, so their parsed definitions are cached by (campaign, version).
  const versions = new Map<string, { definition: CampaignDefinition; publishedAt: Date }>();
  const MAX_CACHED = 2000;

  return {
    async onEvents(q: Queryable, events: RecordedEvent[]): Promise<void> {
      const byWorkspace = new Map<string, RecordedEvent[]>();
      for (const e of events) {
        if (e.contactId === null) continue;
        const list = byWorkspace.get(e.workspaceId) ?? [];
        list.push(e);
        byWorkspace.set(e.workspaceId, list);
      }
      const now = deps.clock.now();
      for (const [workspaceId, list] of byWorkspace) {
        const payloadOf = (of: RecordedEvent[]) => JSON.stringify(of.map((e) => ({ id: e.id, contact_id: e.contactId, name: e.name, type: e.type, properties: e.properties, occurred_at: e.occurredAt, late: e.attributedLate === true })));
        // name: enrolledContacts + goals + activeCampaigns — one round trip per batch. enrolled:
        // which of the batch's contacts have an enrollment an event can wake or convert (running,
        // paused or failed; enrollments_contact_idx), so a batch about contacts in no campaign —
        // most ingested events, every contact an import creates — sends no event payload at all.
        // goals: partial indexes hold only versions that have an event or a segment goal. active:
        // campaigns_workspace_idx; their definitions come from the cache. The contacts are
        // `ANY((SELECT $2)::uuid[])`, a value the planner does not see: given the array itself, it
        // costs each call's few ids below the generic plan's assumed ten, so PostgreSQL planned
        // the statement anew on every run (~300 µs of backend CPU, about three times its
        // execution) for the same plan it now keeps.
        const first = await q.query<{ enrolled: string[]; goals: Array<{ goal_event: string | null; goal_segment_id: string | null }>; active: Array<{ id: string; current_version: number }> }>(
          `SELECT (SELECT COALESCE(array_agg(DISTINCT contact_id)::text[], '{}') FROM enrollments
                    WHERE workspace_id = $1 AND contact_id = ANY((SELECT $2::uuid[])::uuid[]) AND status IN ('active', 'paused', 'failed')) AS enrolled,
                  (SELECT COALESCE(json_agg(g), '[]'::json) FROM (
                     SELECT DISTINCT goal_event, goal_segment_id::text AS goal_segment_id FROM campaign_versions
                      WHERE workspace_id = $1 AND (goal_event IS NOT NULL OR goal_segment_id IS NOT NULL)) g) AS goals,
                  (SELECT COALESCE(json_agg(a), '[]'::json) FROM (
                     SELECT id, current_version FROM campaigns WHERE workspace_id = $1 AND status = 'active' AND current_version IS NOT NULL) a) AS active`,
          [workspaceId, [...new Set(list.map((e) => e.contactId!))]],
        );
        const enrolled = new Set(first.rows[0]!.enrolled);
        const relevant = enrolled.size === 0 ? [] : list.filter((e) => enrolled.has(e.contactId!));
        let woken = 0;
        if (relevant.length > 0) {
          // name: wakeEventWaits — enrollments_event_wait_idx finds the contact's waiting rows; a
          // row the engine holds is updated after its batch commits (and re-checked then).
          const wake = await q.query<{ woken: number }>(
            `WITH woken AS (
                UPDATE enrollments e
                   SET waiting_for = e.waiting_for || jsonb_build_object('matched', true, 'eventId', ev.id), next_run_at = $3, updated_at = $3
                  FROM jsonb_to_recordset($2::jsonb) AS ev(id uuid, contact_id uuid, name text, properties jsonb, occurred_at timestamptz, late boolean)
                 WHERE e.workspace_id = $1 AND e.contact_id = ev.contact_id AND e.waiting_for IS NOT NULL AND e.status = 'active'
                   AND (NOT ev.late OR ev.occurred_at >= e.enrolled_at)
                   AND e.waiting_for->>'kind' = 'event' AND e.waiting_for->>'name' = ev.name
                   AND NOT COALESCE((e.waiting_for->>'matched')::boolean, false)
                   AND (jsonb_typeof(e.waiting_for->'correlation') IS DISTINCT FROM 'object'
                        OR ev.properties -> (e.waiting_for->'correlation'->>'key') = e.waiting_for->'correlation'->'value')
                RETURNING e.id)
             SELECT count(*)::int AS woken FROM woken`,
            [workspaceId, payloadOf(relevant), now],
          );
          woken = wake.rows[0]!.woken;
        }
        const goals = { rows: first.rows[0]!.goals };
        const goalNames = new Set(goals.rows.flatMap((g) => (g.goal_event === null ? [] : [g.goal_event])));
        const goalSegments = new Set(goals.rows.flatMap((g) => (g.goal_segment_id === null ? [] : [g.goal_segment_id])));
        const reachesGoal = (e: RecordedEvent) => goalNames.has(e.name) || (e.type === 'system' && e.name === 'segment_entered' && goalSegments.has(String(e.properties.segmentId)));
        if (relevant.some(reachesGoal)) {
          const goalPayload = payloadOf(relevant.filter(reachesGoal));
          // name: exitOnGoal — the goal of the version each enrollment runs on: an event name, or
          // entering a segment (a system segment_entered event naming it).
          const converted = await q.query<{ id: string; campaign_id: string; current_node_id: string; name: string }>(
            `UPDATE enrollments e
                SET status = 'exited', exit_reason = 'goal', waiting_for = NULL, finished_at = $3, updated_at = $3
               FROM jsonb_to_recordset($2::jsonb) AS ev(id uuid, contact_id uuid, name text, type text, properties jsonb, occurred_at timestamptz, late boolean), campaign_versions v
              WHERE e.workspace_id = $1 AND e.contact_id = ev.contact_id AND e.status IN ('active', 'paused', 'failed')
                AND (NOT ev.late OR ev.occurred_at >= e.enrolled_at)
                AND v.campaign_id = e.campaign_id AND v.version = e.version
                AND (v.goal_event = ev.name
                     OR (ev.type = 'system' AND ev.name = 'segment_entered' AND v.goal_segment_id::text = ev.properties->>'segmentId'))
              RETURNING e.id, e.campaign_id, e.current_node_id, ev.name`,
            [workspaceId, goalPayload, now],
          );
          if (converted.rows.length > 0) {
            await q.query(
              `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
               SELECT $1, c.campaign_id, c.id, c.node_id, 'skipped', NULL, jsonb_build_object('goal', c.name), $3
                 FROM jsonb_to_recordset($2::jsonb) AS c(id uuid, campaign_id uuid, node_id text, name text)`,
              [workspaceId, JSON.stringify(converted.rows.map((r) => ({ id: r.id, campaign_id: r.campaign_id, node_id: r.current_node_id, name: r.name }))), now],
            );
          }
        }

        const active = { rows: first.rows[0]!.active };
        const missing = active.rows.filter((c) => !versions.has(`${c.id}:${c.current_version}`));
        if (missing.length > 0) {
          const loaded = await q.query<{ campaign_id: string; version: number; definition: CampaignDefinition; published_at: Date }>(
            `SELECT campaign_id, version, definition, published_at FROM campaign_versions WHERE (campaign_id, version) IN (SELECT * FROM unnest($1::uuid[], $2::int[]))`,
            [missing.map((c) => c.id), missing.map((c) => c.current_version)],
          );
          if (versions.size + loaded.rows.length > MAX_CACHED) versions.clear();
          for (const v of loaded.rows) versions.set(`${v.campaign_id}:${v.version}`, { definition: v.definition, publishedAt: new Date(v.published_at) });
        }
        for (const campaign of active.rows) {
          const cached = versions.get(`${campaign.id}:${campaign.current_version}`);
          const definition = cached?.definition;
          const trigger = definition?.nodes.find((n) => n.id === definition.entryNodeId);
          if (!definition || trigger?.type !== 'trigger' || trigger.config.kind === 'manual' || trigger.config.kind === 'inbound_webhook' || trigger.config.kind === 'broadcast') continue;
          const entries: EnrollmentEntry[] = [];
          for (const event of list) {
            if (event.attributedLate && cached && event.occurredAt.getTime() < cached.publishedAt.getTime()) continue;
            if (triggerMatches(trigger.config, event)) entries.push({ contactId: event.contactId!, entryEvent: entryEventOf(event) });
          }
          if (entries.length > 0) await enrollContacts(q, workspaceId, campaign.id, entries, now, { version: campaign.current_version, definition });
        }
        if (woken > 0) await q.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, workspaceId]);
      }
    },
  };
}
