/**
 * Settings › Subscription topics: the kinds of marketing email the workspace sends. Each campaign
 * email belongs to one (the default when its node names none); recipients choose theirs on the
 * preference page, and one-click unsubscribe leaves only the email's own topic.
 */
import { useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, type Topic } from '../api';
import { Alert, Badge, Field, Spinner, useLoad } from '../ui';

export function SubscriptionTopics({ canWrite }: { canWrite: boolean }) {
  const [loaded, reload] = useLoad(() => api.topics.list(), []);
  const [editing, setEditing] = useState<Topic | null>(null);
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const name = String(form.get('name') ?? '').trim();
    const description = String(form.get('description') ?? '').trim();
    if (name === '') {
      setErrors({ name: 'Name the topic as recipients will see it' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      const input = { name, description: description === '' ? null : description, isDefault: form.get('isDefault') === 'on' };
      if (editing) await api.topics.update(editing.id, input);
      else await api.topics.create(input);
      formElement.reset();
      setEditing(null);
      await reload();
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };

  const makeDefault = async (topic: Topic) => {
    setError(undefined);
    try {
      await api.topics.update(topic.id, { name: topic.name, description: topic.description, isDefault: true });
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  const remove = async (topic: Topic) => {
    if (!window.confirm(`Delete the topic “${topic.name}”? Its ${topic.optedOut} opt-out(s) are forgotten.`)) return;
    setError(undefined);
    try {
      await api.topics.remove(topic.id);
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  return (
    <section className="panel stack" aria-labelledby="topics-title">
      <h2 id="topics-title">Subscription topics</h2>
      <p className="muted small">
        Each marketing email belongs to a topic; recipients can leave one topic and keep the others. Campaign emails without a topic use the default. Test sends are
        transactional and have no topic.
      </p>
      {error ? <Alert>{error}</Alert> : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        loaded.data.topics.length === 0 ? (
          <p className="muted">No topics yet: an unsubscribe leaves all marketing email.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Subscription topics">
              <thead>
                <tr>
                  <th scope="col">Topic</th>
                  <th scope="col" className="hide-narrow">
                    Description
                  </th>
                  <th scope="col">Opted out</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {loaded.data.topics.map((topic) => (
                  <tr key={topic.id}>
                    <td>
                      {topic.name} {topic.isDefault ? <Badge tone="active">default</Badge> : null}
                    </td>
                    <td className="hide-narrow">{topic.description ?? '—'}</td>
                    <td>{topic.optedOut}</td>
                    <td className="actions">
                      {canWrite ? (
                        <div className="row">
                          {!topic.isDefault ? (
                            <button type="button" className="button small" onClick={() => void makeDefault(topic)} aria-label={`Make ${topic.name} the default`}>
                              Make default
                            </button>
                          ) : null}
                          <button type="button" className="button small" onClick={() => setEditing(topic)} aria-label={`Edit ${topic.name}`}>
                            Edit
                          </button>
                          <button type="button" className="button danger small" onClick={() => void remove(topic)} aria-label={`Delete ${topic.name}`}>
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
        )
      ) : null}
      {canWrite ? (
        <form key={editing?.id ?? 'new'} className="row align-end wrap" onSubmit={save} aria-label={editing ? `Edit topic ${editing.name}` : 'Add topic'} noValidate>
          <Field label="Topic name" name="name" id="topic-name" placeholder="e.g. Product news" defaultValue={editing?.name ?? ''} error={errors.name} />
          <Field label="Description" name="description" id="topic-description" placeholder="Shown on the preference page" defaultValue={editing?.description ?? ''} error={errors.description} />
          <label className="checkbox">
            <input type="checkbox" name="isDefault" defaultChecked={editing?.isDefault ?? false} /> Default topic
          </label>
          <button type="submit" className="button primary" disabled={busy}>
            {editing ? 'Save topic' : 'Add topic'}
          </button>
          {editing ? (
            <button type="button" className="button ghost" onClick={() => setEditing(null)}>
              Cancel
            </button>
          ) : null}
        </form>
      ) : null}
    </section>
  );
}
