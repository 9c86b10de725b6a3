/**
 * One enrollment's journey: where it stands and every step it took, with where a webhook step's
 * call stands.
 */
import type { Queryable } from '../db/database.js';
import { stepDeliverySql, toStepDelivery } from '../contacts/timeline.js';
import type { StepDelivery } from '../contacts/contacts.schemas.js';
import { notFound } from '../http/errors.js';
import type { EnrollmentStatus } from './campaign-rows.js';

export interface Journey {
  enrollment: {
    id: string;
    campaignId: string;
    contactId: string;
    version: number;
    status: EnrollmentStatus;
    currentNodeId: string;
    nextRunAt: string;
    attempts: number;
    lastError: string | null;
    exitReason: string | null;
    enrolledAt: string;
    finishedAt: string | null;
  };
  /** `delivery`: where a webhook step's call stands (queued, sent, failed, attempts, last answer); null on other steps. */
  steps: Array<{ nodeId: string; outcome: string; handle: string | null; detail: Record<string, unknown>; at: string; delivery: StepDelivery | null }>;
}

export async function getJourney(q: Queryable, workspaceId: string, campaignId: string, enrollmentId: string): Promise<Journey> {
  const e = await q.query<{
    id: string;
    campaign_id: string;
    contact_id: string;
    version: number;
    status: EnrollmentStatus;
    current_node_id: string;
    next_run_at: Date;
    attempts: number;
    last_error: string | null;
    exit_reason: string | null;
    enrolled_at: Date;
    finished_at: Date | null;
  }>(
    `SELECT id, campaign_id, contact_id, version, status, current_node_id, next_run_at, attempts, last_error, exit_reason, enrolled_at, finished_at
       FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND id = $3`,
    [workspaceId, campaignId, enrollmentId],
  );
  const row = e.rows[0];
  if (!row) throw notFound('Enrollment');
  const steps = await q.query<{ node_id: string; outcome: string; handle: string | null; detail: Record<string, unknown>; at: Date; delivery: StepDelivery | null }>(
    `SELECT s.node_id, s.outcome, s.handle, s.detail, s.at, ${stepDeliverySql('s')} AS delivery
       FROM enrollment_steps s WHERE s.enrollment_id = $1 AND s.workspace_id = $2 ORDER BY s.id`,
    [enrollmentId, workspaceId],
  );
  return {
    enrollment: {
      id: row.id,
      campaignId: row.campaign_id,
      contactId: row.contact_id,
      version: row.version,
      status: row.status,
      currentNodeId: row.current_node_id,
      nextRunAt: row.next_run_at.toISOString(),
      attempts: row.attempts,
      lastError: row.last_error,
      exitReason: row.exit_reason,
      enrolledAt: row.enrolled_at.toISOString(),
      finishedAt: row.finished_at?.toISOString() ?? null,
    },
    steps: steps.rows.map((s) => ({ nodeId: s.node_id, outcome: s.outcome, handle: s.handle, detail: s.detail, at: s.at.toISOString(), delivery: toStepDelivery(s.delivery) })),
  };
}
