/** Pure helpers of the template editor: save-time issues of a TEMPLATE_INVALID answer, and lines. */
import { ApiError } from '../api';

export interface ContentIssue {
  field: 'subject' | 'html' | 'text';
  line: number | null;
  message: string;
}

const FIELDS = new Set(['subject', 'html', 'text']);

/** Reads `details: [{ field, line, message }]`; anything else in details is ignored. */
export function templateIssues(error: unknown): ContentIssue[] {
  if (!(error instanceof ApiError) || error.code !== 'TEMPLATE_INVALID' || !Array.isArray(error.details)) return [];
  return (error.details as unknown[]).flatMap((detail) => {
    if (typeof detail !== 'object' || detail === null) return [];
    const { field, line, message } = detail as Record<string, unknown>;
    if (typeof field !== 'string' || !FIELDS.has(field) || typeof message !== 'string') return [];
    return [{ field: field as ContentIssue['field'], line: typeof line === 'number' && line >= 1 ? line : null, message }];
  });
}

/** The character range of a 1-based line, to select it in a textarea. */
export function lineRange(text: string, line: number): [number, number] {
  let start = 0;
  for (let current = 1; current < line; current += 1) {
    const newline = text.indexOf('\n', start);
    if (newline === -1) return [text.length, text.length];
    start = newline + 1;
  }
  const end = text.indexOf('\n', start);
  return [start, end === -1 ? text.length : end];
}

export function describeIssue(issue: ContentIssue): string {
  return `${issue.field}${issue.line === null ? '' : ` line ${issue.line}`}: ${issue.message}`;
}
