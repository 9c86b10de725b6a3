/**
 * Renders email content for one recipient: Liquid variables, then (for MJML sources) the MJML
 * layout, sanitized HTML and a generated text part. Parsing and MJML compilation happen once per
 * distinct source and are cached; rendering a contact only runs Liquid on the cached parse.
 *
 * Values are text: every `{{ … }}` in the HTML is HTML-escaped, so contact data can never add
 * markup. Sanitizing and the text part are worked out once per template where that is provably
 * equivalent (see `compileSanitized`): the template is sanitized with its Liquid tags held in
 * place by stand-in marks, and a message then only runs Liquid. Templates where a value could
 * decide a link's scheme, or a Liquid tag sits inside an HTML tag, are sanitized per message.
 *
 * Unknown variables are errors, not blanks: `checkContent` reports them at save time with the
 * line, and `renderContent` refuses to render a message that would contain a blank.
 */
import { Liquid, TokenKind, Tokenizer, type Template, type TagToken } from 'liquidjs';
import mjml2html from 'mjml';
import sanitizeHtml from 'sanitize-html';
import { compile as compileHtmlToText } from 'html-to-text';
import type { ContactRow } from '../core/contact.js';

export interface MessageContent {
  subject: string;
  /** Either HTML or an MJML document (starting with `<mjml>`). */
  html: string;
  /** Optional hand-written text part; generated from the HTML when absent. */
  text?: string | undefined;
}

export interface RenderedContent {
  subject: string;
  html: string;
  text: string;
}

export interface ContentIssue {
  field: 'subject' | 'html' | 'text';
  line: number | null;
  message: string;
}

/** The variable roots a template may use; anything else is refused at save time. */
export const TEMPLATE_ROOTS = ['contact', 'workspace', 'event', 'campaign', 'message'] as const;

const liquid = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, cache: false });
/** For HTML: every output is HTML-escaped (values are text, never markup). */
const htmlLiquid = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, cache: false, outputEscape: 'escape' });

interface Compiled {
  subject: Template[];
  /** The HTML source (MJML already compiled); sanitized per message unless `sanitized` is set. */
  html: Template[];
  text: Template[] | null;
  /** The template sanitized once; rendering it needs no per-message sanitizing. */
  sanitized: { html: Template[]; text: Template[] | null } | null;
}

const MAX_CACHE = 500;
const cache = new Map<string, Compiled>();

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'html', 'head', 'body', 'style', 'title', 'meta', 'center', 'font', 'span', 'table', 'tbody', 'thead', 'tr', 'td', 'th', 'col', 'colgroup'],
  allowedAttributes: {
    '*': ['style', 'class', 'id', 'align', 'valign', 'width', 'height', 'bgcolor', 'border', 'cellpadding', 'cellspacing', 'role', 'dir', 'lang', 'title'],
    a: ['href', 'name', 'target', 'rel', 'style', 'class', 'title'],
    img: ['src', 'alt', 'width', 'height', 'style', 'class', 'border'],
    meta: ['name', 'content', 'http-equiv', 'charset'],
    td: ['style', 'class', 'align', 'valign', 'width', 'height', 'bgcolor', 'colspan', 'rowspan'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https', 'cid', 'data'] },
  // <style> is kept for email layouts; sanitize-html refuses it unless told this is intended.
  allowVulnerableTags: true,
  disallowedTagsMode: 'discard',
};

// Compiled once: building html-to-text's selector matcher per call dominated render time.
const htmlToText = compileHtmlToText({ wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] });

function isMjml(source: string): boolean {
  return /^\s*<mjml[\s>]/i.test(source);
}

function lineOf(error: unknown): number | null {
  const token = (error as { token?: { getPosition?: () => [number, number] } }).token;
  const position = token?.getPosition?.();
  return position ? position[0] : null;
}

function reason(error: unknown): string {
  return ((error as Error).message ?? String(error)).replace(/, line:\d+, col:\d+/, '').replace(/, file:.*$/, '');
}

