/**
 * The offline personalizer: the default when a workspace configured no provider. Deterministic,
 * no network, no model: the same email and contact always give the same result. It adds a
 * greeting, the first name in the subject and one context line chosen from the contact's own data
 * (docs/ai.md lists the rules in order), and never touches the original's links, Liquid tags or
 * wording. Contact values that look like markup, Liquid, addresses or domains are not used.
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

export function personalizeOffline(draft: EmailDraft, contact: ContactFacts): Personalized {
  const changes: string[] = [];
  const first = usableValue(contact.firstName);
  let subject = draft.subject;
  if (first && !USES_NAME.test(subject) && !subject.toLowerCase().includes(first.toLowerCase())) {
    const lowered = /^[A-Z][a-z]+\b/.test(subject) && !/^I\b/.test(subject) ? subject[0]!.toLowerCase() + subject.slice(1) : subject;
    const candidate = `${first}, ${lowered}`;
    if (candidate.length <= MAX_SUBJECT) {
      subject = candidate;
      changes.push('subject: added the first name');
    }
  }
  const context = contextLine(contact);
  let preheader = draft.preheader;
  if (preheader.trim() === '' && context) {
    preheader = context.line;
    changes.push(`preheader: context line (${context.rule})`);
  }
  const opening: string[] = [];
  const text = leadingText(draft.html);
  if (first && !GREETING.test(text) && !USES_NAME.test(draft.html.slice(0, 2000))) {
    opening.push(`Hi ${first},`);
    changes.push('body: added a greeting');
  }
  if (context) {
    opening.push(context.line);
    changes.push(`body: added a context line (${context.rule})`);
  }
  let html = draft.html;
  if (opening.length > 0) {
    const inserted = insertOpening(html, opening);
    if (inserted === html) changes.splice(changes.length - opening.length, opening.length);
    html = inserted;
  }
  return { draft: { subject, preheader, html }, changes };
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
