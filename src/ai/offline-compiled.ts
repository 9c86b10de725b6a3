/**
 * Offline personalization of a sender batch, compiled once per original email. The rules
 * (offline.ts) only put the contact's first name and one context line at fixed places, so per
 * original and per shape of change (name in the subject, greeting, context line, preheader) the
 * costly part of the pipeline — the output checks (checks.ts: Liquid, links, domains, the
 * sanitizer, the template parse), the hidden preheader and the generated text part — runs once, on
 * a shell: the personalized email with stand-in marks where the name and the line go. A contact's
 * email is then the shell with its values put in. That is exactly what the full pipeline gives when:
 * - the original is HTML (not MJML) without `{{`, `{%` or the marks' characters: there is no Liquid
 *   tag, the values (no braces) and the text around them (ours) cannot make one, and nothing else
 *   uses the marks;
 * - the values are plain text (letters, digits, single spaces and . , ; ' ’ -): no check reacts to
 *   them, and the sanitizer, the preheader and the text part keep them as they are;
 * - the shell passed every check, and each mark is in the shell's output as often as it was put in,
 *   the line's alone on a line of the text part (a paragraph of its own, which the text part wraps
 *   like a paragraph alone; the greeting, at most 64 characters, never wraps);
 * - the contact's subject, preheader and HTML lengths are within the checks' bounds.
 * Before a shell is used it is filled with probe values (a long line that wraps) and compared with
 * the full pipeline's result for them; any difference, and any case above that does not hold, sends
 * that contact (or every contact of that shell) through the full pipeline instead.
 */
import { textFromHtml } from '../email/render.js';
import { escapeHtml } from '../platform/html.js';
import { MAX_PREHEADER_LENGTH, MAX_SUBJECT_LENGTH } from './checks.js';
import { applyOffline, changesOf, chooseOffline, readOriginal, type OfflineChoice, type OfflineOriginal } from './offline.js';
import type { ContactFacts, EmailDraft, Personalized, Usage } from './provider.js';
import type { SentContent } from './variants.js';

/** A personalized email as the checks passed it, what it changed, and the content sent. */
export interface PersonalizedValue {
  draft: EmailDraft;
  changes: string[];
  /** The content sent (the hidden preheader and the text part added); set by the compiled path. */
  sent?: SentContent;
}

export type CheckedAnswer = { value: PersonalizedValue; usage: Usage } | { refused: string; usage: Usage };

/** The full pipeline's checks of an offline answer (personalize.ts): what the compiled path must equal. */
export type CheckAnswer = (answer: Personalized) => Promise<CheckedAnswer>;

/** The content sent for a personalized draft: its preheader as hidden text at the start, and a text part. */
export function sentContentOf(draft: EmailDraft): SentContent {
  const html = withPreheader(draft.html, draft.preheader);
  return { subject: draft.subject, html, text: textFromHtml(html) };
}

function withPreheader(html: string, preheader: string): string {
  if (preheader.trim() === '') return html;
  const escaped = preheader.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const hidden = `<div style="display:none;max-height:0;overflow:hidden">${escaped}</div>`;
  const body = /<body\b[^>]*>/i.exec(html);
  return body ? html.slice(0, body.index + body[0].length) + hidden + html.slice(body.index + body[0].length) : hidden + html;
}

// Private-use characters, as render.ts uses for Liquid: they survive the sanitizer and the text part.
const FIRST_MARK = '\uE000f\uE001';
const LINE_MARK = '\uE000l\uE001';
const MARKS = /\uE000([fl])\uE001/g;
const PLAIN = /^[\p{L}\p{M}\p{N}.,;'’-]+(?: [\p{L}\p{M}\p{N}.,;'’-]+)*$/u;
const PROBE_FIRST = "Zoë-Ann O'Dell";
const PROBE_LINE = "Picked for your role as Senior Landscape Architect at Øresund’s Garden Works 1847. With your interest in terraces, pergolas; and O'Neil-style courtyard seating in mind.";
/** Originals kept (HTML, and subjects per HTML); a shell holds a few copies of its HTML. */
const MAX_ORIGINALS = 50;
/** An original is compiled from its third message on. */
const SHARED_FROM = 3;
const MAX_LINES = 10_000;
const NO_USAGE: Usage = { tokensIn: 0, tokensOut: 0 };

