/**
 * Comparisons shared by condition rules and trigger property filters. Text compares
 * case-insensitively; order comparisons take numbers, or two YYYY-MM-DD dates.
 */
import { ISO_DATE } from '../contacts/custom-fields.js';
import { assertUnreachable } from '../http/errors.js';
import type { CompareOperator } from './definition.js';

export function compare(actual: unknown, op: CompareOperator, expected: unknown): boolean {
  switch (op) {
    case 'exists':
      return actual !== null && actual !== undefined && actual !== '';
    case 'not_exists':
      return actual === null || actual === undefined || actual === '';
    case 'eq':
      return String(actual ?? '').toLowerCase() === String(expected ?? '').toLowerCase();
    case 'neq':
      return String(actual ?? '').toLowerCase() !== String(expected ?? '').toLowerCase();
    case 'contains':
      return Array.isArray(actual) ? actual.map(String).includes(String(expected)) : String(actual ?? '').toLowerCase().includes(String(expected ?? '').toLowerCase());
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      // Two calendar dates (a declared date custom field against a YYYY-MM-DD value) compare as dates.
      if (typeof actual === 'string' && typeof expected === 'string' && ISO_DATE.test(actual) && ISO_DATE.test(expected)) {
        return op === 'gt' ? actual > expected : op === 'gte' ? actual >= expected : op === 'lt' ? actual < expected : actual <= expected;
      }
      const a = Number(actual);
      const b = Number(expected);
      if (actual === null || actual === undefined || Number.isNaN(a) || Number.isNaN(b)) return false;
      return op === 'gt' ? a > b : op === 'gte' ? a >= b : op === 'lt' ? a < b : a <= b;
    }
    default:
      return assertUnreachable(op);
  }
}
