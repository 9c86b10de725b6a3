/**
 * PII redaction before a prompt leaves the process: email addresses, phone numbers, postal
 * addresses and the values of custom fields a policy marks personal are replaced by stand-ins
 * ([[PII_1]] …) in the email and the contact data alike, and restored in the answer. An answer
 * with a stand-in we did not hand out is refused by the caller.
 */
import type { ContactFacts, EmailDraft } from './provider.js';

const EMAIL = /[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}/gi;
// International or local numbers: 7+ digits with spaces, dots, dashes or parentheses between them.
const PHONE = /(?<![\w(])(?:\(\+?\d|\+?\d)[\d\s().-]{5,}\d(?![\w])/g;
// A house number, a street name and a street word (one line of a postal address).
const POSTAL = /\b\d{1,5}\s+(?:[A-Z][a-z]+\.?\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Square|Sq|Strasse|Straße)\b\.?/g;
const STAND_IN = /\[\[PII_(\d+)\]\]/g;

export class Redactor {
  private readonly byValue = new Map<string, string>();
  private readonly values: string[] = [];

  constructor(
    private readonly personalValues: string[] = [],
    /** Off: text passes unchanged (the policy does not redact, or nothing leaves the process). */
    private readonly enabled = true,
  ) {}

  private standIn(value: string): string {
    let p = this.byValue.get(value);
    if (!p) {
      this.values.push(value);
      p = `[[PII_${this.values.length}]]`;
      this.byValue.set(value, p);
    }
    return p;
  }

  /** Replaces personal data in free text. Liquid tags are left alone: they hold no data. */
  redact(text: string): string {
    if (!this.enabled) return text;
    let out = text;
    // Marked values first (longest first), so a field holding an email is one stand-in.
    for (const v of [...this.personalValues].filter((x) => x.trim().length >= 2).sort((a, b) => b.length - a.length)) {
      out = out.split(v).join(this.standIn(v));
    }
    return out
      .replace(EMAIL, (m) => this.standIn(m))
      .replace(POSTAL, (m) => this.standIn(m))
      .replace(PHONE, (m) => (m.replace(/\D/g, '').length >= 7 ? this.standIn(m) : m));
  }

  redactDraft(draft: EmailDraft): EmailDraft {
    return { subject: this.redact(draft.subject), preheader: this.redact(draft.preheader), html: this.redact(draft.html) };
  }

  redactFacts(facts: ContactFacts): ContactFacts {
    const r = (v: string | null) => (v === null ? null : this.redact(v));
    return {
      ...facts,
      firstName: r(facts.firstName),
      lastName: r(facts.lastName),
      email: r(facts.email),
      phone: r(facts.phone),
      company: r(facts.company),
      jobTitle: r(facts.jobTitle),
      custom: Object.fromEntries(Object.entries(facts.custom).map(([k, v]) => [k, typeof v === 'string' ? this.redact(v) : v])),
    };
  }

  /** Stand-ins in `text` that were never handed out. */
  unknownStandIns(text: string): string[] {
    return [...text.matchAll(STAND_IN)].filter((m) => Number(m[1]) < 1 || Number(m[1]) > this.values.length).map((m) => m[0]);
  }

  /** Puts the values back; `escape` HTML-escapes them (for HTML fields). */
  restore(text: string, escape = false): string {
    return text.replace(STAND_IN, (m, n: string) => {
      const value = this.values[Number(n) - 1];
      if (value === undefined) return m;
      return escape ? value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;') : value;
    });
  }

  restoreDraft(draft: EmailDraft): EmailDraft {
    return { subject: this.restore(draft.subject), preheader: this.restore(draft.preheader), html: this.restore(draft.html, true) };
  }

  get count(): number {
    return this.values.length;
  }
}
