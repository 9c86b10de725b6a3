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

  it('guesses a declared custom field by its key or label', () => {
    const declared = [{ key: 'seats', label: 'Licensed seats' }];
    expect(guessTarget('Seats', declared)).toBe('custom:seats');
    expect(guessTarget('licensed_seats', declared)).toBe('custom:seats');
    expect(guessTarget('Plan', declared)).toBe('custom:Plan');
    // A contact's own field wins over a declared label.
    expect(guessTarget('Email', [{ key: 'x', label: 'email' }])).toBe('email');
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
