/**
 * Email: templates (list, editor with a live draft preview, the server's rendered preview for a
 * contact, save-time issues with their line numbers, test send), sending providers with a
 * connection test, and the suppression list.
 */
import { AiPreview } from './AiPreview';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, PROVIDER_KINDS, SUPPRESSION_REASONS, type Provider, type ProviderKind, type RenderedEmail, type Suppression, type Template } from '../api';
import { describeIssue, lineRange, templateIssues, type ContentIssue } from '../email/issues';
import { contactName } from '../format';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { Alert, Badge, Field, formatDate, LoadedList, PageHeader, Spinner, useLoad } from '../ui';
import { ReturnToCampaign } from '../campaigns/forms/ReturnToCampaign';

export type EmailTab = 'templates' | 'messages' | 'providers' | 'suppressions';

export function EmailTabs({ active }: { active: EmailTab }) {
  const can = useCan();
  const tabs: Array<[EmailTab, string, string]> = [
    ['templates', 'Templates', '/email/templates'],
    ...(can('messages:read') ? [['messages', 'Messages', '/email/messages'] as [EmailTab, string, string]] : []),
    ['providers', 'Providers', '/email/providers'],
    ['suppressions', 'Suppressions', '/email/suppressions'],
  ];
  return (
    <nav className="tabs" aria-label="Email sections">
      {tabs.map(([tab, label, to]) => (
        <Link key={tab} to={to} className={`tab${tab === active ? ' active' : ''}`} aria-current={tab === active ? 'page' : undefined}>
          {label}
        </Link>
      ))}
    </nav>
  );
}

