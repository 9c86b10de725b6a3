/**
 * Renders email content for one recipient: Liquid variables, then (for MJML sources) the MJML
 * layout, sanitized HTML and a generated text part. Parsing and MJML compilation happen once per
 * distinct source and are cached; rendering a contact only runs Liquid on the cached parse.
 *
 * Unknown variables are errors, not blanks: `checkContent` reports them at save time with the
 * line, and `renderContent` refuses to render a message that would contain a blank.
 */
import { Liquid, type Template } from 'liquidjs';
import mjml2html from 'mjml';
import sanitizeHtml from 'sanitize-html';
import { compile as compileHtmlToText } from 'html-to-text';
import type { ContactRow } from '../contacts/contacts.js';

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

interface Compiled {
  subject: Template[];
  html: Template[];
  text: Template[] | null;
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
    html: liquid.parse(htmlSource),
    text: content.text ? liquid.parse(content.text) : null,
  };
  if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
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
  const run = async (field: ContentIssue['field'], templates: Template[]): Promise<string> => {
    try {
      return (await liquid.render(templates, variables)) as string;
    } catch (error) {
      throw new RenderError(field, reason(error));
    }
  };
  const subject = (await run('subject', compiled.subject)).replace(/\s+/g, ' ').trim();
  const html = sanitizeHtml(await run('html', compiled.html), SANITIZE);
  const text = compiled.text ? await run('text', compiled.text) : htmlToText(html);
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
