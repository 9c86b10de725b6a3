/**
 * The email node form: pick a saved template (previewed, rendered for a sample contact) whose
 * subject and body are copied into the node, or write them here; "Edit template" opens the
 * template editor with a way back to this campaign, and on return the form offers the template's
 * newer content. Also the sender, subscription topic and AI personalization.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { EmailNodeConfig } from '@server/campaigns/definition.schemas.js';
import { api, type Template } from '../../api';
import { errorMessage } from '../../http';
import { Link } from '../../router';
import { Alert, Spinner } from '../../ui';
import { useTemplates, useTopics } from '../ops/ops-api';
import { Choice, optional, str, Text, withField, type Draft } from './fields';

type Config = Draft<EmailNodeConfig>;

/** The node's content as a copy of the template (its id kept so the form can offer updates). */
export function fromTemplate(config: Config, template: Template): Config {
  const next: Config = { ...config, templateId: template.id, subject: template.subject, html: template.html };
  return withField(next, 'text', template.text ?? undefined);
}

/** True when the node's copy differs from the template's current content. */
export function templateChanged(config: Config, template: Template): boolean {
  return config.subject !== template.subject || config.html !== template.html || (config.text ?? null) !== (template.text ?? null);
}

function TemplatePreview({ templateId }: { templateId: string }) {
  const preview = useQuery({ queryKey: ['template-preview', templateId], queryFn: () => api.templates.preview(templateId) });
  if (preview.isPending) return <Spinner label="Rendering preview…" />;
  if (preview.isError) return <Alert>{errorMessage(preview.error)}</Alert>;
  return (
    <figure className="stack template-preview">
      <figcaption className="small">
        <strong>Subject:</strong> {preview.data.subject}
      </figcaption>
      <iframe title="Template preview" sandbox="" srcDoc={preview.data.html} style={{ width: '100%', height: 260, border: '1px solid var(--border, #ccc)', background: '#fff' }} />
    </figure>
  );
}

export function EmailForm({ config, onChange, returnTo }: { config: Config; onChange: (config: Config) => void; returnTo?: string }) {
  const templates = useTemplates();
  const topics = useTopics();
  const [previewing, setPreviewing] = useState(false);
  const list = templates.data ?? [];
  const current = list.find((t) => t.id === config.templateId);
  const defaultTopic = topics.data?.find((t) => t.isDefault);
  const editHref = current ? `/email/templates/${current.id}${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}` : undefined;
  return (
    <div className="stack">
      <fieldset>
        <legend>Content</legend>
        <Choice
          label="Template"
          id="email-template" field="config.templateId"
          value={config.templateId ?? ''}
          options={[['', templates.isPending ? 'Loading templates…' : 'No template: write it here'], ...list.map((t) => [t.id, t.name] as const)]}
          onChange={(id) => {
            const template = list.find((t) => t.id === id);
            onChange(template ? fromTemplate(config, template) : withField(config, 'templateId', undefined));
          }}
          hint="Choosing a template copies its subject and body into this step."
        />
        {templates.isSuccess && list.length === 0 ? (
          <p className="muted small">
            No saved templates yet. <Link to={`/email/templates/new${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`}>Create a template</Link>
          </p>
        ) : null}
        {config.templateId && templates.isSuccess && !current ? <Alert kind="info">The template this step was copied from no longer exists; the copy below is still sent.</Alert> : null}
        {current && templateChanged(config, current) ? (
          <Alert kind="info">
            “{current.name}” has changed since it was copied here.{' '}
            <button type="button" className="button small" onClick={() => onChange(fromTemplate(config, current))}>
              Use the latest version
            </button>
          </Alert>
        ) : null}
        {current ? (
          <div className="row">
            <button type="button" className="button small" aria-expanded={previewing} onClick={() => setPreviewing((p) => !p)}>
              {previewing ? 'Hide preview' : 'Preview'}
            </button>
            {editHref ? (
              <Link className="button small ghost" to={editHref}>
                Edit template
              </Link>
            ) : null}
          </div>
        ) : null}
        {current && previewing ? <TemplatePreview templateId={current.id} /> : null}
        <Text label="Subject" id="email-subject" field="config.subject" value={str(config.subject)} onChange={(subject) => onChange({ ...config, subject })} />
        <Text label="Body (HTML or MJML, Liquid variables)" id="email-html" field="config.html" multiline value={str(config.html)} onChange={(html) => onChange({ ...config, html })} example="<p>Hi {{ contact.first_name }}</p>" />
        <Text label="Text part (optional)" id="email-text" field="config.text" multiline value={str(config.text)} onChange={(text) => onChange(withField(config, 'text', optional(text)))} />
      </fieldset>
      <Text label="From (optional)" id="email-from" field="config.from" value={str(config.from)} onChange={(text) => onChange(withField(config, 'from', optional(text)))} hint="Empty: the workspace's default sender." />
      <Choice
        label="Subscription topic"
        id="email-topic" field="config.topicId"
        value={config.topicId ?? ''}
        options={[['', `Workspace default${defaultTopic ? ` (${defaultTopic.name})` : ' (none: unsubscribe leaves all)'}`], ...(topics.data ?? []).map((t) => [t.id, t.name] as const)]}
        onChange={(value) => onChange(withField(config, 'topicId', optional(value)))}
      />
      <Choice
        label="AI personalization"
        id="email-personalization" field="config.personalization"
        value={config.personalization ?? 'off'}
        options={[
          ['off', 'Off'],
          ['offline', 'Offline rules (no provider, no cost)'],
          ['provider', "The workspace's AI provider"],
        ]}
        onChange={(value) => onChange(withField(config, 'personalization', value === 'off' ? undefined : value))}
      />
    </div>
  );
}
