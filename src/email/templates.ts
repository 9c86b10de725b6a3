/**
 * Email templates: stored only when `checkContent` finds no issue (syntax, unknown variables,
 * MJML errors), previewed for a chosen contact, and test-sent through the outbox like any email.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { enqueueEmail } from './outbox.js';
import { checkContent, contactVariables, renderContent, RenderError, type RenderedContent, type TemplateContact } from './render.js';
import type { EmailDeps } from './deps.js';

export interface TemplateInput {
  name: string;
  subject: string;
  html: string;
  text?: string | null | undefined;
}

export interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string | null;
  createdAt: string;
  updatedAt: string;
}

interface TemplateRow {
  id: string;
  name: string;
  subject: string;
  html: string;
  text_body: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, subject, html, text_body, created_at, updated_at';
const toTemplate = (r: TemplateRow): Template => ({ id: r.id, name: r.name, subject: r.subject, html: r.html, text: r.text_body, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() });

/** Refuses content with issues: 400 TEMPLATE_INVALID with each issue's field, line and reason. */
async function assertValid(input: TemplateInput): Promise<void> {
  const issues = await checkContent({ subject: input.subject, html: input.html, text: input.text ?? undefined });
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new AppError('TEMPLATE_INVALID', `The template cannot be saved: ${first.field}${first.line ? ` line ${first.line}` : ''}: ${first.message}`, issues);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export async function listTemplates(q: Queryable, workspaceId: string): Promise<Template[]> {
  const result = await q.query<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE workspace_id = $1 ORDER BY updated_at DESC, id`, [workspaceId]);
  return result.rows.map(toTemplate);
}

export async function getTemplate(q: Queryable, workspaceId: string, id: string): Promise<Template | null> {
  const result = await q.query<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  return result.rows[0] ? toTemplate(result.rows[0]) : null;
}

export async function createTemplate({ db, clock }: EmailDeps, workspaceId: string, actor: Actor, input: TemplateInput): Promise<Template> {
  const now = clock.now();
  await assertValid(input);
  try {
    return await db.transaction(async (tx) => {
      const result = await tx.query<TemplateRow>(
        `INSERT INTO templates (workspace_id, name, subject, html, text_body, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING ${COLUMNS}`,
        [workspaceId, input.name.trim(), input.subject, input.html, input.text ?? null, now],
      );
      const template = toTemplate(result.rows[0]!);
      await recordAudit(tx, { workspaceId, actor, action: 'template.create', resourceType: 'template', resourceId: template.id, after: template });
      return template;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('TEMPLATE_NAME_TAKEN', `A template named "${input.name.trim()}" already exists`);
    throw error;
  }
}

export async function updateTemplate({ db, clock }: EmailDeps, workspaceId: string, actor: Actor, id: string, input: TemplateInput): Promise<Template> {
  const now = clock.now();
  await assertValid(input);
  try {
    return await db.transaction(async (tx) => {
      const before = await tx.query<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
      if (!before.rows[0]) throw notFound('Template');
      const result = await tx.query<TemplateRow>(
        `UPDATE templates SET name = $3, subject = $4, html = $5, text_body = $6, updated_at = $7
          WHERE workspace_id = $1 AND id = $2
         RETURNING ${COLUMNS}`,
        [workspaceId, id, input.name.trim(), input.subject, input.html, input.text ?? null, now],
      );
      const template = toTemplate(result.rows[0]!);
      await recordAudit(tx, { workspaceId, actor, action: 'template.update', resourceType: 'template', resourceId: id, before: toTemplate(before.rows[0]), after: template });
      return template;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('TEMPLATE_NAME_TAKEN', `A template named "${input.name.trim()}" already exists`);
    throw error;
  }
}

export async function deleteTemplate({ db }: EmailDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const result = await tx.query<TemplateRow>(`DELETE FROM templates WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [workspaceId, id]);
    if (!result.rows[0]) throw notFound('Template');
    await recordAudit(tx, { workspaceId, actor, action: 'template.delete', resourceType: 'template', resourceId: id, before: toTemplate(result.rows[0]) });
  });
}

/** The variables a template sees for a contact (the `contact` and `workspace` roots). */
export async function variablesFor(q: Queryable, workspaceId: string, contactId: string | null): Promise<Record<string, unknown>> {
  const workspace = await q.query<{ id: string; name: string }>('SELECT id, name FROM workspaces WHERE id = $1', [workspaceId]);
  if (contactId === null) {
    const sample: TemplateContact = { id: null, email: 'test@example.com', first_name: 'Test', last_name: 'Recipient', company: 'Example Co', job_title: 'Tester', phone: '', status: 'lead', tags: [], custom_fields: {}, timezone: 'UTC', score: 0 };
    return { contact: contactVariables(sample), workspace: workspace.rows[0] };
  }
  const result = await q.query<TemplateContact>(
    `SELECT id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, score
       FROM contacts WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, contactId],
  );
  if (!result.rows[0]) throw notFound('Contact');
  return { contact: contactVariables(result.rows[0]), workspace: workspace.rows[0] };
}

async function render(template: Template, variables: Record<string, unknown>): Promise<RenderedContent> {
  try {
    return await renderContent({ subject: template.subject, html: template.html, text: template.text ?? undefined }, variables);
  } catch (error) {
    if (error instanceof RenderError) throw new AppError('TEMPLATE_RENDER_FAILED', `The template cannot be rendered for this contact: ${error.message}`, { field: error.field });
    throw error;
  }
}

/** Renders the template for a contact of the workspace, as it would be sent. */
export async function previewTemplate(q: Queryable, workspaceId: string, id: string, contactId: string | null): Promise<RenderedContent> {
  const template = await getTemplate(q, workspaceId, id);
  if (!template) throw notFound('Template');
  return render(template, await variablesFor(q, workspaceId, contactId));
}

/** Queues a test email of the template to `to` through the outbox; returns the message id. */
export async function testSendTemplate(
  { db }: EmailDeps,
  workspaceId: string,
  actor: Actor,
  id: string,
  input: { to: string; contactId?: string | undefined; from: string },
): Promise<{ messageId: string }> {
  const rendered = await previewTemplate(db, workspaceId, id, input.contactId ?? null);
  return db.transaction(async (tx) => {
    const { id: messageId } = await enqueueEmail(tx, {
      workspaceId,
      contactId: input.contactId ?? null,
      idempotencyKey: `template-test:${id}:${randomUUID()}`,
      sourceType: 'test',
      sourceId: id,
      from: input.from,
      to: input.to,
      subject: `[Test] ${rendered.subject}`,
      html: rendered.html,
      text: rendered.text,
    });
    await recordAudit(tx, { workspaceId, actor, action: 'template.test_send', resourceType: 'template', resourceId: id, after: { to: input.to, messageId } });
    return { messageId };
  });
}
