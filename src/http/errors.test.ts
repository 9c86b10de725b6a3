/**
 * The error catalog, both ways, by scanning the sources and docs/errors.md (no fixed list, so a
 * new code is checked the moment it is added): every code the server raises is in ERROR_CODES;
 * every cataloged code is documented with its status and is raised somewhere; every documented
 * code is cataloged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The shipped sources: src/**\/*.ts without tests and without the catalog itself. */
function sources(): Array<{ file: string; text: string }> {
  const files = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && path.join('src', f) !== path.join('src', 'http', 'errors.ts'))
    .sort();
  return files.map((f) => ({ file: path.join('src', f), text: readFileSync(path.join(root, 'src', f), 'utf8') }));
}

/** The codes of the literals in the first argument of each `new AppError(…)` and `errorBody(…)`. */
function raisedCodes(text: string): string[] {
  const codes: string[] = [];
  for (const call of text.matchAll(/(?:new AppError|errorBody)\(\s*([^,)]*)/g)) {
    for (const literal of call[1]!.matchAll(/'([^']*)'|"([^"]*)"/g)) codes.push(literal[1] ?? literal[2]!);
  }
  return codes;
}

/** Entries of docs/errors.md: table rows "| `CODE` | 409 | …" and list items "- `CODE` — 409 — …". */
function documentedCodes(markdown: string): Array<{ code: string; status: number }> {
  const entries: Array<{ code: string; status: number }> = [];
  for (const m of markdown.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) entries.push({ code: m[1]!, status: Number(m[2]) });
  for (const m of markdown.matchAll(/^-\s*`([A-Z0-9_]+)`\s*—\s*(\d{3})\s*—/gm)) entries.push({ code: m[1]!, status: Number(m[2]) });
  return entries;
}

const catalog = Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>;
const docs = documentedCodes(readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8'));

describe('error catalog', () => {
  it('reads the docs and the sources it checks (the scanners find what they look for)', () => {
    expect(raisedCodes(`throw new AppError('NOT_FOUND', 'x'); reply.send(errorBody(a ? "CONFLICT" : 'RATE_LIMITED', m));`)).toEqual(['NOT_FOUND', 'CONFLICT', 'RATE_LIMITED']);
    expect(documentedCodes('| `NOT_FOUND` | 404 | gone |\n- `CONFLICT` — 409 — taken\nsee `ELSEWHERE`')).toEqual([
      { code: 'NOT_FOUND', status: 404 },
      { code: 'CONFLICT', status: 409 },
    ]);
    expect(docs.length).toBeGreaterThanOrEqual(catalog.length);
    expect(sources().flatMap((s) => raisedCodes(s.text)).length).toBeGreaterThan(catalog.length);
  });

  it('raises only cataloged codes', () => {
    const unknown = sources().flatMap(({ file, text }) => raisedCodes(text).filter((code) => !(code in ERROR_CODES)).map((code) => `${file}: ${code}`));
    expect(unknown).toEqual([]);
  });

  it('documents every cataloged code in docs/errors.md, with its status', () => {
    expect(catalog.filter((code) => !docs.some((d) => d.code === code))).toEqual([]);
    expect(docs.filter((d) => d.code in ERROR_CODES && ERROR_CODES[d.code as keyof typeof ERROR_CODES] !== d.status)).toEqual([]);
  });

  it('documents no code that is not cataloged', () => {
    expect(docs.filter((d) => !(d.code in ERROR_CODES)).map((d) => d.code)).toEqual([]);
  });

  it('raises every cataloged code somewhere in the server', () => {
    // A code is used when a shipped source names it as a string literal: an AppError, an error
    // body, or a typed code another function passes to one (a Segment message's refusal).
    const literals = new Set(sources().flatMap(({ text }) => [...text.matchAll(/'([A-Z0-9_]+)'|"([A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]!)));
    expect(catalog.filter((code) => !literals.has(code))).toEqual([]);
  });
});