function TemplateList() {
  const can = useCan();
  const [loaded] = useLoad(() => api.templates.list(), []);
  const body = (
    <LoadedList state={loaded} items={(data) => data.templates} loadingLabel="Loading templates…" empty="No templates yet.">
      {(data) => (
        <div className="table-wrap">
          <table className="table" aria-label="Templates">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Subject</th>
                <th scope="col" className="hide-narrow">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody>
              {data.templates.map((template) => (
                <tr key={template.id} className="clickable" onClick={() => navigate(`/email/templates/${template.id}`)}>
                  <td>
                    <Link to={`/email/templates/${template.id}`} onClick={(event) => event.stopPropagation()}>
                      {template.name}
                    </Link>
                  </td>
                  <td>{template.subject}</td>
                  <td className="hide-narrow">{formatDate(template.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </LoadedList>
  );
  return (
    <>
      <PageHeader title="Email">
        {can('templates:write') ? (
          <button type="button" className="button primary" onClick={() => navigate('/email/templates/new')}>
            New template
          </button>
        ) : null}
      </PageHeader>
      <EmailTabs active="templates" />
      {body}
    </>
  );
}

const STARTER_HTML = '<p>Hi {{ contact.first_name | default: "there" }},</p>\n<p>…</p>';

function TemplateEditor({ template }: { template: Template | undefined }) {
  const can = useCan();
  const writable = can('templates:write');
  const [name, setName] = useState(template?.name ?? '');
  const [subject, setSubject] = useState(template?.subject ?? '');
  const [html, setHtml] = useState(template?.html ?? STARTER_HTML);
  const [text, setText] = useState(template?.text ?? '');
  const [draftHtml, setDraftHtml] = useState(html);
  const [issues, setIssues] = useState<ContentIssue[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);
  const [contactId, setContactId] = useState('');
  const [rendered, setRendered] = useState<RenderedEmail>();
  const [renderError, setRenderError] = useState<string>();
  const [testTo, setTestTo] = useState('');
  const htmlRef = useRef<HTMLTextAreaElement>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const [contacts] = useLoad(() => api.contacts.list({ limit: 50 }), []);

  // The draft preview follows typing, a moment after it stops.
  useEffect(() => {
    const timer = window.setTimeout(() => setDraftHtml(html), 300);
    return () => window.clearTimeout(timer);
  }, [html]);

  const renderPreview = async (templateId: string, forContact: string) => {
    setRenderError(undefined);
    try {
      setRendered(await api.templates.preview(templateId, forContact || undefined));
    } catch (error) {
      setRendered(undefined);
      setRenderError(errorMessage(error));
    }
  };
  useEffect(() => {
    if (template) void renderPreview(template.id, contactId);
  }, [template, contactId]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(undefined);
    try {
      const input = { name: name.trim(), subject, html, text: text === '' ? null : text };
      const saved = template ? await api.templates.update(template.id, input) : await api.templates.create(input);
      setIssues([]);
      setErrors({});
      setMessage({ kind: 'success', text: 'Template saved.' });
      if (!template) navigate(`/email/templates/${saved.id}`, { replace: true });
      else await renderPreview(saved.id, contactId);
    } catch (error) {
      setIssues(templateIssues(error));
      setErrors(fieldErrors(error));
      setMessage({ kind: 'error', text: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };

  const jumpTo = (issue: ContentIssue) => {
    const area = issue.field === 'html' ? htmlRef.current : issue.field === 'text' ? textRef.current : null;
    if (!area || issue.line === null) return;
    const [start, end] = lineRange(area.value, issue.line);
    area.focus();
    area.setSelectionRange(start, end);
  };

  const remove = async () => {
    if (!template || !window.confirm(`Delete the template “${template.name}”?`)) return;
    try {
      await api.templates.remove(template.id);
      navigate('/email/templates');
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  const testSend = async (event: FormEvent) => {
    event.preventDefault();
    if (!template) return;
    try {
      await api.templates.testSend(template.id, testTo.trim());
      setMessage({ kind: 'success', text: `Test email queued to ${testTo.trim()}.` });
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  const issuesOf = (field: ContentIssue['field']) => issues.filter((issue) => issue.field === field);
  const lineCount = html.split('\n').length;

  return (
    <>
      <p className="crumbs">
        <Link to="/email/templates">← Templates</Link>
      </p>
      <PageHeader title={template ? template.name : 'New template'}>
        {template && writable ? (
          <button type="button" className="button danger" onClick={() => void remove()}>
            Delete
          </button>
        ) : null}
      </PageHeader>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {issues.length > 0 ? (
        <div className="alert alert-error" role="alert">
          <p>Fix these before saving:</p>
          <ul className="issues">
            {issues.map((issue, index) => (
              <li key={index}>
                {issue.line !== null && issue.field !== 'subject' ? (
                  <button type="button" className="link-button" onClick={() => jumpTo(issue)}>
                    {describeIssue(issue)}
                  </button>
                ) : (
                  describeIssue(issue)
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="two-columns template-editor">
        <form className="panel stack" onSubmit={save} aria-label="Template" noValidate>
          <Field label="Name" name="name" value={name} onChange={(event) => setName(event.target.value)} error={errors.name} disabled={!writable} />
          <Field label="Subject" name="subject" value={subject} onChange={(event) => setSubject(event.target.value)} error={errors.subject ?? (issuesOf('subject').map((i) => i.message).join('; ') || undefined)} disabled={!writable} />
          <div className={`field${issuesOf('html').length > 0 ? ' field-invalid' : ''}`}>
            <label htmlFor="template-html">HTML or MJML (Liquid: contact, workspace)</label>
            <div className="code-editor">
              <pre className="gutter" aria-hidden="true">
                {Array.from({ length: lineCount }, (_, i) => (issuesOf('html').some((issue) => issue.line === i + 1) ? `! ${i + 1}` : String(i + 1))).join('\n')}
              </pre>
              <textarea id="template-html" ref={htmlRef} rows={Math.max(12, lineCount + 1)} value={html} onChange={(event) => setHtml(event.target.value)} spellCheck={false} wrap="off" disabled={!writable} />
            </div>
          </div>
          <div className={`field${issuesOf('text').length > 0 ? ' field-invalid' : ''}`}>
            <label htmlFor="template-text">Text part (optional; generated from the HTML when empty)</label>
            <textarea id="template-text" ref={textRef} rows={4} value={text} onChange={(event) => setText(event.target.value)} disabled={!writable} />
          </div>
          {writable ? (
            <div className="row">
              <button type="submit" className="button primary" disabled={busy}>
                {busy ? 'Saving…' : 'Save template'}
              </button>
            </div>
          ) : null}
        </form>
        <div className="stack">
          <section className="panel stack" aria-labelledby="draft-preview-title">
            <h2 id="draft-preview-title">Draft preview</h2>
            <p className="muted small">As you type; Liquid variables and MJML are rendered in the saved preview below.</p>
            <iframe title="Draft preview" sandbox="" srcDoc={draftHtml} className="email-frame preview-frame" />
          </section>
          {template ? (
            <section className="panel stack" aria-labelledby="rendered-preview-title">
              <h2 id="rendered-preview-title">Saved preview</h2>
              <div className="field">
                <label htmlFor="preview-contact">For contact</label>
                <select id="preview-contact" value={contactId} onChange={(event) => setContactId(event.target.value)}>
                  <option value="">A sample contact</option>
                  {contacts.status === 'ready'
                    ? contacts.data.contacts.map((contact) => (
                        <option key={contact.id} value={contact.id}>
                          {contactName(contact)} ({contact.email})
                        </option>
                      ))
                    : null}
                </select>
              </div>
              {renderError ? <Alert>{renderError}</Alert> : null}
              {rendered ? (
                <>
                  <p>
                    <strong>Subject:</strong> <span data-testid="rendered-subject">{rendered.subject}</span>
                  </p>
                  <iframe title="Rendered email" sandbox="" srcDoc={rendered.html} className="email-frame preview-frame" />
                  <details>
                    <summary>Text part</summary>
                    <pre className="email-text">{rendered.text}</pre>
                  </details>
                </>
              ) : null}
              {can('messages:write') ? (
                <form className="row align-end" onSubmit={testSend} aria-label="Test send">
                  <Field label="Send a test to" name="testTo" type="email" value={testTo} onChange={(event) => setTestTo(event.target.value)} />
                  <button type="submit" className="button" disabled={testTo.trim() === ''}>
                    Send test
                  </button>
                </form>
              ) : null}
            </section>
          ) : null}
          {template && contactId && can('ai:write') ? <AiPreview templateId={template.id} contactId={contactId} /> : null}
        </div>
      </div>
    </>
  );
}

export function TemplatePage({ templateId }: { templateId: string }) {
  const [loaded] = useLoad(() => (templateId === 'new' ? Promise.resolve(undefined) : api.templates.get(templateId)), [templateId]);
  if (loaded.status === 'loading') return <Spinner />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  return (
    <section>
      <ReturnToCampaign />
      <TemplateEditor key={loaded.data?.id ?? 'new'} template={loaded.data} />
    </section>
  );
}

const CREDENTIAL_FIELDS: Record<ProviderKind, Array<[string, string]>> = {
  smtp: [['url', 'SMTP URL (smtp:// or smtps://user:pass@host:port)']],
  resend: [['apiKey', 'API key']],
  postmark: [['serverToken', 'Server token']],
  sendgrid: [['apiKey', 'API key']],
  ses: [
    ['accessKeyId', 'Access key id'],
    ['secretAccessKey', 'Secret access key'],
    ['region', 'Region'],
  ],
};

function ProviderForm({ onDone, onCancel }: { onDone: (provider: Provider) => void; onCancel: () => void }) {
  const [kind, setKind] = useState<ProviderKind>('smtp');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const credentials = Object.fromEntries(CREDENTIAL_FIELDS[kind].map(([key]) => [key, String(form.get(`cred-${key}`) ?? '').trim()]));
    const rate = String(form.get('rate') ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      const provider = await api.providers.create({
        name: String(form.get('name') ?? '').trim(),
        kind,
        priority: Number(form.get('priority') ?? 100),
        credentials,
        ...(rate === '' ? {} : { ratePerSecond: Number(rate) }),
      });
      onDone(provider);
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-label="Add a provider">
      <h2>Add a provider</h2>
      {error ? <Alert>{error}</Alert> : null}
      <div className="row">
        <Field label="Name" name="name" required />
        <div className="field">
          <label htmlFor="provider-kind">Kind</label>
          <select id="provider-kind" value={kind} onChange={(event) => setKind(event.target.value as ProviderKind)}>
            {PROVIDER_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <Field label="Priority (lower first)" name="priority" type="number" min={0} defaultValue={100} />
        <Field label="Rate limit per second" name="rate" type="number" min={1} />
      </div>
      {CREDENTIAL_FIELDS[kind].map(([key, label]) => (
        <Field key={`${kind}-${key}`} label={label} name={`cred-${key}`} type={key === 'region' ? 'text' : 'password'} autoComplete="off" required />
      ))}
      <p className="muted small">Credentials are encrypted at rest and shown masked afterwards.</p>
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add provider'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Providers() {
  const can = useCan();
  const writable = can('providers:write');
  const [loaded, reload] = useLoad(() => api.providers.list(), []);
  const [adding, setAdding] = useState(false);
  const [results, setResults] = useState<Record<string, { ok: boolean; detail: string } | 'testing'>>({});
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();

  const test = async (provider: Provider) => {
    setResults((r) => ({ ...r, [provider.id]: 'testing' }));
    try {
      const result = await api.providers.test(provider.id);
      setResults((r) => ({ ...r, [provider.id]: result }));
    } catch (error) {
      setResults((r) => ({ ...r, [provider.id]: { ok: false, detail: errorMessage(error) } }));
    }
  };
  const toggle = async (provider: Provider) => {
    try {
      await api.providers.update(provider.id, { name: provider.name, kind: provider.kind, priority: provider.priority, enabled: !provider.enabled, ratePerSecond: provider.ratePerSecond });
      await reload();
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };
  const remove = async (provider: Provider) => {
    if (!window.confirm(`Remove the provider “${provider.name}”?`)) return;
    try {
      await api.providers.remove(provider.id);
      setMessage({ kind: 'success', text: `${provider.name} was removed.` });
      await reload();
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  const body = (
    <LoadedList state={loaded} items={(data) => data.providers} empty="No provider configured: emails are captured in the dev inbox.">
      {(data) => (
        <div className="table-wrap">
          <table className="table" aria-label="Providers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Priority
                </th>
                <th scope="col">State</th>
                <th scope="col">Connection</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.providers.map((provider) => {
                const result = results[provider.id];
                return (
                  <tr key={provider.id}>
                    <td>{provider.name}</td>
                    <td>{provider.kind}</td>
                    <td className="num">{provider.priority}</td>
                    <td>
                      <Badge tone={provider.enabled ? 'active' : 'archived'}>{provider.enabled ? 'enabled' : 'disabled'}</Badge>
                    </td>
                    <td className="small" data-testid={`test-result-${provider.name}`}>
                      {result === 'testing' ? 'Testing…' : result ? <span className={result.ok ? 'ok-text' : 'field-error'}>{result.ok ? 'OK' : 'Failed'}: {result.detail}</span> : '—'}
                    </td>
                    <td className="row">
                      {writable ? (
                        <>
                          <button type="button" className="button small" onClick={() => void test(provider)} aria-label={`Test ${provider.name}`}>
                            Test connection
                          </button>
                          <button type="button" className="button small" onClick={() => void toggle(provider)}>
                            {provider.enabled ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" className="button small danger" onClick={() => void remove(provider)} aria-label={`Remove ${provider.name}`}>
                            Remove
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </LoadedList>
  );

  return (
    <>
      <PageHeader title="Email">
        {writable && !adding ? (
          <button type="button" className="button primary" onClick={() => setAdding(true)}>
            Add provider
          </button>
        ) : null}
      </PageHeader>
      <EmailTabs active="providers" />
      <p className="muted small">Providers are tried in priority order; one that keeps failing is skipped (circuit breaker) and the next takes over.</p>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {adding ? (
        <ProviderForm
          onDone={(provider) => {
            setAdding(false);
            setMessage({ kind: 'success', text: `${provider.name} was added.` });
            void reload();
          }}
          onCancel={() => setAdding(false)}
        />
      ) : null}
      {body}
    </>
  );
}

function Suppressions() {
  const can = useCan();
  const writable = can('contacts:write');
  const [lookup, setLookup] = useState('');
  const [query, setQuery] = useState('');
  const [pages, setPages] = useState<Suppression[]>([]);
  const [loaded, reload] = useLoad(() => api.suppressions.list(query ? { email: query } : { limit: 100 }), [query]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  useEffect(() => {
    if (loaded.status === 'ready') {
      setPages(loaded.data.suppressions);
      setNextCursor(loaded.data.nextCursor);
    }
  }, [loaded]);

  const more = async () => {
    if (!nextCursor) return;
    const page = await api.suppressions.list({ limit: 100, after: nextCursor });
    setPages((previous) => [...previous, ...page.suppressions]);
    setNextCursor(page.nextCursor);
  };
  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('suppressEmail') ?? '').trim();
    try {
      await api.suppressions.add(email, String(form.get('reason')) as Suppression['reason']);
      setMessage({ kind: 'success', text: `${email} is suppressed.` });
      (event.target as HTMLFormElement).reset();
      await reload();
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };
  const remove = async (email: string) => {
    if (!window.confirm(`Allow sending to ${email} again?`)) return;
    try {
      await api.suppressions.remove(email);
      await reload();
      setMessage({ kind: 'success', text: `${email} was removed from the list.` });
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  return (
    <>
      <PageHeader title="Email" />
      <EmailTabs active="suppressions" />
      <p className="muted small">Every send checks this list: unsubscribes, hard bounces and complaints are added automatically.</p>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      <div className="row">
        <form
          className="row align-end grow"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            setQuery(lookup.trim());
          }}
        >
          <Field label="Look up an address" name="lookup" type="search" value={lookup} onChange={(event) => setLookup(event.target.value)} />
          <button type="submit" className="button">
            Look up
          </button>
        </form>
        {writable ? (
          <form className="row align-end" onSubmit={add} aria-label="Suppress an address">
            <Field label="Suppress an address" name="suppressEmail" type="email" required />
            <div className="field">
              <label htmlFor="suppress-reason">Reason</label>
              <select id="suppress-reason" name="reason" defaultValue="manual">
                {SUPPRESSION_REASONS.map((reason) => (
                  <option key={reason} value={reason}>
                    {reason.replace('_', ' ')}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="button">
              Suppress
            </button>
          </form>
        ) : null}
      </div>
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' && pages.length === 0 ? <div className="empty">{query ? `${query} is not suppressed.` : 'No suppressed addresses.'}</div> : null}
      {pages.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Suppressions">
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Reason</th>
                <th scope="col" className="hide-narrow">
                  Source
                </th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pages.map((entry) => (
                <tr key={entry.email}>
                  <td>{entry.email}</td>
                  <td>{entry.reason.replace('_', ' ')}</td>
                  <td className="hide-narrow">{entry.source ?? '—'}</td>
                  <td>{formatDate(entry.createdAt)}</td>
                  <td>
                    {writable ? (
                      <button type="button" className="button small" onClick={() => void remove(entry.email)} aria-label={`Unsuppress ${entry.email}`}>
                        Remove
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {nextCursor && !query ? (
        <button type="button" className="button" onClick={() => void more()}>
          Load more
        </button>
      ) : null}
    </>
  );
}

export function EmailPage({ tab }: { tab: Exclude<EmailTab, 'messages'> }) {
  return <section>{tab === 'templates' ? <TemplateList /> : tab === 'providers' ? <Providers /> : <Suppressions />}</section>;
}
