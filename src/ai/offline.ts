/**
 * The offline personalizer: the default when a workspace configured no provider. Deterministic,
 * no network, no model: the same email and contact always give the same result. It adds a
 * greeting, the first name in the subject and one context line chosen from the contact's own data
 * (docs/ai.md lists the rules in order), and never touches the original's links, Liquid tags or
 * wording. Contact values that look like markup, Liquid, addresses or domains are not used.
 *
 * The rules run in three steps so a batch can share the first: what they read from the original
 * email (readOriginal, the same for every contact), what they choose for a contact (chooseOffline)
 * and the email that choice gives (applyOffline); offline-compiled.ts builds on them.
 */
import { RulesReplyClassifier } from '../scoring/classifier.js';
import type { AiProvider, ContactFacts, EmailDraft, Personalized, ProviderCall, ReplyVerdict } from './provider.js';
import { escapeHtml } from '../platform/html.js';

export const OFFLINE_MODEL = 'rules-v1';
const NO_USAGE = { tokensIn: 0, tokensOut: 0 };
/** Custom fields the context line may mention, in this order. */
export const OFFLINE_INTEREST_FIELDS = ['interest', 'product', 'plan', 'industry'] as const;
const MAX_SUBJECT = 150;

/** A contact value fit to appear in an email, or null. */
export function usableValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.replace(/\s+/g, ' ').trim();
  if (v === '' || v.length > 60) return null;
  if (/[{}<>@[\]]|:\/\/|\.[a-z]{2,}\b/i.test(v)) return null;
  return v;
}

/** The context line: the first rule that applies (docs/ai.md "Offline rules"). */
export function contextLine(contact: ContactFacts): { line: string; rule: string } | null {
  const company = usableValue(contact.company);
  const role = usableValue(contact.jobTitle);
  const interestKey = OFFLINE_INTEREST_FIELDS.find((k) => usableValue(contact.custom[k]) !== null);
  const interest = interestKey ? ` With your interest in ${usableValue(contact.custom[interestKey])} in mind.` : '';
  let base: { line: string; rule: string } | null = null;
  if (contact.daysSinceActivity !== null && contact.daysSinceActivity >= 60) base = { line: 'It has been a while, so here is what is new.', rule: 'inactive for 60 days or more' };
  else if (contact.scoreBand === 'hot') base = { line: 'Thanks for your interest lately; here is the next step.', rule: 'hot lead score' };
  else if (contact.status === 'customer') base = { line: company ? `Thank you for being a customer at ${company}.` : 'Thank you for being a customer.', rule: 'customer' };
  else if (role && company) base = { line: `Picked for your role as ${role} at ${company}.`, rule: 'role and company' };
  else if (role) base = { line: `Picked for your role as ${role}.`, rule: 'role' };
  else if (company) base = { line: `Picked for the team at ${company}.`, rule: 'company' };
  else if (contact.scoreBand === 'warm') base = { line: 'Good to have you with us; here is what is next.', rule: 'warm lead score' };
  if (!base && !interest) return null;
  if (!base) return { line: interest.trim(), rule: `custom field ${interestKey}` };
  return interest ? { line: base.line + interest, rule: `${base.rule}, custom field ${interestKey}` } : base;
}

const USES_NAME = /\{\{[^}]*\b(first_?name|firstName)\b[^}]*\}\}/i;
const GREETING = /^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b/i;

