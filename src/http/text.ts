/**
 * Text PostgreSQL cannot store. A JSON string may hold U+0000 (`\u0000`) or an unpaired UTF-16
 * surrogate (`\ud800`): neither has a place in a UTF-8 `text` value or in `jsonb`, so PostgreSQL
 * refuses the whole statement. Requests are checked before they reach SQL: the API answers 400
 * VALIDATION_FAILED naming the field, Segment ingestion refuses just the message, and the import
 * refuses just the row (src/app.ts, src/events/tracking.ts, src/contacts/import.ts).
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what these look for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex -- as above
const UNSTORABLE_ALL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** The text with every unstorable character replaced by U+FFFD (for messages that quote input). */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ALL, '\ufffd');
}

function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Parsed JSON and query strings only (the query parser's objects descend from a null-prototype
 * object): a stream body (a CSV upload) is not walked.
 */
function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === Object.prototype || prototype === null || Object.getPrototypeOf(prototype) === null;
}

/**
 * The JSON pointer (`/traits/name`, `/tags/2`) of the first string or object key in a parsed JSON
 * value that PostgreSQL cannot store, or null when there is none. Walks with its own stack, so a
 * deeply nested body cannot exhaust the call stack.
 */
export function findUnstorableText(value: unknown): string | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (UNSTORABLE.test(item)) return path || '/';
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) stack.push([item[i], `${path}/${i}`]);
    } else if (typeof item === 'object' && item !== null && isPlainObject(item)) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const [key, child] = entries[i]!;
        const childPath = `${path}/${pointerToken(storableText(key))}`;
        if (UNSTORABLE.test(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return null;
}

export const UNSTORABLE_TEXT_MESSAGE = 'contains a NUL character (U+0000) or an unpaired UTF-16 surrogate, which cannot be stored';