/** A text with marks, cut at them: pieces[0] slot[0] pieces[1] … */
interface Cut {
  pieces: string[];
  slots: Array<'f' | 'l'>;
}

interface Shell {
  subject: Cut;
  preheader: Cut;
  /** The checked (sanitized) HTML, and the HTML sent (with the hidden preheader). */
  html: Cut;
  sentHtml: Cut;
  text: Cut;
  /** The length of the rules' HTML before the checks, marks included (the checks bound it). */
  outHtmlLength: number;
}

interface Compiled {
  original: OfflineOriginal;
  /** The original can be compiled at all (HTML, no Liquid delimiters, no marks). */
  eligible: boolean;
  shells: Map<string, Promise<Shell | null>>;
}

function cut(text: string): Cut {
  const pieces: string[] = [];
  const slots: Cut['slots'] = [];
  let at = 0;
  for (const m of text.matchAll(MARKS)) {
    pieces.push(text.slice(at, m.index));
    slots.push(m[1] as 'f' | 'l');
    at = m.index + m[0].length;
  }
  pieces.push(text.slice(at));
  return { pieces, slots };
}

function fill(c: Cut, first: string, line: string): string {
  let out = c.pieces[0]!;
  for (let i = 0; i < c.slots.length; i++) out += (c.slots[i] === 'f' ? first : line) + c.pieces[i + 1]!;
  return out;
}

function count(c: Cut, slot: 'f' | 'l'): number {
  return c.slots.filter((s) => s === slot).length;
}

/** Each line mark of a text part stands alone on its line. */
function linesAlone(c: Cut): boolean {
  return c.slots.every((s, i) => s !== 'l' || ((i === 0 ? c.pieces[0] === '' || c.pieces[0]!.endsWith('\n') : c.pieces[i]!.endsWith('\n')) && (c.pieces[i + 1] === '' || c.pieces[i + 1]!.startsWith('\n'))));
}

function shapeOf(choice: OfflineChoice): string {
  return `${+choice.subjectName}${+choice.greeting}${+(choice.context !== null)}${+choice.preheader}`;
}

export class OfflineCompiler {
  /** By HTML, then by subject and preheader. */
  private readonly originals = new Map<string, Map<string, { seen: number; compiled: Compiled | null }>>();
  /** A context line as the text part wraps it in a paragraph of its own. */
  private readonly wrapped = new Map<string, string>();

  /**
   * The checked answer for one contact through the compiled shell, or null when this contact has
   * to go through the full pipeline (`check` is that pipeline's checks, used to build and verify
   * shells).
   */
  async personalize(draft: EmailDraft, contact: ContactFacts, check: CheckAnswer): Promise<CheckedAnswer | null> {
    const compiled = this.compiledFor(draft);
    if (!compiled?.eligible) return null;
    const choice = chooseOffline(compiled.original, contact);
    const first = choice.subjectName || choice.greeting ? choice.first! : '';
    const line = choice.context?.line ?? '';
    if ((first !== '' && !PLAIN.test(first)) || (line !== '' && !PLAIN.test(line))) return null;
    const shape = shapeOf(choice);
    let building = compiled.shells.get(shape);
    if (!building) {
      // A shell that cannot be built (an unexpected error) only sends its contacts the full way.
      building = this.build(compiled.original, choice, check).catch(() => null);
      compiled.shells.set(shape, building);
    }
    const shell = await building;
    if (!shell) return null;
    const subject = fill(shell.subject, first, line);
    const preheader = fill(shell.preheader, first, line);
    const outHtmlLength = shell.outHtmlLength + (choice.greeting ? escapeHtml(first).length - FIRST_MARK.length : 0) + (choice.context ? escapeHtml(line).length - LINE_MARK.length : 0);
    // The checks' bounds on what the values change (checkGenerated); past them the full pipeline says why.
    if (subject === '' || subject.length > MAX_SUBJECT_LENGTH || (choice.preheader && line.length > MAX_PREHEADER_LENGTH) || outHtmlLength > draft.html.length * 2 + 2000) return null;
    const html = fill(shell.html, first, line);
    const sent = { subject, html: fill(shell.sentHtml, first, line), text: fill(shell.text, first, count(shell.text, 'l') > 0 ? this.wrap(line) : line) };
    return { value: { draft: { subject, preheader, html }, changes: changesOf(choice), sent }, usage: NO_USAGE };
  }

