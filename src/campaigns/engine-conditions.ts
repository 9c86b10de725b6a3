/**
 * Condition nodes: evaluates a branch's rule group (and/or, nested) for one contact — fields,
 * score and tags from the contact as the claim has changed it, events and email engagement from
 * the database (plus the events this claim staged).
 */
import type { Queryable } from '../db/database.js';
import { assertUnreachable } from '../http/errors.js';
import { compare } from './compare.js';
import type { CompiledDefinition, ConditionRuleValue, RuleGroup } from './definition.js';
import { contactColumnOf, type ContactRow, type EnrollmentRow, type RunScratch } from './engine-state.js';

export async function matches(tx: Queryable, e: EnrollmentRow, contact: ContactRow, scratch: RunScratch, group: RuleGroup, now: Date, compiled: CompiledDefinition): Promise<boolean> {
  for (const rule of group.rules) {
    const ok = 'operator' in rule ? await matches(tx, e, contact, scratch, rule, now, compiled) : await ruleMatches(tx, e, contact, scratch, rule, now);
    if (group.operator === 'and' && !ok) return false;
    if (group.operator === 'or' && ok) return true;
  }
  return group.operator === 'and';
}

async function ruleMatches(tx: Queryable, e: EnrollmentRow, contact: ContactRow, scratch: RunScratch, rule: ConditionRuleValue, now: Date): Promise<boolean> {
  switch (rule.kind) {
    case 'field': {
      const column = rule.field === 'email' ? 'email' : contactColumnOf(rule.field);
      const actual = column ? contact[column] : contact.custom_fields[rule.field];
      return compare(actual, rule.op, rule.value);
    }
    case 'score':
      return compare(contact.score, rule.op, rule.value);
    case 'tag':
      return contact.tags.includes(rule.tag) === rule.present;
    case 'event': {
      if (scratch.events.some((ev) => ev.name === rule.name)) return rule.present;
      const since = rule.withinSeconds ? new Date(now.getTime() - rule.withinSeconds * 1000) : null;
      // Uses events_contact_idx (workspace_id, contact_id, occurred_at).
      const found = await tx.query(
        `SELECT 1 FROM events WHERE workspace_id = $1 AND contact_id = $2 AND name = $3 AND ($4::timestamptz IS NULL OR occurred_at >= $4) LIMIT 1`,
        [e.workspace_id, contact.id, rule.name, since],
      );
      return (found.rows.length > 0) === rule.present;
    }
    case 'email': {
      // Engagement with the message this enrollment got at that node (its idempotency key names both).
      const found = await tx.query(
        `SELECT 1 FROM messages m
           JOIN events ev ON ev.workspace_id = m.workspace_id AND ev.contact_id = m.contact_id AND ev.type = 'email'
                         AND ev.name = $3 AND ev.properties->>'messageId' = m.id::text
          WHERE m.workspace_id = $1 AND m.idempotency_key = $2
          LIMIT 1`,
        [e.workspace_id, `enrollment:${e.id}:node:${rule.nodeId}`, rule.event],
      );
      return (found.rows.length > 0) === rule.present;
    }
    default:
      return assertUnreachable(rule);
  }
}

