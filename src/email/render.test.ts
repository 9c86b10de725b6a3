import { describe, expect, it } from 'vitest';
import sanitizeHtml from 'sanitize-html';
import { checkContent, contactVariables, renderContent, RenderError, sanitizedOnce, sanitizeEmailHtml } from './render.js';

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

describe('values are text, and the HTML policy holds however a template is rendered', () => {
  const hostile = [
    '<img src=x onerror=alert(1)>',
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    'javascript:alert(1)',
    ' JaVaScRiPt:alert(1)',
    '</style><script>alert(1)</script>',
    '{{ contact.email }}',
    'Tom & Jerry <tom@example.com>',
  ];
  const templates: Record<string, string> = {
    text: '<p>Hello {{ contact.first_name }}</p>',
    attribute: '<p title="{{ contact.first_name }}">x</p>',
    linkTail: '<a href="https://shop.example.com/p?c={{ contact.first_name }}">shop</a>',
    linkWhole: '<a href="{{ contact.first_name }}">site</a>',
    image: '<img src="{{ contact.first_name }}" alt="{{ contact.first_name }}">',
    style: '<style>p { color: {{ contact.first_name }}; }</style><p>x</p>',
    tagInAttribute: '<p title="{% if contact.vip %}">{% endif %}<b title="x onmouseover=alert(1) y">z</b></p>',
    tagAsAttribute: '<a href="https://x.example/" {% if contact.vip %}onclick="alert(1)"{% endif %}>x</a>',
    rawFilter: '<p>{{ contact.first_name | raw }}</p>',
    rawTag: '<p>{% raw %}<script>alert(1)</script>{% endraw %}</p>',
    loop: '{% for t in contact.tags %}<li title="{{ t }}">{{ t }}</li>{% endfor %}',
    capture: '{% capture x %}<b>{{ contact.first_name }}</b>{% endcapture %}<p>{{ x }}</p>',
    mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.first_name }}</mj-text><mj-button href="https://shop.example.com/?n={{ contact.first_name }}">Go</mj-button></mj-column></mj-section></mj-body></mjml>',
  };
  const permissive = (html: string) => sanitizeHtml(html, { allowedTags: false, allowedAttributes: false, allowVulnerableTags: true, allowedSchemesAppliedToAttributes: [] });

  for (const [name, html] of Object.entries(templates)) {
    it(`renders "${name}" with hostile values into HTML the policy would not change`, async () => {
      for (const value of hostile) {
        for (const vip of [true, false]) {
          const out = await renderContent({ subject: 'S', html }, { contact: { first_name: value, vip, tags: [value, 'ok'], email: 'a@example.com' } });
          // Sanitizing again removes nothing: no tag, attribute or scheme the policy forbids is left.
          expect(sanitizeEmailHtml(out.html)).toBe(permissive(out.html));
          const tags = [...out.html.matchAll(/<[^>]*>/g)].map((m) => m[0].replace(/"[^"]*"/g, '""'));
          expect(tags.filter((tag) => /^<\/?script|\son\w+=/i.test(tag))).toEqual([]);
          expect(out.html).not.toMatch(/\b(href|src)\s*=\s*"\s*javascript:/i);
        }
      }
    });
  }

  it('shows a contact value as text in HTML and as written in the text part', async () => {
    const out = await renderContent({ subject: 'S', html: '<p title="{{ contact.first_name }}">Hello {{ contact.first_name }}</p>' }, { contact: { first_name: '<b>"Ada"</b> & co' } });
    expect(out.html).toBe('<p title="&lt;b&gt;&#34;Ada&#34;&lt;/b&gt; &amp; co">Hello &lt;b&gt;&#34;Ada&#34;&lt;/b&gt; &amp; co</p>');
    expect(out.text).toBe('Hello <b>"Ada"</b> & co');
  });

  it('sanitizes a template once when no value can change what the policy allows, per message otherwise', async () => {
    expect(await sanitizedOnce({ subject: 'S', html: templates.mjml! })).toBe(true);
    expect(await sanitizedOnce({ subject: 'S', html: templates.loop! })).toBe(true);
    expect(await sanitizedOnce({ subject: 'S', html: templates.linkTail! })).toBe(true);
    for (const name of ['linkWhole', 'image', 'tagInAttribute', 'tagAsAttribute', 'rawFilter', 'rawTag', 'capture']) {
      expect(await sanitizedOnce({ subject: 'S', html: templates[name]! }), name).toBe(false);
    }
  });

  it('keeps a whole-value link that is safe and drops one that is not', async () => {
    const ok = await renderContent({ subject: 'S', html: templates.linkWhole! }, { contact: { first_name: 'https://ada.example.com/' } });
    expect(ok.html).toContain('href="https://ada.example.com/"');
    const bad = await renderContent({ subject: 'S', html: templates.linkWhole! }, { contact: { first_name: 'javascript:alert(1)' } });
    expect(bad.html).toBe('<a>site</a>');
  });

  it('follows Liquid conditions and loops in both parts, uppercasing values in headings like the rest of the heading', async () => {
    const content = { subject: 'S', html: '<h1>Hi {{ contact.first_name }}</h1>{% if contact.vip %}<p>VIP offer</p>{% else %}<p>Offer</p>{% endif %}<ul>{% for t in contact.tags %}<li>{{ t }}</li>{% endfor %}</ul>' };
    expect(await sanitizedOnce(content)).toBe(true);
    const vip = await renderContent(content, { contact: { first_name: 'Ada', vip: true, tags: ['a', 'b'] } });
    expect(vip.html).toBe('<h1>Hi Ada</h1><p>VIP offer</p><ul><li>a</li><li>b</li></ul>');
    expect(vip.text).toContain('HI ADA');
    expect(vip.text).toContain('VIP offer');
    expect(vip.text).toMatch(/\* a\n \* b/);
    const plain = await renderContent(content, { contact: { first_name: 'Bo', vip: false, tags: [] } });
    expect(plain.html).toBe('<h1>Hi Bo</h1><p>Offer</p><ul></ul>');
    expect(plain.text).toContain('Offer');
    expect(plain.text).not.toContain('VIP');
  });
});
