import { describe, expect, it } from 'vitest';
import { parseAddressList } from './address-list.js';
import { encodeQuotedPrintable, encodeWords, foldHeader, quoteString } from './mime-encoding.js';

/** RFC 2045 decoding: soft breaks removed, =XX bytes restored, read as UTF-8. */
function decodeQuotedPrintable(encoded: string): string {
  const bytes: number[] = [];
  const text = encoded.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '=') {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 decoding of UTF-8 Q encoded-words; white space between two words is dropped. */
function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?Q\?([^?]*)\?=/g, (_m, q: string) => {
    const bytes: number[] = [];
    for (let i = 0; i < q.length; i += 1) {
      if (q[i] === '=') {
        bytes.push(Number.parseInt(q.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(q[i] === '_' ? 32 : q.charCodeAt(i));
    }
    return Buffer.from(bytes).toString('utf8');
  });
}

/** A deterministic mix of ASCII, spaces, "=", accents, CJK and emoji, with line breaks. */
function sample(seed: number, length: number): string {
  const alphabet = ['a', 'Z', '0', ' ', ' ', '\t', '=', '.', '?', '_', 'é', 'ß', '—', '漢', '😀', '\r\n', '"', '\\'];
  let x = seed;
  let out = '';
  for (let i = 0; i < length; i += 1) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

describe('encodeQuotedPrintable', () => {
  it('round-trips any text, with lines of at most 76 characters, only printable ASCII, and no white space before a line end', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const text = sample(seed, (seed * 7) % 400);
      const encoded = encodeQuotedPrintable(text);
      expect(decodeQuotedPrintable(encoded)).toBe(text);
      for (const line of encoded.split('\r\n')) {
        expect(line.length).toBeLessThanOrEqual(76);
        expect(line).toMatch(/^[\x21-\x7e \t]*$/);
        expect(line).not.toMatch(/[ \t]$/);
      }
    }
  });

  it('keeps printable ASCII as it is and escapes "=" and bytes over 127', () => {
    expect(encodeQuotedPrintable('a = b\r\nGrüße ')).toBe('a =3D b\r\nGr=C3=BC=C3=9Fe=20');
  });

  it('never splits an escape across a soft line break', () => {
    const encoded = encodeQuotedPrintable('é'.repeat(60));
    for (const line of encoded.split('=\r\n')) expect(line).toMatch(/^(=[0-9A-F]{2})+$/);
  });
});

describe('encodeWords', () => {
  it('round-trips any text in words of at most 52 characters made of Q-safe characters', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const text = sample(seed, (seed * 3) % 120).replace(/\r\n|\t/g, ' ');
      const encoded = encodeWords(text);
      expect(decodeWords(encoded)).toBe(text);
      for (const word of encoded.split(' ').filter(Boolean)) expect(word).toMatch(/^=\?UTF-8\?Q\?[A-Za-z0-9!*+\-/=_]{1,40}\?=$/);
    }
  });
});

describe('foldHeader and quoteString', () => {
  it('folds at spaces within 76 characters and unfolds to the same line', () => {
    const line = `Subject: ${encodeWords('Grüße aus München — ein sehr langer Betreff für den Test der Faltung')}`;
    const folded = foldHeader(line);
    expect(folded.split('\r\n').every((l) => l.length <= 76)).toBe(true);
    expect(folded.split('\r\n').slice(1).every((l) => l.startsWith(' ') && l.trim() !== '')).toBe(true);
    expect(folded.replace(/\r\n/g, '')).toBe(line);
    expect(foldHeader('X-Short: yes')).toBe('X-Short: yes');
  });

  it('quotes a display name, escaping quotes and backslashes', () => {
    expect(quoteString('Lovelace, "Ada" \\ Countess')).toBe('"Lovelace, \\"Ada\\" \\\\ Countess"');
  });
});

describe('parseAddressList', () => {
  it('reads names, addresses, quotes, comments and groups', () => {
    const cases: Array<[string, Array<{ name: string; address: string }>]> = [
      ['ada@example.com', [{ name: '', address: 'ada@example.com' }]],
      ['<ada@example.com>', [{ name: '', address: 'ada@example.com' }]],
      ['Ada Lovelace <ada@example.com>', [{ name: 'Ada Lovelace', address: 'ada@example.com' }]],
      ['"Lovelace, Ada" <ada@example.com>', [{ name: 'Lovelace, Ada', address: 'ada@example.com' }]],
      ['"Say \\"hi\\"" <a@x.test>, b@x.test', [{ name: 'Say "hi"', address: 'a@x.test' }, { name: '', address: 'b@x.test' }]],
      ['ada@example.com (Ada (the first) Lovelace)', [{ name: 'Ada the first Lovelace', address: 'ada@example.com' }]],
      ['Team: a@x.test, "B, b" <b@x.test>;, c@x.test', [{ name: '', address: 'a@x.test' }, { name: 'B, b', address: 'b@x.test' }, { name: '', address: 'c@x.test' }]],
      ['Café Müller <news@acme.test>', [{ name: 'Café Müller', address: 'news@acme.test' }]],
      ['Acme', [{ name: 'Acme', address: '' }]],
      ['', []],
      [' , ', []],
    ];
    for (const [field, expected] of cases) expect(parseAddressList(field), field).toEqual(expected);
  });
});
