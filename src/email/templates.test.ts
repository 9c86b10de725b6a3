import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContact, createEmailTestApp, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';

let t: EmailTestApp;
let caller: Caller;

beforeAll(async () => {
  t = await createEmailTestApp();
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

const mjml = '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.first_name }} from {{ workspace.name }}</mj-text><mj-button href="https://example.com/go">Go</mj-button></mj-column></mj-section></mj-body></mjml>';

describe('templates', () => {
  it('creates, reads, updates, lists and deletes a template, auditing each change', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'Welcome', subject: 'Welcome {{ contact.first_name }}', html: mjml } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ name: 'Welcome', text: null });
    const updated = await t.app.inject({ method: 'PUT', url: `/api/templates/${id}`, headers: caller.bearer, payload: { name: 'Welcome v2', subject: 'Hello {{ contact.first_name }}', html: mjml, text: 'Hi {{ contact.first_name }}' } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ name: 'Welcome v2', text: 'Hi {{ contact.first_name }}' });
    const list = await t.app.inject({ method: 'GET', url: '/api/templates', headers: caller.bearer });
    expect(list.json().templates.map((x: { id: string }) => x.id)).toContain(id);
    const duplicate = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'welcome V2', subject: 'x', html: '<p>x</p>' } });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().error.code).toBe('TEMPLATE_NAME_TAKEN');
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/templates/${id}`, headers: caller.bearer });
    expect(removed.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/templates/${id}`, headers: caller.bearer })).statusCode).toBe(404);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_type = 'template' ORDER BY id`, [caller.workspaceId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['template.create', 'template.update', 'template.delete']);
  });

  it('refuses content with issues with TEMPLATE_INVALID, naming the line and reason, and stores nothing', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/templates',
      headers: caller.bearer,
      payload: { name: 'Broken', subject: 'Hi', html: '<p>line one</p>\n<p>{{ customer.name }}</p>\n<p>{% if %}</p>' },
    });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('TEMPLATE_INVALID');
    expect(error.details[0]).toMatchObject({ field: 'html' });
    expect(typeof error.details[0].line).toBe('number');
    expect(error.message).toContain('html line');
    const unknownVariable = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'Broken 2', subject: 'Hi', html: '<p>ok</p>\n<p>{{ customer.name }}</p>' } });
    expect(unknownVariable.json().error.details).toEqual([{ field: 'html', line: 2, message: expect.stringContaining('unknown variable "customer') }]);
    const stored = await t.db.query(`SELECT 1 FROM templates WHERE workspace_id = $1 AND name LIKE 'Broken%'`, [caller.workspaceId]);
    expect(stored.rowCount).toBe(0);
    const strict = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'X', subject: 'Hi', html: '<p>x</p>', extra: 1 } });
    expect(strict.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('previews for a chosen contact, and reports a variable the contact lacks with TEMPLATE_RENDER_FAILED', async () => {
    const contactId = await createContact(t.db, caller.workspaceId, 'lin@example.com');
    const created = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'Preview', subject: 'Hi {{ contact.first_name }}', html: mjml } });
    const id = created.json().id as string;
    const preview = await t.app.inject({ method: 'POST', url: `/api/templates/${id}/preview`, headers: caller.bearer, payload: { contactId } });
    expect(preview.statusCode).toBe(200);
    expect(preview.json().subject).toBe('Hi Ada');
    expect(preview.json().html).toContain('<table');
    expect(preview.json().text).toContain('Hi Ada from Org');
    const missing = await t.app.inject({ method: 'POST', url: `/api/templates/${id}/preview`, headers: caller.bearer, payload: { contactId: '00000000-0000-4000-8000-000000000000' } });
    expect(missing.statusCode).toBe(404);
    const nested = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'Nested', subject: 'Hi', html: '<p>{{ contact.custom_fields.plan.name }}</p>' } });
    const failed = await t.app.inject({ method: 'POST', url: `/api/templates/${nested.json().id}/preview`, headers: caller.bearer, payload: { contactId } });
    expect(failed.statusCode).toBe(422);
    expect(failed.json().error.code).toBe('TEMPLATE_RENDER_FAILED');
  });

  it('test-sends through the outbox to the dev inbox', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/templates', headers: caller.bearer, payload: { name: 'Test send', subject: 'Hi {{ contact.first_name }}', html: mjml } });
    const response = await t.app.inject({ method: 'POST', url: `/api/templates/${created.json().id}/test-send`, headers: caller.bearer, payload: { to: 'qa@example.com' } });
    expect(response.statusCode).toBe(202);
    const { messageId } = response.json();
    await t.runtime.deps.email.sender.runOnce();
    expect((await messageRow(t.db, messageId)).status).toBe('sent');
    const inbox = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: caller.bearer });
    expect(inbox.json().messages[0]).toMatchObject({ to: 'qa@example.com', subject: '[Test] Hi Test' });
  });
});
