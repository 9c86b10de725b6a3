/**
 * Text PostgreSQL cannot store. A JSON string may hold U+0000 (`\u0000`) or an unpaired UTF-16
 * surrogate (`\ud800`): neither has a place in a UTF-8 `text` value or in `jsonb`, so PostgreSQL
 * refuses the whole statement. Requests are checked before they reach SQL: the API answers 400
 * VALIDATION_FAILED naming the field, Segment ingestion refuses just the message, and the import
 * refuses just the row (src/app.ts, src/events/tracking.ts, src/contacts/import.ts).
 */
// String.prototype.isWellFormed / toWellFormed (V8 11.1, Node 20): unpaired surrogates, found or
// replaced by U+FFFD. Typed here because the project's lib (ES2023) does not declare them yet.
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && (text as unknown as WellFormedString).isWellFormed();
}

/** The text with every unstorable character replaced by U+FFFD (for messages that quote input). */
export function storableText(text: string): string {
  return (text.replaceAll('\u0000', '\ufffd') as unknown as WellFormedString).toWellFormed();
}

function pointerToken(key: string): string {
  return storableText(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Parsed JSON and query strings only (the query parser's objects descend from a null-prototype
 * object): a stream body (a CSV upload) is not walked.
 */
function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === Object.prototype || prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** Where the walk is: a container and how it was reached (paths are only spelled out for a finding). */
interface Step {
  value: object;
  parent: Step | null;
  key: string;
}

function pointerOf(parent: Step | null, key: string | null): string {
  const tokens: string[] = key === null ? [] : [pointerToken(key)];
  for (let at = parent; at?.parent; at = at.parent) tokens.push(pointerToken(at.key));
  return tokens.length === 0 ? '/' : `/${tokens.reverse().join('/')}`;
}

/**
 * The JSON pointer (`/traits/name`, `/tags/2`) of the first string or object key in a parsed JSON
 * value that PostgreSQL cannot store, or null when there is none. Walks with its own stack, so a
 * deeply nested body cannot exhaust the call stack; it runs on every ingested message, so it
 * allocates nothing for strings and spells out a path only for a finding.
 */
export function findUnstorableText(value: unknown): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : '/';
  if (typeof value !== 'object' || value === null) return null;
  const stack: Step[] = [{ value, parent: null, key: '' }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const item = step.value;
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) {
        const child: unknown = item[i];
        if (typeof child === 'string') {
          if (!isStorableText(child)) return pointerOf(step, String(i));
        } else if (typeof child === 'object' && child !== null) stack.push({ value: child, parent: step, key: String(i) });
      }
    } else if (isPlainObject(item)) {
      const record = item as Record<string, unknown>;
      for (const key in record) {
        if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
        if (!isStorableText(key)) return pointerOf(step, key);
        const child = record[key];
        if (typeof child === 'string') {
          if (!isStorableText(child)) return pointerOf(step, key);
        } else if (typeof child === 'object' && child !== null) stack.push({ value: child, parent: step, key });
      }
    }
  }
  return null;
}

export const UNSTORABLE_TEXT_MESSAGE = 'contains a NUL character (U+0000) or an unpaired UTF-16 surrogate, which cannot be stored';
