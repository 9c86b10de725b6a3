/** Pure presentation helpers shared by the pages (and unit-tested without a browser). */
import type { Contact, InboxMessage } from './api';

export function contactName(contact: Pick<Contact, 'firstName' | 'lastName' | 'email'>): string {
  const name = [contact.firstName, contact.lastName].filter(Boolean).join(' ');
  return name === '' ? contact.email : name;
}

/** The lead-score bands (src/scoring/scoring.ts bandOf): warm from 60, hot from 80. */
export const WARM_SCORE = 60;
export const HOT_SCORE = 80;

export function scoreTone(score: number): string {
  if (score >= HOT_SCORE) return 'hot';
  if (score >= WARM_SCORE) return 'warm';
  return 'cold';
}

/** Parses "a, b ,c" into unique, trimmed tags. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(',').map((tag) => tag.trim()).filter(Boolean))];
}

export interface ScorePart {
  label: string;
  points: number;
  max?: number;
  note?: string;
}

const humanize = (key: string): string => key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase());

function numberOf(value: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) if (typeof value[key] === 'number') return value[key];
  return undefined;
}

function stringOf(value: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) if (typeof value[key] === 'string') return value[key];
  return undefined;
}

/**
 * Reads the score breakdown the API attaches to a contact: either `{ part: points }`,
 * `{ part: { points|score|value, max|weight, reason|explanation } }` or a list of such objects
 * with a `part|name|label`. Anything else yields no parts.
 */
export function scoreParts(breakdown: unknown): ScorePart[] {
  if (breakdown === null || typeof breakdown !== 'object') return [];
  const source = Array.isArray(breakdown)
    ? breakdown.map((entry): [string, unknown] => [typeof entry === 'object' && entry !== null ? (stringOf(entry as Record<string, unknown>, ['part', 'name', 'label', 'key']) ?? '') : '', entry])
    : Object.entries(breakdown as Record<string, unknown>);
  const parts: ScorePart[] = [];
  for (const [key, value] of source) {
    if (key === '' || key === 'total') continue;
    if (typeof value === 'number') {
      parts.push({ label: humanize(key), points: value });
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      const points = numberOf(record, ['points', 'score', 'value', 'contribution']);
      if (points === undefined) continue;
      const max = numberOf(record, ['max', 'maxPoints', 'weight']);
      const note = stringOf(record, ['reason', 'explanation', 'detail', 'description']);
      parts.push({ label: humanize(key), points, ...(max !== undefined ? { max } : {}), ...(note !== undefined ? { note } : {}) });
    }
  }
  return parts;
}

/** Headers as name/value rows (the API sends them as one object of strings: InboxEmail in src/email/email.schemas.ts). */
export function headerRows(headers: InboxMessage['headers']): Array<[string, string]> {
  return Object.entries(headers);
}