async function compile(content: MessageContent): Promise<Compiled> {
  const key = JSON.stringify([content.subject, content.html, content.text ?? null]);
  const cached = cache.get(key);
  if (cached) return cached;
  let htmlSource = content.html;
  if (isMjml(htmlSource)) {
    // MJML passes Liquid tags through as text, so the layout is compiled once for every contact.
    const result = await mjml2html(htmlSource, { validationLevel: 'soft' });
    htmlSource = result.html;
  }
  const compiled: Compiled = {
    subject: liquid.parse(content.subject),
    html: htmlLiquid.parse(htmlSource),
    text: content.text ? liquid.parse(content.text) : null,
    sanitized: compileSanitized(htmlSource, !content.text),
  };
  if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
}

/**
 * Liquid tags whose output is only their body or escaped outputs: a template using just these can
 * be sanitized once. (`raw`, `echo`, `liquid`, `cycle`, `capture`, `tablerow`, includes … fall
 * back to sanitizing every message.)
 */
const STRUCTURAL_TAGS = new Set(['if', 'elsif', 'else', 'endif', 'unless', 'endunless', 'case', 'when', 'endcase', 'for', 'endfor', 'break', 'continue', 'assign', 'comment', 'endcomment', '#']);
/** Attributes whose value is a URL; sanitize-html checks their scheme. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'cite', 'action', 'background', 'srcset', 'poster', 'formaction', 'xlink:href']);
/** A URL prefix that already fixes the scheme: `scheme:`, or relative (`/`, `?`, `#`). */
const FIXED_SCHEME = /^\s*(?:[a-z][a-z0-9+.-]*:|[/?#])/i;
// Private-use characters: they survive sanitize-html and html-to-text and never occur in MJML output.
const LIQUID_MARK = /\uE000([ot])(\d+)\uE001/gi;

interface Held {
  kind: 'o' | 't';
  /** The Liquid source of the output or tag, as written. */
  source: string;
  /** For an output, the expression inside the braces. */
  expression: string;
}

/**
 * Sanitizes an HTML template once, with its Liquid outputs and tags replaced by stand-in marks,
 * then puts the Liquid back. Returns null when per-message sanitizing is needed, that is when
 * rendering could produce something the sanitizer would have changed:
 * - a tag other than STRUCTURAL_TAGS, or the `raw` filter (unescaped output);
 * - a Liquid tag inside an HTML tag (it could cut an attribute open);
 * - an output inside an HTML tag other than in a quoted attribute value, or at the start of a URL
 *   attribute (the value would choose the scheme: `javascript:`);
 * - a stand-in mark the sanitizer dropped or duplicated (the Liquid structure would change).
 * Outputs elsewhere are escaped at render time, so they cannot open a tag or leave an attribute.
 * The text part is generated from the same marked HTML when every tag survives html-to-text;
 * an output html-to-text uppercased (headings) is rendered with `upcase`.
 */
function compileSanitized(htmlSource: string, wantText: boolean): Compiled['sanitized'] {
  const held: Held[] = [];
  let placeheld = '';
  for (const token of new Tokenizer(htmlSource, liquid.options.operators).readTopLevelTokens(liquid.options)) {
    const source = htmlSource.slice(token.begin, token.end);
    if (token.kind === TokenKind.HTML) {
      if (/[\uE000\uE001]/.test(source)) return null;
      placeheld += source;
      continue;
    }
    let kind: Held['kind'];
    let expression = '';
    if (token.kind === TokenKind.Output) {
      expression = (token as unknown as { content: string }).content;
      if (/\braw\b/.test(expression)) return null;
      kind = 'o';
    } else if (token.kind === TokenKind.Tag && STRUCTURAL_TAGS.has((token as TagToken).name)) {
      kind = 't';
    } else {
      return null;
    }
    placeheld += `\uE000${kind}${held.length}\uE001`;
    held.push({ kind, source, expression });
  }
  const clean = sanitizeHtml(placeheld, SANITIZE);
  if (!marksSafe(clean, held.length)) return null;
  const restore = (value: string, upcase: boolean) =>
    value.replace(LIQUID_MARK, (_m, kind: string, index: string) => {
      const h = held[Number(index)]!;
      return upcase && kind === 'O' ? `{{ ${h.expression} | upcase }}` : h.source;
    });
  let html: Template[];
  try {
    html = htmlLiquid.parse(restore(clean, false));
  } catch {
    return null;
  }
  let text: Template[] | null = null;
  if (wantText) {
    const generated = htmlToText(clean);
    const tagsKept = [...generated.matchAll(LIQUID_MARK)].filter((m) => m[1]!.toLowerCase() === 't').map((m) => m[2]);
    const allTags = held.flatMap((h, i) => (h.kind === 't' ? [String(i)] : []));
    if (tagsKept.length === allTags.length && new Set(tagsKept).size === allTags.length) {
      try {
        text = liquid.parse(restore(joinTagLines(generated), true));
      } catch {
        text = null;
      }
    }
  }
  return { html, text };
}

/** A line holding only Liquid tags renders as nothing: its tags move to the next (or last) line. */
function joinTagLines(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let carried = '';
  for (const line of lines) {
    if (/^[ \t]*(?:\uE000[tT]\d+\uE001[ \t]*)+$/.test(line)) carried += line.replace(/[ \t]/g, '');
    else {
      out.push(carried + line);
      carried = '';
    }
  }
  if (carried && out.length > 0) out[out.length - 1] += `\n${carried}`;
  else if (carried) out.push(carried);
  return out.join('\n');
}

/**
 * Walks sanitized HTML (attributes double-quoted, `<` escaped in text and values) and checks
 * where each stand-in mark landed; see compileSanitized for the rules.
 */
function marksSafe(html: string, count: number): boolean {
  const seen = new Array<number>(count).fill(0);
  let i = 0;
  let rawTextEnd: string | null = null;
  while (i < html.length) {
    if (rawTextEnd) {
      // Inside <style>: text up to its end tag.
      const end = html.toLowerCase().indexOf(rawTextEnd, i);
      const stop = end < 0 ? html.length : end;
      for (const m of html.slice(i, stop).matchAll(LIQUID_MARK)) seen[Number(m[2])]! += 1;
      i = stop;
      rawTextEnd = null;
      continue;
    }
    const lt = html.indexOf('<', i);
    const textEnd = lt < 0 ? html.length : lt;
    for (const m of html.slice(i, textEnd).matchAll(LIQUID_MARK)) seen[Number(m[2])]! += 1;
    if (lt < 0) break;
    const gt = findTagEnd(html, lt);
    if (gt < 0) return false;
    const tag = html.slice(lt, gt + 1);
    const name = /^<\/?([a-z0-9-]+)/i.exec(tag)?.[1]?.toLowerCase() ?? '';
    if (!attributesSafe(tag, seen)) return false;
    if (!tag.startsWith('</') && (name === 'style' || name === 'script' || name === 'textarea' || name === 'title')) rawTextEnd = `</${name}`;
    i = gt + 1;
  }
  return seen.every((n) => n === 1);
}

/** The index of the `>` that closes the tag opened at `lt`, skipping quoted attribute values. */
function findTagEnd(html: string, lt: number): number {
  let quote: string | null = null;
  for (let j = lt + 1; j < html.length; j++) {
    const c = html[j]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j;
    }
  }
  return -1;
}

function attributesSafe(tag: string, seen: number[]): boolean {
  const ATTRIBUTE = /([^\s"'=<>/]+)(?:\s*=\s*"([^"]*)")?/g;
  const inner = tag.replace(/^<\/?[a-z0-9-]+/i, '').replace(/\/?>$/, '');
  let rest = inner;
  for (const m of inner.matchAll(ATTRIBUTE)) {
    rest = rest.replace(m[0], '');
    const [, name, value] = m;
    if (LIQUID_MARK.test(name!)) return false;
    LIQUID_MARK.lastIndex = 0;
    if (value === undefined) continue;
    const found = [...value.matchAll(LIQUID_MARK)];
    if (found.length === 0) continue;
    if (found.some((f) => f[1] === 't')) return false;
    if (URL_ATTRIBUTES.has(name!.toLowerCase()) && !FIXED_SCHEME.test(value.slice(0, found[0]!.index))) return false;
    for (const f of found) seen[Number(f[2])]! += 1;
  }
  // Anything not matched as a name or a "quoted" value (an unquoted value) is refused.
  return rest.trim() === '' || !/[\uE000\uE001]/.test(rest);
}

/** Blank lines and trailing spaces that Liquid tags between blocks leave behind, removed. */
function tidyText(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}

/** The email HTML policy: allowed tags, attributes and URL schemes. */
export function sanitizeEmailHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}

/** Whether this content is sanitized once per template rather than per message. */
export async function sanitizedOnce(content: MessageContent): Promise<boolean> {
  return (await compile(content)).sanitized !== null;
}

/** Checks syntax, MJML and variable names; an empty list means the content can be saved. */
export async function checkContent(content: MessageContent): Promise<ContentIssue[]> {
  const issues: ContentIssue[] = [];
  const fields: Array<[ContentIssue['field'], string | undefined]> = [
    ['subject', content.subject],
    ['html', content.html],
    ['text', content.text],
  ];
  for (const [field, source] of fields) {
    if (source === undefined) continue;
    try {
      const parsed = liquid.parse(source);
      for (const variable of liquid.globalVariablesSync(parsed)) {
        const root = variable.split(/[.[]/)[0] ?? variable;
        if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
          const at = source.split('\n').findIndex((line) => line.includes(root));
          issues.push({ field, line: at >= 0 ? at + 1 : null, message: `unknown variable "${variable}"; use ${TEMPLATE_ROOTS.join(', ')}` });
        }
      }
    } catch (error) {
      issues.push({ field, line: lineOf(error), message: reason(error) });
    }
  }
  if (issues.length === 0 && isMjml(content.html)) {
    const result = await mjml2html(content.html, { validationLevel: 'soft' });
    for (const e of result.errors ?? []) issues.push({ field: 'html', line: e.line ?? null, message: e.message });
  }
  if (content.subject.trim() === '') issues.push({ field: 'subject', line: null, message: 'must not be empty' });
  return issues;
}

export class RenderError extends Error {
  constructor(
    readonly field: ContentIssue['field'],
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RenderError';
  }
}

/** Renders for one recipient. Throws RenderError when a variable is missing from `variables`. */
export async function renderContent(content: MessageContent, variables: Record<string, unknown>): Promise<RenderedContent> {
  const compiled = await compile(content);
  const run = (field: ContentIssue['field'], templates: Template[], engine: Liquid = liquid): string => {
    try {
      // Synchronous: no tag or filter here does I/O, and it spares a promise per Liquid node.
      return engine.renderSync(templates, variables) as string;
    } catch (error) {
      throw new RenderError(field, reason(error));
    }
  };
  const subject = (run('subject', compiled.subject)).replace(/\s+/g, ' ').trim();
  if (compiled.sanitized) {
    const html = run('html', compiled.sanitized.html, htmlLiquid);
    const text = compiled.text ? run('text', compiled.text) : compiled.sanitized.text ? tidyText(run('html', compiled.sanitized.text)) : htmlToText(html);
    return { subject, html, text };
  }
  const html = sanitizeHtml(run('html', compiled.html, htmlLiquid), SANITIZE);
  const text = compiled.text ? run('text', compiled.text) : htmlToText(html);
  return { subject, html, text };
}

/** The contact columns templates can read (a sample contact has no id). */
export type TemplateContact = Pick<ContactRow, 'email' | 'first_name' | 'last_name' | 'company' | 'job_title' | 'phone' | 'status' | 'score' | 'tags' | 'timezone' | 'custom_fields'> & { id: string | null };

/**
 * The `contact` root of template variables. Fields answer to both the database's snake_case and
 * the API's camelCase (`first_name` and `firstName`), and custom fields are reachable directly
 * (`contact.plan`) and under `custom` — so whichever spelling a marketer knows renders.
 */
export function contactVariables(c: TemplateContact): Record<string, unknown> {
  const custom = c.custom_fields ?? {};
  return {
    ...custom,
    id: c.id,
    email: c.email,
    first_name: c.first_name,
    firstName: c.first_name,
    last_name: c.last_name,
    lastName: c.last_name,
    company: c.company,
    job_title: c.job_title,
    jobTitle: c.job_title,
    phone: c.phone,
    status: c.status,
    score: c.score,
    tags: c.tags,
    timezone: c.timezone,
    custom,
    custom_fields: custom,
    customFields: custom,
  };
}

/** The text part generated from HTML, as for rendered messages (AI-personalized content uses it). */
export function textFromHtml(html: string): string {
  return htmlToText(html);
}
