import { describe, expect, it } from 'vitest';
import { compare } from './compare.js';

describe('compare', () => {
  it('orders numbers (also given as text) and YYYY-MM-DD dates, and nothing else', () => {
    expect(compare(120, 'gte', 10)).toBe(true);
    expect(compare('120', 'gt', '9')).toBe(true);
    expect(compare('2027-01-10', 'gt', '2026-12-31')).toBe(true);
    expect(compare('2027-01-10', 'lte', '2027-01-10')).toBe(true);
    expect(compare('2027-01-10', 'lt', '2027-01-09')).toBe(false);
    expect(compare('soon', 'gt', '2027-01-01')).toBe(false);
    expect(compare(null, 'lt', 5)).toBe(false);
  });

  it('compares text without case', () => {
    expect(compare('Pro', 'eq', 'pro')).toBe(true);
    expect(compare(['a', 'b'], 'contains', 'b')).toBe(true);
    expect(compare('', 'exists', undefined)).toBe(false);
  });
});
