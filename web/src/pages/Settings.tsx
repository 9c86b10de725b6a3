/**
 * Settings: the workspace's name and time zone (WorkspaceSettings.tsx), subscription topics (Topics.tsx), declared custom fields (CustomFields.tsx), workspace API keys (create shows the key once;
 * revoke) and members with their invitations (Members.tsx), and the activity log (activity/ActivityLog.tsx). Actions the caller's role lacks are not shown; the API enforces them regardless.
 */
import { useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, type ApiKey } from '../api';
import { useCan } from '../session';
import { Alert, Badge, Field, formatDate, PageHeader, Spinner, useLoad } from '../ui';
import { CustomFields } from './CustomFields';
import { Members } from './Members';
import { SubscriptionTopics } from './Topics';
import { ActivityLog } from '../activity/ActivityLog';
import { WorkspaceSection } from './WorkspaceSettings';

const KEY_ROLES = ['admin', 'member', 'viewer'] as const;

function ApiKeys({ canWrite }: { canWrite: boolean }) {
  const [loaded, reload] = useLoad(() => api.apiKeys.list(), []);
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const name = String(form.get('name') ?? '').trim();
    const role = String(form.get('role')) as (typeof KEY_ROLES)[number];
    if (name === '') {
      setErrors({ name: 'Name the key after what will use it' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      const result = await api.apiKeys.create({ name, role });
      setCreated({ name: result.apiKey.name, key: result.key });
      setCopied(false);
      formElement.reset();
      await reload();
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke “${key.name}”? Anything using it stops working at once.`)) return;
    setError(undefined);
    try {
      await api.apiKeys.revoke(key.id);
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  const copy = async (key: string) => {
    try {
      await navigator.clipboard.writeText(key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <section className="panel stack" aria-labelledby="api-keys-title">
      <h2 id="api-keys-title">API keys</h2>
      <p className="muted small">
        Server-to-server calls authenticate with <code>Authorization: Bearer &lt;key&gt;</code>. Keys are stored hashed: each is shown once.
      </p>
      {error ? <Alert>{error}</Alert> : null}
      {created ? (
        <div className="alert alert-success stack" role="status">
          <p>
            <strong>Copy the key “{created.name}” now</strong> — it will not be shown again.
          </p>
          <div className="row">
            <code className="secret" data-testid="new-api-key">
              {created.key}
            </code>
            <button type="button" className="button" onClick={() => void copy(created.key)}>
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" className="button ghost" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        loaded.data.apiKeys.length === 0 ? (
          <p className="muted">No API keys yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="API keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Role</th>
                  <th scope="col" className="hide-narrow">
                    Created
                  </th>
                  <th scope="col" className="hide-narrow">
                    Last used
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {loaded.data.apiKeys.map((key) => (
                  <tr key={key.id} className={key.revokedAt ? 'revoked' : undefined}>
                    <td>{key.name}</td>
                    <td className="mono">{key.prefix}…</td>
                    <td>{key.role}</td>
                    <td className="hide-narrow">{formatDate(key.createdAt)}</td>
                    <td className="hide-narrow">{formatDate(key.lastUsedAt)}</td>
                    <td className="actions">
                      {key.revokedAt ? (
                        <Badge tone="archived">revoked</Badge>
                      ) : canWrite ? (
                        <button type="button" className="button danger small" onClick={() => void revoke(key)} aria-label={`Revoke ${key.name}`}>
                          Revoke
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      {canWrite ? (
        <form className="row align-end wrap" onSubmit={create} aria-label="Create API key" noValidate>
          <Field label="Key name" name="name" id="key-name" placeholder="e.g. Website signup form" error={errors.name} />
          <div className="field">
            <label htmlFor="key-role">Role</label>
            <select id="key-role" name="role" defaultValue="member">
              {KEY_ROLES.map((role) => (
                <option key={role} value={role}>
                  {role}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </form>
      ) : null}
    </section>
  );
}

export function SettingsPage() {
  const can = useCan();
  return (
    <section className="stack">
      <PageHeader title="Settings" />
      <WorkspaceSection canWrite={can('settings:write')} />
      {can('settings:read') ? <SubscriptionTopics canWrite={can('settings:write')} /> : null}
      {can('contacts:read') ? <CustomFields canWrite={can('settings:write')} /> : null}
      {can('api_keys:read') ? <ApiKeys canWrite={can('api_keys:write')} /> : null}
      {can('members:read') ? <Members canWrite={can('members:write')} /> : null}
      {can('audit:read') ? <ActivityLog /> : null}
      {!can('members:write') ? <p className="muted small">Only workspace owners manage API keys and members.</p> : null}
    </section>
  );
}
