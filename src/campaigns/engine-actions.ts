/**
 * Action nodes: tag add/remove, score change, field update, outbound webhook and team notification.
 * Each changes the claim's view of the contact and stages its effects in the run's scratch; nothing
 * is written here (engine-write.ts writes the batch).
 */
import type { Queryable } from '../db/database.js';
import { coerceCustomValue, loadFieldTypes } from '../contacts/custom-fields.js';
import { assertUnreachable } from '../http/errors.js';
import { escapeHtml } from '../platform/html.js';
import type { DefinitionNode } from './definition.js';
import { contactColumnOf, CONTACT_STATUSES, PermanentStepError, type ContactRow, type EnrollmentRow, type RunScratch } from './engine-state.js';

export async function act(tx: Queryable, emailFrom: string, e: EnrollmentRow, node: Extract<DefinitionNode, { type: 'action' }>, contact: ContactRow, scratch: RunScratch): Promise<Record<string, unknown>> {
  const config = node.config;
  const change = scratch.contact;
  switch (config.kind) {
    case 'tag_add': {
      if (contact.tags.includes(config.tag)) return { tag: config.tag, changed: false };
      contact.tags.push(config.tag);
      change.addTags = [...change.addTags.filter((t) => t !== config.tag), config.tag];
      change.removeTags = change.removeTags.filter((t) => t !== config.tag);
      scratch.events.push({ contactId: contact.id, type: 'system', name: 'tag_added', properties: { tag: config.tag, campaignId: e.campaign_id, enrollmentId: e.id } });
      return { tag: config.tag, changed: true };
    }
    case 'tag_remove': {
      if (!contact.tags.includes(config.tag)) return { tag: config.tag, changed: false };
      contact.tags = contact.tags.filter((t) => t !== config.tag);
      change.removeTags = [...change.removeTags.filter((t) => t !== config.tag), config.tag];
      change.addTags = change.addTags.filter((t) => t !== config.tag);
      scratch.events.push({ contactId: contact.id, type: 'system', name: 'tag_removed', properties: { tag: config.tag, campaignId: e.campaign_id, enrollmentId: e.id } });
      return { tag: config.tag, changed: true };
    }
    case 'score_change': {
      const before = contact.score;
      contact.score = Math.max(0, Math.min(100, before + config.delta));
      change.scoreDelta += config.delta;
      return { from: before, to: contact.score };
    }
    case 'field_update': {
      const { field, value } = config;
      let stored: unknown = value;
      const column = contactColumnOf(field);
      if (column) {
        const text = value === null ? null : String(value);
        if (column === 'status' && (text === null || !CONTACT_STATUSES.includes(text))) throw new PermanentStepError(`status must be one of ${CONTACT_STATUSES.join(', ')}`);
        if (column === 'timezone' && text !== null) {
          try {
            new Intl.DateTimeFormat('en', { timeZone: text });
          } catch {
            throw new PermanentStepError(`"${text}" is not a time zone`);
          }
        }
        (contact as unknown as Record<string, unknown>)[column] = text;
        change.fields[column] = text;
      } else {
        // A declared custom field takes its type ("42" → 42); a value it cannot take fails the step.
        let types = scratch.fieldTypes.get(e.workspace_id);
        if (!types) scratch.fieldTypes.set(e.workspace_id, (types = loadFieldTypes(tx, e.workspace_id)));
        const type = value === null ? undefined : (await types).get(field);
        const coerced = type ? coerceCustomValue(type, value) : { ok: true as const, value };
        if (!coerced.ok) throw new PermanentStepError(`${field} ${coerced.message} (a ${type} custom field)`);
        contact.custom_fields[field] = coerced.value;
        change.custom[field] = coerced.value;
        stored = coerced.value;
      }
      scratch.events.push({ contactId: contact.id, type: 'system', name: 'field_updated', properties: { field, campaignId: e.campaign_id, enrollmentId: e.id } });
      return { field, value: stored };
    }
    case 'webhook': {
      const key = `enrollment:${e.id}:node:${node.id}`;
      scratch.webhooks.push({
        workspaceId: e.workspace_id,
        campaignId: e.campaign_id,
        enrollmentId: e.id,
        key,
        url: config.url,
        secret: config.secret,
        body: {
          type: 'campaign.step',
          campaignId: e.campaign_id,
          enrollmentId: e.id,
          nodeId: node.id,
          contact: { id: contact.id, email: contact.email, firstName: contact.first_name, lastName: contact.last_name, company: contact.company, jobTitle: contact.job_title, status: contact.status, score: contact.score, tags: contact.tags, customFields: contact.custom_fields },
          event: e.entry_event,
        },
      });
      return { webhook: config.url };
    }
    case 'notify': {
      const member = await tx.query<{ email: string; name: string }>(
        'SELECT u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2',
        [e.workspace_id, config.userId],
      );
      const user = member.rows[0];
      if (!user) throw new PermanentStepError(`user ${config.userId} is not a member of this workspace`);
      const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ') || contact.email;
      const text = `${config.text}\n\nContact: ${name} <${contact.email}>`;
      const key = `enrollment:${e.id}:node:${node.id}`;
      scratch.emails.push({ workspaceId: e.workspace_id, contactId: null, campaignId: e.campaign_id, key, from: emailFrom, to: user.email, subject: config.subject, html: `<p>${escapeHtml(text).replace(/\n/g, '<br>')}</p>`, text });
      return { notified: config.userId };
    }
    default:
      return assertUnreachable(config);
  }
}
