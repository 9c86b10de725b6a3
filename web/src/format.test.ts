import { describe, expect, it } from 'vitest';
import { ApiError, fieldErrors } from './api';
import { contactName, headerRows, parseTags, scoreParts, scoreTone } from './format';
import { matchPath, safeNextPath } from './router';

describe('contact helpers', () => {
  it('names a contact by its name, or its email when it has none', () => {
    expect(contactName({ firstName: 'Grace', lastName: 'Hopper', email: 'g@x.io' })).toBe('Grace Hopper');
    expect(contactName({ firstName: null, lastName: null, email: 'g@x.io' })).toBe('g@x.io');
  });

  it('bands scores as the product defines: 60–79 warm, 80–100 hot', () => {
    expect([0, 59, 60, 79, 80, 100].map(scoreTone)).toEqual(['cold', 'cold', 'warm', 'warm', 'hot', 'hot']);
  });

  it('parses comma-separated tags, trimmed and unique', () => {
    expect(parseTags(' vip, webinar,,vip ,  ')).toEqual(['vip', 'webinar']);
  });
});

describe('scoreParts', () => {
  it('reads plain numbers, objects with points and lists of parts', () => {
    expect(scoreParts({ emailEngagement: 30, total: 45 })).toEqual([{ label: 'Email Engagement', points: 30 }]);
    expect(scoreParts({ intent: { points: 15, max: 20, reason: 'Visited pricing' } })).toEqual([{ label: 'Intent', points: 15, max: 20, note: 'Visited pricing' }]);
    expect(scoreParts([{ part: 'job_title', score: 10, weight: 10 }])).toEqual([{ label: 'Job title', points: 10, max: 10 }]);
  });

  it('yields nothing for missing or unknown shapes', () => {
    expect(scoreParts(undefined)).toEqual([]);
    expect(scoreParts('high')).toEqual([]);
    expect(scoreParts({ engagement: { text: 'no number' } })).toEqual([]);
  });
});

describe('headerRows', () => {
  it('lists each header of the object as a name/value row, in order', () => {
    expect(headerRows({ 'message-id': '<a@b>', subject: 'Hi' })).toEqual([
      ['message-id', '<a@b>'],
      ['subject', 'Hi'],
    ]);
    expect(headerRows({})).toEqual([]);
  });
});

describe('fieldErrors', () => {
  it('maps validation details to form fields, first message per field', () => {
    const error = new ApiError(400, 'VALIDATION_FAILED', 'Invalid body', [
      { path: '/email', message: 'must match format "email"' },
      { path: '/email', message: 'second' },
      { path: '/tags/0', message: 'must be string' },
      { field: 'name', message: 'is required' },
    ]);
    expect(fieldErrors(error)).toEqual({ email: 'must match format "email"', tags: 'must be string', name: 'is required' });
    expect(fieldErrors(new Error('x'))).toEqual({});
    expect(fieldErrors(new ApiError(400, 'INVALID_CUSTOM_FIELD', 'customFields.seats must be a number', { field: 'customFields.seats', key: 'seats' }))).toEqual({ 'customFields.seats': 'customFields.seats must be a number' });
  });
});

describe('router helpers', () => {
  it('matches parameters and rejects other paths', () => {
    expect(matchPath('/contacts/:id', '/contacts/a%20b')).toEqual({ id: 'a b' });
    expect(matchPath('/contacts/:id', '/contacts')).toBeNull();
    expect(matchPath('/contacts/:id', '/campaigns/1')).toBeNull();
  });

  it('only follows ?next= to a path inside the app', () => {
    expect(safeNextPath('/campaigns/1', '/contacts')).toBe('/campaigns/1');
    expect(safeNextPath('https://evil.example', '/contacts')).toBe('/contacts');
    expect(safeNextPath('//evil.example', '/contacts')).toBe('/contacts');
    expect(safeNextPath('/\\evil.example', '/contacts')).toBe('/contacts');
    expect(safeNextPath(null, '/contacts')).toBe('/contacts');
  });
});
