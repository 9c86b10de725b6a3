/**
 * JSON bodies are checked for shape before they are parsed: nesting deeper than MAX_JSON_DEPTH or
 * an object with more than MAX_JSON_KEYS keys is refused with a 400. Everything downstream
 * (validation, JSON.stringify into jsonb, the campaign validator) walks values recursively, and a
 * 60 KB body nested 10,000 levels overflows the stack there; refusing at parse time protects every
 * route at once. The scan is iterative (no recursion of its own) and skips strings with indexOf,
 * so it costs about as much as one pass over the bytes (docs/benchmarks.md).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

/** Deeper than any shape this API takes (a campaign definition is about 6 levels, Segment messages 5–8). */
export const MAX_JSON_DEPTH = 64;
/** Keys in one object (custom fields, event properties …); total size stays bounded by the body limit. */
export const MAX_JSON_KEYS = 1000;

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;

/**
 * The refusal for a JSON text nested too deep or with too many keys in one object, or null. Text
 * that is not valid JSON may pass (JSON.parse reports it next); it is never refused wrongly for
 * characters inside strings.
 */
export function jsonShapeProblem(text: string, maxDepth = MAX_JSON_DEPTH, maxKeys = MAX_JSON_KEYS): AppError | null {
  // keys[d] counts the keys of the object open at depth d (arrays leave theirs at 0).
  const keys = new Int32Array(maxDepth + 2);
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let slashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return null;
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > maxDepth) return new AppError('JSON_TOO_DEEP', `The JSON body nests deeper than ${maxDepth} levels`, { limit: maxDepth });
      keys[depth] = 0;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth > 0) depth--;
    } else if (c === COLON) {
      if (++keys[depth]! > maxKeys) return new AppError('JSON_TOO_MANY_KEYS', `An object in the JSON body has more than ${maxKeys} keys`, { limit: maxKeys });
    }
  }
  return null;
}

type Done = (error: Error | null, body?: unknown) => void;

/**
 * Replaces the app's application/json parser with one that checks the shape first, then parses
 * with Fastify's own parser (which also refuses `__proto__` and `constructor.prototype` keys).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => parseCheckedJson(request, body as string, done as Done, parse));
}

/** Checks the shape, then parses with `parse` (a Fastify JSON parser); also for scopes that take JSON under another content type. */
export function parseCheckedJson(request: FastifyRequest, body: string, done: Done, parse: (request: FastifyRequest, body: string, done: Done) => void): void {
  const problem = jsonShapeProblem(body);
  if (problem) return done(problem, undefined);
  parse(request, body, done);
}
