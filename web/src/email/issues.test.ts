import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { describeIssue, lineRange, templateIssues } from './issues';

describe('template issues', () => {
  it('reads field, line and message of TEMPLATE_INVALID only', () => {
    const error = new ApiError(400, 'TEMPLATE_INVALID', 'bad', [{ field: 'html', line: 3, message: 'unknown variable' }, { field: 'subject', line: null, message: 'empty' }, { field: 'other', message: 'x' }, null]);
    expect(templateIssues(error)).toEqual([
      { field: 'html', line: 3, message: 'unknown variable' },
      { field: 'subject', line: null, message: 'empty' },
    ]);
    expect(templateIssues(new ApiError(400, 'VALIDATION_FAILED', 'bad', [{ field: 'html', line: 1, message: 'x' }]))).toEqual([]);
    expect(describeIssue({ field: 'html', line: 3, message: 'unknown variable' })).toBe('html line 3: unknown variable');
  });

  it('finds the character range of a line', () => {
    const text = 'one\ntwo\nthree';
    expect(lineRange(text, 1)).toEqual([0, 3]);
    expect(lineRange(text, 2)).toEqual([4, 7]);
    expect(lineRange(text, 3)).toEqual([8, 13]);
    expect(lineRange(text, 9)).toEqual([13, 13]);
  });
});
