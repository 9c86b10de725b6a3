/**
 * Guardian › Channels: where alert notifications go. Lists the channels (no secrets: the recipients
 * or the host only), creates one with the form of its kind, sends a test and shows its outcome, and
 * shows a new webhook channel's signing secret once.
 */
import { useState, type FormEvent } from 'react';
import { errorMessage, fieldErrors, type Role } from '../../api';
import { guardianApi, type GuardianChannel, type NewChannel } from '../../guardian-api';
import { Alert, Badge, Field, Spinner, useLoad } from '../../ui';
import { GuardianLayout } from './GuardianLayout';

const KIND_LABEL: Record<GuardianChannel['kind'], string> = { email: 'Email', slack: 'Slack', webhook: 'Webhook', in_app: 'In-app' };
type TestOutcome = { channel: string; status: 'sent' | 'failed'; detail: string };

function target(channel: GuardianChannel): string {
  if (channel.kind === 'email') return (channel.recipients ?? []).join(', ');
  if (channel.kind === 'in_app') return 'Notification centre (bell in the top bar)';
  return channel.host ?? '—';
}

export function GuardianChannelsPage({ role }: { role: Role }) {
  // Guardian admins (owners and admins by default) configure channels; the server has the last word.
  const canWrite = role === 'owner' || role === 'admin';
  const [loaded, reload] = useLoad(() => guardianApi.channels.list(), []);
  const [kind, setKind] = useState<NewChannel['kind']>('webhook');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [secret, setSecret] = useState<{ channel: string; secret: string } | null>(null);
  const [tests, setTests] = useState<Record<string, 'running'>>({});
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const name = String(form.get('name') ?? '').trim();
    const next: Record<string, string> = {};
    if (name === '') next.name = 'Name the channel, e.g. “On-call Slack”';
    let input: NewChannel;
    if (kind === 'email') {
      const recipients = String(form.get('recipients') ?? '')
        .split(/[\s,;]+/)
        .map((r) => r.trim())
        .filter((r) => r !== '');
      if (recipients.length === 0) next.recipients = 'Add at least one email address';
      input = { kind, name, recipients };
    } else if (kind === 'slack' || kind === 'webhook') {
      const url = String(form.get('url') ?? '').trim();
      if (url === '') next.url = kind === 'slack' ? 'Paste the Slack incoming-webhook URL' : 'Enter the URL that receives the notifications';
      input = { kind, name, url };
    } else {
      input = { kind, name };
    }
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const created = await guardianApi.channels.create(input);
      formElement.reset();
      if (created.signingSecret) setSecret({ channel: created.channel.name, secret: created.signingSecret });
      await reload();
    } catch (caught) {
      const byField = fieldErrors(caught);
      const code = (caught as { code?: string }).code;
      if (code === 'GUARDIAN_WEBHOOK_URL_REFUSED' || code === 'GUARDIAN_SLACK_URL_INVALID') byField.url = errorMessage(caught);
      if (code === 'GUARDIAN_RECIPIENTS_INVALID') byField.recipients = errorMessage(caught);
      setErrors(byField);
      setError(`The channel was not created: ${errorMessage(caught)}`);
    } finally {
      setBusy(false);
    }
  };

  const test = async (channel: GuardianChannel) => {
    setTests((t) => ({ ...t, [channel.id]: 'running' }));
    setOutcome(null);
    try {
      const result = await guardianApi.channels.test(channel.id);
      const detail =
        result.status === 'sent'
          ? `Delivered${result.responseStatus ? ` (HTTP ${result.responseStatus})` : ''} in ${result.durationMs} ms.`
          : `Not delivered: ${result.error ?? 'unknown error'}${result.responseStatus ? ` (HTTP ${result.responseStatus})` : ''}. Check the channel's target, then try again.`;
      setOutcome({ channel: channel.name, status: result.status, detail });
      await reload();
    } catch (caught) {
      setOutcome({ channel: channel.name, status: 'failed', detail: errorMessage(caught) });
    } finally {
      setTests(({ [channel.id]: _done, ...rest }) => rest);
    }
  };

  const toggle = async (channel: GuardianChannel) => {
    setError(undefined);
    try {
      await guardianApi.channels.update(channel.id, { enabled: !channel.enabled });
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  const remove = async (channel: GuardianChannel) => {
    if (!window.confirm(`Delete the channel “${channel.name}”? Rules that name it will log failed deliveries until you change them.`)) return;
    setError(undefined);
    try {
      await guardianApi.channels.remove(channel.id);
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  return (
    <GuardianLayout active="channels">
    <section className="stack">
      <p className="muted">Alerts and digests are sent to these channels. Secrets (Slack and webhook URLs, signing secrets) are stored encrypted and never shown again.</p>
      {error ? <Alert>{error}</Alert> : null}
      {secret ? (
        <div className="panel stack" role="region" aria-labelledby="secret-title" data-testid="signing-secret">
          <h2 id="secret-title">Signing secret of “{secret.channel}”</h2>
          <p>Copy it now into your receiver: this is the only time it is shown. Verify each request's <code>webhook-signature</code> with it (any Standard Webhooks library).</p>
          <p>
            <code className="secret">{secret.secret}</code>
          </p>
          <button type="button" className="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <div aria-live="polite">{outcome ? <Alert kind={outcome.status === 'sent' ? 'success' : 'error'}>{`Test to “${outcome.channel}”: ${outcome.detail}`}</Alert> : null}</div>
      {loaded.status === 'loading' ? <Spinner label="Loading channels…" /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' && loaded.data.channels.length === 0 ? (
        <div className="empty">{canWrite ? 'No channels yet. Add one below — a webhook, Slack, email recipients or the in-app centre — then send it a test.' : 'No channels yet. A Guardian admin can add them.'}</div>
      ) : null}
      {loaded.status === 'ready' && loaded.data.channels.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Notification channels">
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Kind</th>
                <th scope="col" className="hide-narrow">
                  Sends to
                </th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.channels.map((channel) => (
                <tr key={channel.id}>
                  <td>{channel.name}</td>
                  <td>{KIND_LABEL[channel.kind]}</td>
                  <td className="hide-narrow">{target(channel)}</td>
                  <td>
                    {channel.enabled ? <Badge tone="active">enabled</Badge> : <Badge tone="paused">disabled</Badge>}{' '}
                    {channel.consecutiveFailures > 0 ? <Badge tone="failed">{`${channel.consecutiveFailures} failed in a row`}</Badge> : null}
                  </td>
                  <td className="actions">
                    {canWrite ? (
                      <div className="row">
                        <button type="button" className="button small" disabled={tests[channel.id] === 'running'} onClick={() => void test(channel)} aria-label={`Send test to ${channel.name}`}>
                          {tests[channel.id] === 'running' ? 'Sending…' : 'Send test'}
                        </button>
                        <button type="button" className="button small" onClick={() => void toggle(channel)} aria-label={`${channel.enabled ? 'Disable' : 'Enable'} ${channel.name}`}>
                          {channel.enabled ? 'Disable' : 'Enable'}
                        </button>
                        <button type="button" className="button danger small" onClick={() => void remove(channel)} aria-label={`Delete ${channel.name}`}>
                          Delete
                        </button>
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {canWrite ? (
        <form className="panel stack" onSubmit={create} aria-labelledby="new-channel-title" noValidate>
          <h2 id="new-channel-title">Add a channel</h2>
          <div className="field">
            <label htmlFor="channel-kind">Kind</label>
            <select id="channel-kind" value={kind} onChange={(event) => { setKind(event.target.value as NewChannel['kind']); setErrors({}); }}>
              <option value="webhook">Webhook (signed, Standard Webhooks)</option>
              <option value="slack">Slack (incoming webhook)</option>
              <option value="email">Email</option>
              <option value="in_app">In-app notification centre</option>
            </select>
          </div>
          <Field label="Name" name="name" id="channel-name" placeholder="e.g. On-call pager" error={errors.name} />
          {kind === 'email' ? (
            <div className={`field${errors.recipients ? ' field-invalid' : ''}`}>
              <label htmlFor="channel-recipients">Recipients</label>
              <textarea id="channel-recipients" name="recipients" rows={3} placeholder="oncall@example.com, deliverability@example.com" aria-invalid={errors.recipients ? true : undefined} aria-describedby={errors.recipients ? 'channel-recipients-error' : 'channel-recipients-hint'} />
              {errors.recipients ? (
                <p className="field-error" id="channel-recipients-error">
                  {errors.recipients}
                </p>
              ) : (
                <p className="field-hint" id="channel-recipients-hint">
                  Separate addresses with commas or new lines. Sent as transactional email.
                </p>
              )}
            </div>
          ) : null}
          {kind === 'slack' || kind === 'webhook' ? (
            <Field
              label={kind === 'slack' ? 'Slack incoming-webhook URL' : 'Webhook URL'}
              name="url"
              id="channel-url"
              type="url"
              placeholder={kind === 'slack' ? 'https://hooks.slack.com/services/…' : 'https://example.com/hooks/guardian'}
              hint={kind === 'slack' ? 'In Slack: Apps → Incoming Webhooks → Add to Slack, then copy the URL.' : 'Must be reachable on the public internet. A signing secret is generated and shown once.'}
              error={errors.url}
            />
          ) : null}
          <div className="row">
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? 'Adding…' : 'Add channel'}
            </button>
          </div>
        </form>
      ) : null}
    </section>
    </GuardianLayout>
  );
}
