/**
 * A dynamic segment's definition and its translation to one SQL condition over `contacts c`.
 * Every value travels as a parameter; column names come from a fixed map, never from input.
 * Condition kinds and operators are persisted strings: never rename.
 */
import type { Static } from '@sinclair/typebox';
import { assertUnreachable } from '../http/errors.js';
import { ConditionSchema, DefinitionSchema, type Condition, type FieldName, type RangeOp, type SegmentDefinition, type TextOp } from './segments.schemas.js';

export { ConditionSchema, DefinitionSchema, type Condition, type SegmentDefinition };

/** SQL operators of the order comparisons (score, and custom fields' gt…lte). */
const OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=' } as const;
type CustomFieldCondition = Extract<Condition, { kind: 'custom_field' }>;
type RangeCondition = Extract<CustomFieldCondition, { op: Static<typeof RangeOp> }>;

function isRangeCondition(condition: CustomFieldCondition): condition is RangeCondition {
  return condition.op === 'gt' || condition.op === 'gte' || condition.op === 'lt' || condition.op === 'lte';
}

const COLUMNS: Record<Static<typeof FieldName>, string> = {
  email: 'c.email',
  firstName: 'c.first_name',
  lastName: 'c.last_name',
  company: 'c.company',
  jobTitle: 'c.job_title',
  phone: 'c.phone',
  status: 'c.status',
  timezone: 'c.timezone',
  subscriptionState: 'c.subscription_state',
};

function likeOf(value: string): string {
  return `%${value.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/** Builds SQL conditions, appending their values to `params` (referenced as $1, $2, …). */
export function compileDefinition(definition: SegmentDefinition, params: unknown[], now: Date): string {
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const textCondition = (expr: string, op: Static<typeof TextOp>, value: string | undefined): string => {
    switch (op) {
      case 'eq':
        return `lower(${expr}) = lower(${param(value ?? '')})`;
      case 'neq':
        return `(${expr} IS NULL OR lower(${expr}) <> lower(${param(value ?? '')}))`;
      case 'contains':
        return `${expr} ILIKE ${param(likeOf(value ?? ''))}`;
      case 'exists':
        return `(${expr} IS NOT NULL AND ${expr} <> '')`;
      case 'not_exists':
        return `(${expr} IS NULL OR ${expr} = '')`;
      default:
        return assertUnreachable(op);
    }
  };
  const countCondition = (typeSql: string, name: string, minCount: number | undefined, maxCount: number | undefined, withinDays: number | undefined): string => {
    const since = withinDays ? param(new Date(now.getTime() - withinDays * 86_400_000)) : null;
    // Uses events_contact_idx (workspace_id, contact_id, occurred_at DESC).
    const count = `(SELECT count(*) FROM events e WHERE e.workspace_id = c.workspace_id AND e.contact_id = c.id AND ${typeSql} AND e.name = ${param(name)}${since ? ` AND e.occurred_at >= ${since}` : ''})`;
    const parts = [`${count} >= ${param(minCount ?? 1)}`];
    if (maxCount !== undefined) parts.push(`${count} <= ${param(maxCount)}`);
    return `(${parts.join(' AND ')})`;
  };
  const compile = (condition: Condition): string => {
    switch (condition.kind) {
      case 'field':
        return textCondition(COLUMNS[condition.field], condition.op, condition.value);
      case 'custom_field': {
        if (!isRangeCondition(condition)) return textCondition(`(c.custom_fields ->> ${param(condition.key)})`, condition.op, condition.value);
        const operator = OPERATORS[condition.op];
        const value = `c.custom_fields -> ${param(condition.key)}`;
        // Only values of the condition's kind compare (a text "12" is not the number 12), and the
        // cast is guarded by CASE, so an odd stored value never fails the whole evaluation.
        if (typeof condition.value === 'number') return `(CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value})::numeric END ${operator} ${param(condition.value)}::numeric)`;
        return `(CASE WHEN (${value} #>> '{}') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN (${value} #>> '{}') END COLLATE "C" ${operator} ${param(condition.value)}::text COLLATE "C")`;
      }
      case 'tag':
        return `${condition.op === 'not_has' ? 'NOT ' : ''}(c.tags @> ARRAY[${param(condition.tag)}::text])`;
      case 'score': {
        const operator = OPERATORS[condition.op];
        return `c.score ${operator} ${param(condition.value)}`;
      }
      case 'event':
        return countCondition(condition.type ? `e.type = ${param(condition.type)}` : 'TRUE', condition.name, condition.minCount, condition.maxCount, condition.withinDays);
      case 'email':
        return countCondition(
          condition.topicId ? `e.type = 'email' AND e.properties ->> 'topicId' = ${param(condition.topicId)}` : `e.type = 'email'`,
          condition.action,
          condition.minCount,
          condition.maxCount,
          condition.withinDays,
        );
      default:
        return assertUnreachable(condition);
    }
  };
  return `(${definition.conditions.map(compile).join(definition.match === 'all' ? ' AND ' : ' OR ')})`;
}

/** A condition that counts events in a sliding window: membership can change as time passes. */
export interface WindowCondition {
  type: string | null;
  name: string;
  withinDays: number;
}

export function windowConditions(definition: SegmentDefinition): WindowCondition[] {
  const out: WindowCondition[] = [];
  for (const condition of definition.conditions) {
    if (condition.kind === 'event' && condition.withinDays) out.push({ type: condition.type ?? null, name: condition.name, withinDays: condition.withinDays });
    else if (condition.kind === 'email' && condition.withinDays) out.push({ type: 'email', name: condition.action, withinDays: condition.withinDays });
  }
  return out;
}
