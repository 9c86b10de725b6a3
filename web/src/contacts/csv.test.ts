import { describe, expect, it } from 'vitest';
import { guessTarget, mappingPairs, parseHeader, progressPercent } from './csv';

describe('CSV import helpers', () => {
  it('reads the header row with quotes, a BOM and CRLF', () => {
    expect(parseHeader('\ufeffE-mail address,"Last, name","He said ""hi""",Plan\r\na,b,c,d')).toEqual(['E-mail address', 'Last, name', 'He said "hi"', 'Plan']);
    expect(parseHeader('')).toEqual([]);
  });

  it('guesses fields like the server, custom fields otherwise', () => {
    expect(guessTarget('E-mail address')).toBe('email');
    expect(guessTarget('First Name')).toBe('firstName');
    expect(guessTarget('Plan')).toBe('custom:Plan');
    expect(guessTarget('  ')).toBe('ignore');
  });

  it('builds map pairs and skips columns the server could not parse', () => {
    expect(mappingPairs({ 'E-mail': 'email', Notes: 'ignore', 'a=b': 'company' })).toEqual(['E-mail=email', 'Notes=ignore']);
  });

  it('reports progress from bytes read, clamped', () => {
    expect(progressPercent(50, 200)).toBe(25);
    expect(progressPercent(500, 200)).toBe(100);
    expect(progressPercent(1, 0)).toBe(0);
  });
});
