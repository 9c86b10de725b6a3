import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { findUnstorableText, isStorableText, storableText } from './text.js';

describe('unstorable text', () => {
  it('finds NUL and unpaired surrogates, in values and keys, by JSON pointer', () => {
    expect(isStorableText('plain, accents é, emoji 😀')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('lone high \ud800')).toBe(false);
    expect(isStorableText('lone low \udc00 here')).toBe(false);
    expect(isStorableText('\udc00\ud800')).toBe(false);
    expect(findUnstorableText({ a: 1, b: ['ok', { 'c/d': 'x\u0000' }] })).toBe('/b/1/c~1d');
    expect(findUnstorableText({ ok: 'yes', ['k\u0000']: 1 })).toBe('/k\ufffd');
    expect(findUnstorableText('\ud83d')).toBe('/');
    expect(findUnstorableText({ a: [1, null, true, '😀'] })).toBeNull();
    expect(storableText('a\u0000b\ud800c😀')).toBe('a\ufffdb\ufffdc😀');
  });

  it('walks deep nesting without the call stack, and never walks a stream body', () => {
    let deep: unknown = 'bottom\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findUnstorableText(deep)).toMatch(/^(\/0){100000}$/);
    const stream = Readable.from(['a\u0000']);
    Object.assign(stream, { label: 'x\u0000' });
    expect(findUnstorableText(stream)).toBeNull();
    // The query parser's objects descend from a null-prototype object.
    function Query() {}
    Query.prototype = Object.create(null) as object;
    const query = Object.assign(new (Query as unknown as new () => object)(), { tag: '\u0000' });
    expect(findUnstorableText(query)).toBe('/tag');
  });
});
