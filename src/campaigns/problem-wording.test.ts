/**
 * The wording map of definition problems: every code the validator, the definition checks and the
 * webhook host check can report has a sentence, and the sentences read as plain words (no schema
 * text, no field paths, no "undefined").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dripDefinition } from '../../test/campaign-support.js';
import { fieldLabel, PROBLEM_CODES, PROBLEM_WORDING, problemSentence, type ProblemCode } from './problem-wording.js';
import { validateDefinition } from './validator.js';

const SOURCES = ['validator.ts', 'definition-checks.ts', 'webhook-urls.ts'];

/** Codes named in the sources: snake_case literals on lines that build a problem. */
function codesInSources(): Set<string> {
  const codes = new Set<string>();
  for (const file of SOURCES) {
    const text = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    for (const line of text.split('\n')) {
      if (!/issueOf\(|const code =|\? 'field_/.test(line)) continue;
      for (const match of line.matchAll(/'([a-z]+(?:_[a-z]+)+)'/g)) codes.add(match[1]!);
    }
  }
  return codes;
}

const SAMPLE = { label: 'the subject line', limit: 3, key: 'bogus', type: 'teleport', choices: 'a, b', expected: 'a number', format: 'date and time', line: 2, reason: 'unexpected tag', variable: 'secrets', zone: 'Mars/Base', host: '10.0.0.5', total: 90, target: 'e9', handle: 'vip' };

function assertPlain(sentence: string): void {
  expect(sentence).toMatch(/^[A-Z“]/);
  expect(sentence).toMatch(/[.)]$/);
  expect(sentence).not.toMatch(/must NOT|undefined|NaN|\bconfig\.|instancePath|\[object/);
}

describe('problem wording', () => {
  it('has a sentence for every code the checks report', () => {
    const used = codesInSources();
    expect(used.size).toBeGreaterThan(40);
    for (const code of used) expect(PROBLEM_CODES, `code ${code} has no sentence`).toContain(code);
  });

  it('words every code in plain sentences', () => {
    for (const code of PROBLEM_CODES) {
      const sentence = problemSentence(code, SAMPLE);
      assertPlain(sentence);
      expect(sentence.length).toBeGreaterThan(15);
      expect(typeof PROBLEM_WORDING[code as ProblemCode]).toBe('function');
    }
  });

  it('names fields as a marketer would', () => {
    expect(fieldLabel('config.subject')).toBe('the subject line');
    expect(fieldLabel('config.branches.0.match.rules.1.tag')).toBe('the tag');
    expect(fieldLabel('config.somethingNew')).toBe('this setting');
  });

  it('gives the validator’s problems on broken definitions as those sentences', async () => {
    const drip = dripDefinition() as unknown as { nodes: Array<Record<string, unknown>>; edges: Array<Record<string, unknown>> };
    drip.nodes.push(
      { id: 'orphan', type: 'exit', config: {} },
      { id: 'mail', type: 'email', config: { subject: '', html: '{{ secrets.key }}', extra: true } },
      { id: 'hold', type: 'wait', config: { kind: 'duration', seconds: -4 } },
      { id: 'nap', type: 'wait', config: { kind: 'until_time', hour: 30, defaultTimezone: 'Mars/Base' } },
      { id: 'ab', type: 'split', config: { variants: [{ id: 'a', weight: 50 }] } },
      { id: 'hook', type: 'action', config: { kind: 'webhook', url: 'ftp://x', secret: 'short' } },
      { id: 'who', type: 'trigger', config: { kind: 'segment_entered', segmentId: '' } },
      { id: 'c', type: 'condition', config: { branches: [{ id: 'default', match: { operator: 'and', rules: [{ kind: 'email', nodeId: 'hold', event: 'opened', present: true }] } }] } },
    );
    drip.edges.push({ from: 'orphan', to: 'mail' }, { from: 'mail', to: 'gone' });
    const issues = await validateDefinition(drip);
    expect(issues.length).toBeGreaterThan(8);
    for (const issue of issues) {
      expect(PROBLEM_CODES).toContain(issue.code);
      assertPlain(issue.message);
    }
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'mail', field: 'config.subject', message: 'Fill in the subject line; it cannot be empty.' }),
        expect.objectContaining({ nodeId: 'hold', field: 'config.seconds', message: 'The wait time must be at least 0.' }),
        expect.objectContaining({ nodeId: 'who', field: 'config.segmentId', message: 'Choose the segment from the list.' }),
        expect.objectContaining({ nodeId: 'hook', field: 'config.url', code: 'webhook_bad_url' }),
      ]),
    );
  });
});
