import { describe, expect, it } from 'vitest';
import { systemClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { OfflineCompiler, sentContentOf } from './offline-compiled.js';
import { createOfflineProvider } from './offline.js';
import { AiService } from './personalize.js';
import { DEFAULT_POLICY } from './policy.js';
import type { ContactFacts, EmailDraft } from './provider.js';
import { Redactor } from './redaction.js';

const NOBODY: ContactFacts = { firstName: null, lastName: null, email: null, phone: null, company: null, jobTitle: null, status: null, scoreBand: null, daysSinceActivity: null, custom: {} };
const LINK = '<a href="https://shop.example.com/spring">spring collection</a>';

/** Originals, and whether their shells serve some contacts (null: some shapes only, or not said). */
const ORIGINALS: Array<[string, EmailDraft, boolean | null]> = [
  ['a fragment', { subject: 'Spring picks', preheader: '', html: `<p>Our ${LINK} is here.</p>` }, true],
  ['a document with a body and a style sheet', { subject: 'Spring picks', preheader: '', html: `<!doctype html><html><head><style>p { color: red }</style></head><body class="x"><table><tr><td><p>Our ${LINK} &amp; more.</p></td></tr></table></body></html>` }, true],
  ['a greeting already', { subject: 'Hello there', preheader: '', html: `<p>Hello friend,</p><p>${LINK}</p>` }, true],
  ['a subject near the limit', { subject: `Spring ${'picks '.repeat(31)}`.trim(), preheader: '', html: '<p>Body</p>' }, true],
  ['a preheader of its own', { subject: 'Spring', preheader: 'Already here', html: '<p>Body</p>' }, true],
  ['a body inside a heading (upper case)', { subject: 'News', preheader: '', html: `<h1><body>Big</body></h1><p>${LINK}</p>` }, null],
  ['a body inside a quote', { subject: 'News', preheader: '', html: `<blockquote><body><p>Quoted ${LINK}</p></body></blockquote>` }, null],
  ['a body inside pre', { subject: 'News', preheader: '', html: `<pre><body>kept   as is</body></pre>` }, null],
  ['Liquid kept as text', { subject: 'Hi {{ contact.first_name }}', preheader: '', html: `<p>{{ contact.first_name }}, ${LINK}</p>` }, false],
  ['MJML', { subject: 'S', preheader: '', html: '<mjml><mj-body><mj-section><mj-column><mj-text>Body</mj-text></mj-column></mj-section></mj-body></mjml>' }, false],
  ['markup the checks refuse', { subject: 'S', preheader: '', html: '<p>Hi</p><script>x()</script>' }, false],
];

const CONTACTS: Array<Partial<ContactFacts>> = [
  {},
  { firstName: 'Ada' },
  { firstName: 'Ada', jobTitle: 'Gardener', company: 'Company 12', custom: { interest: 'terraces' } },
  { firstName: 'Zoë', jobTitle: 'Senior Landscape Architect and Head of Outdoor', company: 'Øresund’s Garden Works Limited 1847', custom: { interest: 'terraces, pergolas and courtyard seating' } },
  { firstName: "Seán O'Brien-Ní Dhomhnaill", status: 'customer', company: "O'Neil & Sons" },
  { firstName: 'Grace', daysSinceActivity: 90 },
  { firstName: 'Alan', scoreBand: 'hot' },
  { firstName: 'Spring', company: 'Acme' },
  { firstName: 'J.', jobTitle: 'CTO' },
  { firstName: 'Ab  Cd\u200b', company: 'A\u00a0B' },
  { firstName: 'x'.repeat(60), company: 'y'.repeat(60), jobTitle: 'z'.repeat(60), custom: { plan: 'w'.repeat(60) } },
  { company: 'Tab\tCo', scoreBand: 'warm' },
  { firstName: 'Ω', custom: { industry: 'mining; quarrying' } },
];

const service = new AiService({ db: undefined as never, clock: systemClock, logger: createLogger('silent'), settings: undefined as never });
const provider = createOfflineProvider();

async function run(draft: EmailDraft, facts: ContactFacts, compiler?: OfflineCompiler) {
  const answer = await service.personalizeItem(draft, 'c', facts, DEFAULT_POLICY, {}, compiler).call(provider, new Redactor([], false), 1024);
  if (!('value' in answer)) return answer;
  return { draft: answer.value.draft, changes: answer.value.changes, sent: answer.value.sent ?? sentContentOf(answer.value.draft), compiled: answer.value.sent !== undefined };
}

describe('offline rules compiled per original', () => {
  it.each(ORIGINALS)('give what the full pipeline gives, contact by contact: %s', async (_name, draft, serves) => {
    const compiler = new OfflineCompiler();
    let served = 0;
    // Twice over, so every contact also goes through a shell built by an earlier one.
    for (const facts of [...CONTACTS, ...CONTACTS].map((f) => ({ ...NOBODY, ...f }))) {
      const full = await run(draft, facts);
      const compiled = await run(draft, facts, compiler);
      expect({ ...compiled, compiled: undefined }).toEqual({ ...full, compiled: undefined });
      if ('compiled' in compiled && compiled.compiled) served += 1;
    }
    if (serves !== null) expect(served > 0).toBe(serves);
  });

  it('serves plain values from the shell and the rest the full way', async () => {
    const compiler = new OfflineCompiler();
    const draft = ORIGINALS[1]![1];
    const served = async (facts: Partial<ContactFacts>) => {
      const r = await run(draft, { ...NOBODY, ...facts }, compiler);
      return 'compiled' in r && r.compiled;
    };
    // The first two emails of an original go the full way; the shells serve from the third.
    expect([await served({ firstName: 'Ada' }), await served({ firstName: 'Ada' })]).toEqual([false, false]);
    expect(await served({ firstName: 'Grace', jobTitle: 'Gardener', company: 'Company 12', custom: { interest: 'terraces' } })).toBe(true);
    expect(await served({ firstName: 'Alan' })).toBe(true);
    expect(await served({ firstName: 'Ada', company: 'Smith & Sons' })).toBe(false);
  });

  it('is stable: the same email and contact give the same content every time', async () => {
    const compiler = new OfflineCompiler();
    const facts = { ...NOBODY, ...CONTACTS[3] };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await run(ORIGINALS[0]![1], facts, compiler));
    expect(new Set(results.map((r) => JSON.stringify({ ...r, compiled: undefined }))).size).toBe(1);
  });
});
