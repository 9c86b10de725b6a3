import { describe, expect, it } from 'vitest';
import { checkContent, contactVariables, renderContent, RenderError } from './render.js';

describe('renderContent', () => {
  it('renders Liquid variables, sanitizes HTML and generates a text part', async () => {
    const out = await renderContent(
      { subject: 'Hi {{ contact.first_name }}', html: '<p onclick="x()">Hello <b>{{ contact.first_name }}</b> <a href="javascript:alert(1)">bad</a> <a href="https://example.com/x">good</a></p><script>alert(1)</script>' },
      { contact: { first_name: 'Ada' } },
    );
    expect(out.subject).toBe('Hi Ada');
    expect(out.html).toContain('<b>Ada</b>');
    expect(out.html).not.toContain('onclick');
    expect(out.html).not.toContain('javascript:');
    expect(out.html).not.toContain('<script');
    expect(out.text).toContain('Hello ADA'.replace('ADA', 'Ada'));
    expect(out.text).toContain('https://example.com/x');
  });

  it('compiles MJML layouts into HTML tables', async () => {
    const out = await renderContent({ subject: 'S', html: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>' }, { contact: { first_name: 'Bo' } });
    expect(out.html).toContain('<table');
    expect(out.html).toContain('Hi Bo');
  });

  it('refuses to render a missing variable instead of leaving a blank', async () => {
    await expect(renderContent({ subject: 'Hi {{ contact.nickname }}', html: '<p>x</p>' }, { contact: {} })).rejects.toBeInstanceOf(RenderError);
  });
});

describe('checkContent', () => {
  it('reports syntax errors and unknown variable roots with their field and line', async () => {
    const issues = await checkContent({ subject: 'Hello {{ contact.first_name', html: '<p>line one</p>\n<p>{{ secret.token }}</p>' });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'subject' }),
        expect.objectContaining({ field: 'html', line: 2, message: expect.stringContaining('"secret"') }),
      ]),
    );
  });

  it('accepts valid content', async () => {
    expect(await checkContent({ subject: 'Hi {{ contact.first_name | default: "there" }}', html: '<p>{{ workspace.name }}</p>' })).toEqual([]);
  });
});

describe('contactVariables', () => {
  it('lets templates use snake_case, camelCase and custom field names alike', async () => {
    const contact = contactVariables({ id: 'c1', email: 'a@example.com', first_name: 'Ada', last_name: 'L', company: null, job_title: 'CTO', phone: null, status: 'lead', score: 10, tags: [], timezone: null, custom_fields: { plan: 'pro' } });
    const out = await renderContent({ subject: '{{ contact.firstName }} {{ contact.first_name }} {{ contact.jobTitle }} {{ contact.plan }} {{ contact.custom.plan }}', html: '<p>x</p>' }, { contact });
    expect(out.subject).toBe('Ada Ada CTO pro pro');
  });
});