  /**
   * The original's compiled entry once it has been seen SHARED_FROM times (an original seen once
   * or twice — a template whose Liquid made each contact's email different — is not worth its
   * shells), otherwise null.
   */
  private compiledFor(draft: EmailDraft): Compiled | null {
    let bySubject = this.originals.get(draft.html);
    if (!bySubject) {
      if (this.originals.size >= MAX_ORIGINALS) this.originals.delete(this.originals.keys().next().value as string);
      bySubject = new Map();
      this.originals.set(draft.html, bySubject);
    }
    const key = `${draft.subject}\n${draft.preheader}`;
    let entry = bySubject.get(key);
    if (!entry) {
      if (bySubject.size >= MAX_ORIGINALS) bySubject.delete(bySubject.keys().next().value as string);
      entry = { seen: 0, compiled: null };
      bySubject.set(key, entry);
    }
    entry.seen += 1;
    if (entry.seen < SHARED_FROM) return null;
    if (!entry.compiled) {
      const eligible = !/\{\{|\{%|[\uE000\uE001]/.test(`${key}${draft.html}`) && !/^\s*<mjml[\s>]/i.test(draft.html);
      entry.compiled = { original: readOriginal(draft), eligible, shells: new Map() };
    }
    return entry.compiled;
  }

  private wrap(line: string): string {
    let text = this.wrapped.get(line);
    if (text === undefined) {
      text = textFromHtml(`<p>${line}</p>`);
      if (this.wrapped.size >= MAX_LINES) this.wrapped.clear();
      this.wrapped.set(line, text);
    }
    return text;
  }

  /** The shell of one shape, or null when it cannot stand for the full pipeline (see the module comment). */
  private async build(original: OfflineOriginal, choice: OfflineChoice, check: CheckAnswer): Promise<Shell | null> {
    const out = applyOffline(original, choice, FIRST_MARK, LINE_MARK);
    const answer = await check(out);
    if (!('value' in answer)) return null;
    const checked = answer.value.draft;
    const sent = sentContentOf(checked);
    const shell: Shell = { subject: cut(checked.subject), preheader: cut(checked.preheader), html: cut(checked.html), sentHtml: cut(sent.html), text: cut(sent.text), outHtmlLength: out.draft.html.length };
    const f = (choice.subjectName ? 1 : 0) + (choice.greeting ? 1 : 0);
    const l = choice.context ? 1 : 0;
    const p = choice.preheader ? 1 : 0;
    const expected: Array<[Cut, number, number]> = [
      [shell.subject, choice.subjectName ? 1 : 0, 0],
      [shell.preheader, 0, p],
      [shell.html, f - (choice.subjectName ? 1 : 0), l],
      [shell.sentHtml, f - (choice.subjectName ? 1 : 0), l + p],
      [shell.text, choice.greeting ? 1 : 0, l + p],
    ];
    if (expected.some(([c, nf, nl]) => count(c, 'f') !== nf || count(c, 'l') !== nl) || !linesAlone(shell.text)) return null;
    // The probe: the shell filled with values that wrap must be what the full pipeline gives for them.
    const probe: OfflineChoice = { ...choice, first: choice.first === null ? null : PROBE_FIRST, context: choice.context ? { line: PROBE_LINE, rule: choice.context.rule } : null };
    const expectedProbe = await check(applyOffline(original, probe));
    if (!('value' in expectedProbe)) return null;
    const want = { ...expectedProbe.value.draft, sent: sentContentOf(expectedProbe.value.draft) };
    const first = choice.subjectName || choice.greeting ? PROBE_FIRST : '';
    const line = choice.context ? PROBE_LINE : '';
    const got = {
      subject: fill(shell.subject, first, line),
      preheader: fill(shell.preheader, first, line),
      html: fill(shell.html, first, line),
      sent: { subject: fill(shell.subject, first, line), html: fill(shell.sentHtml, first, line), text: fill(shell.text, first, l + p > 0 ? textFromHtml(`<p>${line}</p>`) : line) },
    };
    return JSON.stringify(got) === JSON.stringify(want) ? shell : null;
  }
}