/** Visible text at the start of the body, tags removed. */
function leadingText(html: string): string {
  return html
    .replace(/<(style|head|title|mj-head|mj-style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** Inserts paragraphs where the reader starts: the first mj-text of MJML, after <body>, or at the start. */
function insertOpening(html: string, paragraphs: string[]): string {
  const block = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('');
  const mjText = /<mj-text\b[^>]*>/i.exec(html);
  if (/^\s*<mjml[\s>]/i.test(html)) return mjText ? html.slice(0, mjText.index + mjText[0].length) + block + html.slice(mjText.index + mjText[0].length) : html;
  const body = /<body\b[^>]*>/i.exec(html);
  if (body) return html.slice(0, body.index + body[0].length) + block + html.slice(body.index + body[0].length);
  return block + html;
}

/** What the rules read from the original email: the same for every contact. */
export interface OfflineOriginal {
  draft: EmailDraft;
  /** The subject with its first letter lowered when its first word is an ordinary capitalized word. */
  lowered: string;
  subjectUsesName: boolean;
  /** The body neither opens with a greeting nor uses the first-name tag. */
  greetable: boolean;
}

export function readOriginal(draft: EmailDraft): OfflineOriginal {
  const subject = draft.subject;
  const lowered = /^[A-Z][a-z]+\b/.test(subject) && !/^I\b/.test(subject) ? subject[0]!.toLowerCase() + subject.slice(1) : subject;
  return { draft, lowered, subjectUsesName: USES_NAME.test(subject), greetable: !GREETING.test(leadingText(draft.html)) && !USES_NAME.test(draft.html.slice(0, 2000)) };
}

/** What the rules decide for one contact: the values they use and where they go. */
export interface OfflineChoice {
  /** The contact's first name, fit to appear in an email, or null. */
  first: string | null;
  subjectName: boolean;
  greeting: boolean;
  context: { line: string; rule: string } | null;
  /** The context line is the preheader too (the email has none). */
  preheader: boolean;
}

export function chooseOffline(original: OfflineOriginal, contact: ContactFacts): OfflineChoice {
  const first = usableValue(contact.firstName);
  const subject = original.draft.subject;
  const subjectName = first !== null && !original.subjectUsesName && !subject.toLowerCase().includes(first.toLowerCase()) && `${first}, ${original.lowered}`.length <= MAX_SUBJECT;
  const context = contextLine(contact);
  return { first, subjectName, greeting: first !== null && original.greetable, context, preheader: context !== null && original.draft.preheader.trim() === '' };
}

/** What a choice changes, in words a marketer reads, in the order the rules apply. */
export function changesOf(choice: OfflineChoice): string[] {
  const changes: string[] = [];
  if (choice.subjectName) changes.push('subject: added the first name');
  if (choice.preheader) changes.push(`preheader: context line (${choice.context!.rule})`);
  if (choice.greeting) changes.push('body: added a greeting');
  if (choice.context) changes.push(`body: added a context line (${choice.context.rule})`);
  return changes;
}

/** The email a choice gives; `first` and `line` stand for its values (offline-compiled.ts passes marks). */
export function applyOffline(original: OfflineOriginal, choice: OfflineChoice, first = choice.first ?? '', line = choice.context?.line ?? ''): Personalized {
  const { draft } = original;
  const changes = changesOf(choice);
  const opening: string[] = [];
  if (choice.greeting) opening.push(`Hi ${first},`);
  if (choice.context) opening.push(line);
  let html = draft.html;
  if (opening.length > 0) {
    const inserted = insertOpening(html, opening);
    if (inserted === html) changes.splice(changes.length - opening.length, opening.length);
    html = inserted;
  }
  return { draft: { subject: choice.subjectName ? `${first}, ${original.lowered}` : draft.subject, preheader: choice.preheader ? line : draft.preheader, html }, changes };
}

export function personalizeOffline(draft: EmailDraft, contact: ContactFacts): Personalized {
  const original = readOriginal(draft);
  return applyOffline(original, chooseOffline(original, contact));
}

/** Subject variants by fixed rewrites of the original; the original's words and tags are kept. */
export function subjectVariantsOffline(subject: string, count: number): string[] {
  const trimmed = subject.trim().replace(/[.!]+$/, '');
  const lower = /^[A-Z][a-z]+\b/.test(trimmed) ? trimmed[0]!.toLowerCase() + trimmed.slice(1) : trimmed;
  const candidates = [`${trimmed}?`, `Quick one: ${lower}`, `${trimmed} (inside)`, `Don't miss: ${lower}`, `${trimmed} — today`, `New: ${lower}`, `For you: ${lower}`, `${trimmed}!`];
  return [...new Set(candidates.filter((c) => c !== subject && c.length <= MAX_SUBJECT))].slice(0, count);
}

const rules = new RulesReplyClassifier();

export function createOfflineProvider(): AiProvider {
  return {
    kind: 'offline',
    model: OFFLINE_MODEL,
    async personalize(draft, contact): Promise<ProviderCall<Personalized>> {
      return { value: personalizeOffline(draft, contact), usage: NO_USAGE };
    },
    async subjectVariants(subject, count): Promise<ProviderCall<string[]>> {
      return { value: subjectVariantsOffline(subject, count), usage: NO_USAGE };
    },
    async classifyReply(text): Promise<ProviderCall<ReplyVerdict>> {
      return { value: await rules.classify(text), usage: NO_USAGE };
    },
    async check() {
      return { ok: true, detail: 'the offline personalizer needs no connection' };
    },
  };
}
