/**
 * The plain events API (POST /api/events): one `track` event for a known contact, found by id or
 * email; a repeated messageId is dropped as a duplicate.
 */
import { parseEmail } from '../contacts/contact-model.js';
import { AppError, notFound } from '../http/errors.js';
import { recordEvents } from '../core/events.js';
import type { Actor } from '../identity/audit.js';
import type { TrackingDeps } from './tracking.js';

export interface TrackInput {
  contactId?: string | undefined;
  email?: string | undefined;
  name: string;
  properties?: Record<string, unknown> | undefined;
  messageId?: string | undefined;
  timestamp?: string | undefined;
}

/** A `track` event for a known contact (by id or email); a repeated messageId is dropped. */
export async function trackEvent(
  deps: TrackingDeps,
  workspaceId: string,
  actor: Actor,
  input: TrackInput,
): Promise<{ event: { id: string; contactId: string; name: string; occurredAt: string } | null; duplicate: boolean }> {
  const now = deps.clock.now();
  const occurredAt = input.timestamp ? new Date(input.timestamp) : now;
  if (Number.isNaN(occurredAt.getTime())) throw new AppError('VALIDATION_FAILED', 'timestamp must be an ISO-8601 date', { field: 'timestamp' });
  if (!input.contactId && !input.email) throw new AppError('VALIDATION_FAILED', 'Send a contactId or an email', { field: 'contactId' });
  return deps.db.transaction(async (tx) => {
    const email = input.email ? parseEmail(input.email) : null;
    if (input.email && !email) throw new AppError('INVALID_EMAIL', `"${input.email.slice(0, 100)}" is not a valid email address`, { field: 'email' });
    const found = await tx.query<{ id: string }>(
      `SELECT id FROM contacts WHERE workspace_id = $1 AND (($2::uuid IS NOT NULL AND id = $2::uuid) OR ($3::text IS NOT NULL AND email = $3))`,
      [workspaceId, input.contactId ?? null, email],
    );
    const contactId = found.rows[0]?.id;
    if (!contactId) throw notFound('Contact');
    const [event] = await recordEvents(tx, deps.eventSink, workspaceId, [{ contactId, type: 'track', name: input.name, properties: input.properties ?? {}, messageId: input.messageId ?? null, occurredAt }], now);
    if (!event) return { event: null, duplicate: true };
    return { event: { id: event.id, contactId, name: event.name, occurredAt: new Date(event.occurredAt).toISOString() }, duplicate: false };
  });
}
