/**
 * Checks generated content before anything uses it: it may not add links, domains or Liquid tags
 * the original lacks, must stay within length bounds, must parse as a template, and its HTML must
 * pass the email sanitizer unchanged in structure. A failed check refuses the output (the email
 * falls back to the original) with the reason.
 */
import { checkContent, sanitizeEmailHtml } from '../email/render.js';
import type { EmailDraft } from './provider.js';

export const MAX_SUBJECT_LENGTH = 200;
export const MAX_PREHEADER_LENGTH = 300;

const LIQUID = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
const URL_ATTR = /\b(?:href|src|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
const BARE_URL = /\b(?:https?:\/\/|mailto:|tel:)[^\s"'<>)]+/gi;
/** Domain-like tokens in text: name.tld (not inside stand-ins like [[PII_1]]). */
const DOMAIN = /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|co|ai|app|dev|info|biz|me|us|uk|de|fr|ru|cn|xyz|online|site|link|ly|gl|to|tk|[a-z]{2})\b/gi;

function normalizeLiquid(tag: string): string {
  return tag.replace(/\s+/g, '');
}

function setOf(values: Iterable<string>): Set<string> {
  return new Set([...values].map((v) => v.toLowerCase()));
}

function links(html: string): Set<string> {
  const found: string[] = [];
  for (const m of html.matchAll(URL_ATTR)) found.push((m[1] ?? m[2] ?? m[3] ?? '').trim());
  for (const m of html.matchAll(BARE_URL)) found.push(m[0]);
  return setOf(found.filter((u) => u !== ''));
}

function domains(text: string): Set<string> {
  return setOf([...text.replace(LIQUID, ' ').matchAll(DOMAIN)].map((m) => m[0]));
}

function elementCount(html: string): number {
  return (html.match(/<[a-z][a-z0-9-]*\b/gi) ?? []).length;
}

export type CheckResult = { ok: true; draft: EmailDraft } | { ok: false; reason: string };

/** Checks `output` against `original`; on success returns the output with its HTML sanitized. */
export async function checkGenerated(original: EmailDraft, output: EmailDraft): Promise<CheckResult> {
  const all = (d: EmailDraft) => `${d.subject}\n${d.preheader}\n${d.html}`;
  const originalLiquid = new Set((all(original).match(LIQUID) ?? []).map(normalizeLiquid));
  const addedLiquid = (all(output).match(LIQUID) ?? []).map(normalizeLiquid).filter((t) => !originalLiquid.has(t));
  if (addedLiquid.length > 0) return { ok: false, reason: `adds Liquid tags the original lacks: ${addedLiquid.slice(0, 3).join(' ')}` };
  const originalLinks = links(all(original));
  const addedLinks = [...links(all(output))].filter((l) => !originalLinks.has(l));
  if (addedLinks.length > 0) return { ok: false, reason: `adds links the original lacks: ${addedLinks.slice(0, 3).join(' ')}` };
  const originalDomains = domains(all(original));
  const addedDomains = [...domains(all(output))].filter((d) => !originalDomains.has(d));
  if (addedDomains.length > 0) return { ok: false, reason: `adds domains the original lacks: ${addedDomains.slice(0, 3).join(' ')}` };
  const subject = output.subject.replace(/\s+/g, ' ').trim();
  if (subject === '' || subject.length > MAX_SUBJECT_LENGTH) return { ok: false, reason: `subject length ${subject.length} is outside 1–${MAX_SUBJECT_LENGTH}` };
  if (output.preheader.length > MAX_PREHEADER_LENGTH) return { ok: false, reason: `preheader longer than ${MAX_PREHEADER_LENGTH}` };
  const maxHtml = original.html.length * 2 + 2000;
  if (output.html.trim() === '' || output.html.length > maxHtml) return { ok: false, reason: `html length ${output.html.length} is outside 1–${maxHtml}` };
  const isMjml = /^\s*<mjml[\s>]/i.test(output.html);
  if (isMjml !== /^\s*<mjml[\s>]/i.test(original.html)) return { ok: false, reason: 'changes the document type (HTML/MJML)' };
  let html = output.html;
  if (!isMjml) {
    // MJML is compiled and sanitized at render time; HTML is sanitized here, and the sanitizer
    // dropping an element means the output used markup the email policy does not allow.
    const sanitized = sanitizeEmailHtml(html);
    if (elementCount(sanitized) !== elementCount(html) || /javascript:/i.test(html)) return { ok: false, reason: 'uses HTML the email policy does not allow' };
    if (originalLiquid.size === 0) html = sanitized;
  }
  const issues = await checkContent({ subject, html });
  if (issues.length > 0) return { ok: false, reason: `the template no longer renders: ${issues[0]!.field}: ${issues[0]!.message}` };
  return { ok: true, draft: { subject, preheader: output.preheader.replace(/\s+/g, ' ').trim(), html } };
}
