/** One contact: its fields and tags, the lead score with its parts, the timeline; edit, merge a duplicate, erase (GDPR) and delete. */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, errorMessage, fieldErrors, type Contact, type ContactInput, type ContactTopic, type CustomFieldDefinition, type StepDelivery, type TimelineItem } from '../api';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { Alert, Badge, formatDate, PageHeader, Spinner, useLoad } from '../ui';
import { contactName, scoreParts, scoreTone } from '../format';
import { ContactFields, contactInputFromForm } from './Contacts';
import { useCustomFields } from '../contacts/customFields';

function ScoreCard({ contact }: { contact: Contact }) {
  const parts = scoreParts(contact.scoreBreakdown);
  const tone = scoreTone(contact.score);
  return (
    <div className="panel">
      <h2>Lead score</h2>
      <p className="score-line">
        <span className={`score score-${tone}`}>{contact.score}</span>
        <span className="muted">/ 100 · {tone === 'hot' ? 'hot' : tone === 'warm' ? 'warm' : 'not yet warm'}</span>
      </p>
      {parts.length > 0 ? (
        <ul className="breakdown" aria-label="Score breakdown">
          {parts.map((part) => (
            <li key={part.label}>
              <div className="breakdown-head">
                <span>{part.label}</span>
                <span className="num">
                  {Math.round(part.points * 10) / 10}
                  {part.max !== undefined ? ` / ${part.max}` : ''}
                </span>
              </div>
              {part.max ? (
                <div className="meter" aria-hidden="true">
                  <span style={{ width: `${Math.max(0, Math.min(100, (part.points / part.max) * 100))}%` }} />
                </div>
              ) : null}
              {part.note ? <p className="muted small">{part.note}</p> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No breakdown yet: the score is explained once events arrive.</p>
      )}
    </div>
  );
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A webhook step's delivery in words: sent, retrying (with the last answer) or failed. */
function deliveryText(delivery: StepDelivery): string {
  const tries = `${delivery.attempts} attempt${delivery.attempts === 1 ? '' : 's'}`;
  const last = delivery.lastError ?? (delivery.lastStatus === null ? null : `HTTP ${delivery.lastStatus}`);
  if (delivery.status === 'sent') return `sent${delivery.lastStatus === null ? '' : ` (HTTP ${delivery.lastStatus})`}${delivery.sentAt ? ` ${formatDate(delivery.sentAt)}` : ''}`;
  if (delivery.status === 'failed') return `failed after ${tries}${last ? `: ${last}` : ''}`;
  if (delivery.attempts === 0) return 'queued';
  return `retrying after ${tries}${last ? ` (${last})` : ''}${delivery.nextAttemptAt ? `, next ${formatDate(delivery.nextAttemptAt)}` : ''}`;
}

function Timeline({ contactId }: { contactId: string }) {
  const [timeline] = useLoad(() => api.contacts.timeline(contactId), [contactId]);
  // Older pages, appended by "Load older" after the first page.
  const [older, setOlder] = useState<{ items: TimelineItem[]; nextCursor: string | null; error?: string; loading?: boolean }>();
  if (timeline.status === 'loading') return <Spinner label="Loading timeline…" />;
  if (timeline.status === 'error') return <Alert>{timeline.message}</Alert>;
  const items: TimelineItem[] = [...timeline.data.items, ...(older?.items ?? [])];
  const nextCursor = older ? older.nextCursor : timeline.data.nextCursor;
  if (items.length === 0) return <p className="muted">Nothing has happened with this contact yet.</p>;
  const loadOlder = async (cursor: string) => {
    setOlder((previous) => ({ items: previous?.items ?? [], nextCursor: cursor, loading: true }));
    try {
      const page = await api.contacts.timeline(contactId, cursor);
      setOlder((previous) => ({ items: [...(previous?.items ?? []), ...page.items], nextCursor: page.nextCursor }));
    } catch (caught) {
      setOlder((previous) => ({ items: previous?.items ?? [], nextCursor: cursor, error: errorMessage(caught) }));
    }
  };
  return (
    <>
      <ol className="timeline">
        {items.map((item) => {
          // What each source shows: an event's properties, an email's subject and state, a campaign step's node and outcome.
          const [badge, title, properties]: [string, ReactNode, Array<[string, unknown]>] =
            item.kind === 'event'
              ? ['event', item.name, Object.entries(item.properties)]
              : item.kind === 'message'
                ? ['email', <Link to={`/email/messages/${item.id}`}>{item.subject || '(no subject)'}</Link>, [['status', item.status], ['to', item.toAddress]]]
                : ['campaign', <Link to={`/campaigns/${item.campaignId}`}>{item.campaignName}</Link>, [['step', item.nodeId], ['outcome', item.outcome], ...Object.entries(item.detail), ...(item.delivery ? [['delivery', deliveryText(item.delivery)] as [string, unknown]] : [])]];
          return (
            <li key={`${item.kind}-${item.id}`}>
              <div className="timeline-head">
                <Badge tone="neutral">{badge}</Badge>
                <strong>{title}</strong>
                <time dateTime={item.at} className="muted small">
                  {formatDate(item.at)}
                </time>
              </div>
              {properties.length > 0 ? (
                <dl className="properties">
                  {properties.slice(0, 8).map(([key, value]) => (
                    <div key={key}>
                      <dt>{key}</dt>
                      <dd>{formatValue(value)}</dd>
                    </div>
                  ))}
                </dl>
              ) : null}
            </li>
          );
        })}
      </ol>
      {older?.error ? <Alert>{older.error}</Alert> : null}
      {nextCursor ? (
        <div className="load-more">
          <button type="button" className="button" disabled={older?.loading} onClick={() => void loadOlder(nextCursor)}>
            {older?.loading ? 'Loading…' : 'Load older'}
          </button>
        </div>
      ) : null}
    </>
  );
}

function EditContact({ contact, fields, onSaved, onCancel }: { contact: Contact; fields: CustomFieldDefinition[]; onSaved: (contact: Contact) => void; onCancel: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const input = contactInputFromForm(new FormData(event.currentTarget), fields, contact);
    // Empty optional fields are left out (the API rejects empty strings); tags are always sent so
    // removing the last one works.
    const patch: Partial<ContactInput> = { ...input, tags: input.tags ?? [] };
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      onSaved(await api.contacts.update(contact.id, patch));
    } catch (caught) {
      const byField = fieldErrors(caught);
      if (caught instanceof ApiError && caught.code === 'CONTACT_EMAIL_EXISTS') byField.email = caught.message;
      setErrors(byField);
      setError(errorMessage(caught));
      setBusy(false);
    }
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="edit-contact-title" noValidate>
      <h2 id="edit-contact-title">Edit contact</h2>
      {error ? <Alert>{error}</Alert> : null}
      <ContactFields errors={errors} initial={contact} fields={fields} />
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The contact's state in each subscription topic; people with contacts:write change it. */
function ContactTopics({ contactId }: { contactId: string }) {
  const can = useCan();
  const [loaded, reload] = useLoad(() => api.contacts.topics(contactId), [contactId]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  // The checkbox follows the click at once; the server's answer then replaces the list.
  const [shown, setShown] = useState<ContactTopic[]>();
  const topics = shown ?? (loaded.status === 'ready' ? loaded.data.topics : []);
  const toggle = async (topic: ContactTopic) => {
    setBusy(topic.id);
    setError(undefined);
    setShown(topics.map((t) => (t.id === topic.id ? { ...t, subscribed: !topic.subscribed } : t)));
    try {
      const result = await api.contacts.setTopics(contactId, [{ topicId: topic.id, subscribed: !topic.subscribed }]);
      setShown(result.topics);
    } catch (caught) {
      setError(errorMessage(caught));
      setShown(undefined);
      await reload();
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div className="panel" aria-labelledby="contact-topics-title">
      <h2 id="contact-topics-title">Subscription topics</h2>
      {error ? <Alert>{error}</Alert> : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' && topics.length === 0 ? <p className="muted small">The workspace has no subscription topics.</p> : null}
      {loaded.status === 'ready' && topics.length > 0 ? (
        <ul className="plain-list" aria-label="Subscription topics">
          {topics.map((topic) => (
            <li key={topic.id}>
              <label className="checkbox">
                <input type="checkbox" checked={topic.subscribed} disabled={!can('contacts:write') || busy === topic.id} onChange={() => void toggle(topic)} /> {topic.name}
                {topic.isDefault ? ' (default)' : ''}
              </label>
              {topic.optedOutAt ? (
                <span className="muted small">
                  {' '}
                  — opted out {formatDate(topic.optedOutAt)}
                  {topic.source ? ` via ${topic.source.replace('_', ' ')}` : ''}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Finds a duplicate by name or email and merges it into the contact on the page. */
function MergeDuplicate({ contact, onMerged, onCancel }: { contact: Contact; onMerged: (duplicate: Contact) => void; onCancel: () => void }) {
  const [search, setSearch] = useState('');
  const [found, setFound] = useState<Contact[]>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const find = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (search.trim() === '') return;
    setError(undefined);
    try {
      const page = await api.contacts.list({ search: search.trim(), limit: 6 });
      setFound(page.contacts.filter((c) => c.id !== contact.id).slice(0, 5));
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  const merge = async (duplicate: Contact) => {
    if (!window.confirm(`Merge ${duplicate.email} into ${contact.email}? Its history moves here and it is deleted.`)) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.contacts.merge(contact.id, duplicate.id);
      onMerged(duplicate);
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  };
  return (
    <div className="panel stack" role="region" aria-labelledby="merge-title">
      <h2 id="merge-title">Merge a duplicate into this contact</h2>
      <p className="muted small">This contact's values win; the duplicate fills its empty fields and brings its tags, events, emails, segments and campaigns, then is deleted.</p>
      {error ? <Alert>{error}</Alert> : null}
      <form className="row align-end wrap" onSubmit={(event) => void find(event)} aria-label="Find a duplicate" noValidate>
        <div className="field grow">
          <label htmlFor="merge-search">Name or email of the duplicate</label>
          <input id="merge-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} autoComplete="off" />
        </div>
        <button type="submit" className="button">
          Find
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </form>
      {found ? (
        found.length === 0 ? (
          <p className="muted">No other contact matches.</p>
        ) : (
          <ul className="plain-list" aria-label="Possible duplicates">
            {found.map((candidate) => (
              <li key={candidate.id} className="row">
                <span className="grow">
                  {contactName(candidate)} <span className="muted small">{candidate.email}</span>
                </span>
                <button type="button" className="button small" disabled={busy} onClick={() => void merge(candidate)} aria-label={`Merge ${candidate.email}`}>
                  Merge
                </button>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </div>
  );
}

/** An erased contact keeps its id and counts; its address is replaced (docs/contacts.md, Erasure). */
const isErased = (contact: Contact): boolean => contact.email.endsWith('@erased.invalid');

export function ContactPage({ contactId }: { contactId: string }) {
  const can = useCan();
  const [loaded, reload] = useLoad(() => api.contacts.get(contactId), [contactId]);
  const fields = useCustomFields();
  const [editing, setEditing] = useState(false);
  const [merging, setMerging] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  if (loaded.status === 'loading') return <Spinner />;
  if (loaded.status === 'error') {
    return (
      <section>
        <p>
          <Link to="/contacts">← Contacts</Link>
        </p>
        <Alert>{loaded.message}</Alert>
      </section>
    );
  }
  const contact = loaded.data;

  const remove = async () => {
    if (!window.confirm(`Delete ${contact.email}? Its timeline goes with it.`)) return;
    try {
      await api.contacts.remove(contact.id);
      navigate('/contacts');
    } catch (error) {
      setActionError(errorMessage(error));
    }
  };

  const erase = async () => {
    if (!window.confirm(`Erase the personal data of ${contact.email}? Name, email, fields, tags and the content of its events and emails are removed for good; counts stay. This cannot be undone.`)) return;
    setActionError(undefined);
    try {
      await api.contacts.erase(contact.id);
      setNotice('Personal data erased.');
      await reload();
    } catch (error) {
      setActionError(errorMessage(error));
    }
  };
  const erased = isErased(contact);

  const details: Array<[string, string]> = [
    ['Email', contact.email],
    ['Company', contact.company ?? '—'],
    ['Job title', contact.jobTitle ?? '—'],
    ['Phone', contact.phone ?? '—'],
    ['Time zone', contact.timezone ?? '—'],
    ['Subscription', contact.subscriptionState],
    ['Last activity', contact.lastActivityAt ? formatDate(contact.lastActivityAt) : 'None yet'],
    ['Created', formatDate(contact.createdAt)],
    ['Updated', formatDate(contact.updatedAt)],
  ];
  const customFields = Object.entries(contact.customFields ?? {});

  return (
    <section>
      <p className="crumbs">
        <Link to="/contacts">← Contacts</Link>
      </p>
      <PageHeader title={contactName(contact)}>
        <Badge tone={contact.status}>{contact.status}</Badge>
        {erased ? <Badge tone="archived">erased</Badge> : null}
        {can('contacts:write') && !editing && !erased ? (
          <>
            <button type="button" className="button" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" className="button" onClick={() => setMerging((open) => !open)} aria-expanded={merging}>
              Merge a duplicate
            </button>
            <button type="button" className="button danger" onClick={() => void erase()}>
              Erase personal data
            </button>
          </>
        ) : null}
        {can('contacts:write') && !editing ? (
          <button type="button" className="button danger" onClick={() => void remove()}>
            Delete
          </button>
        ) : null}
      </PageHeader>
      {actionError ? <Alert>{actionError}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      {merging ? (
        <MergeDuplicate
          contact={contact}
          onMerged={(duplicate) => {
            setMerging(false);
            setNotice(`Merged ${duplicate.email} into this contact.`);
            void reload();
          }}
          onCancel={() => setMerging(false)}
        />
      ) : null}
      {editing ? (
        <EditContact
          contact={contact}
          fields={fields}
          onSaved={() => {
            setEditing(false);
            void reload();
          }}
          onCancel={() => setEditing(false)}
        />
      ) : null}
      <div className="two-columns">
        <div className="stack">
          <div className="panel">
            <h2>Details</h2>
            <dl className="details">
              {details.map(([label, value]) => (
                <div key={label}>
                  <dt>{label}</dt>
                  <dd className="break">{value}</dd>
                </div>
              ))}
              {customFields.map(([key, value]) => {
                const declared = fields.find((f) => f.key === key);
                return (
                  <div key={`custom-${key}`}>
                    <dt>{declared?.label ?? key}</dt>
                    <dd className="break">{declared?.type === 'boolean' && typeof value === 'boolean' ? (value ? 'Yes' : 'No') : formatValue(value)}</dd>
                  </div>
                );
              })}
            </dl>
            <h3>Tags</h3>
            {contact.tags.length > 0 ? (
              <span className="tags">
                {contact.tags.map((tag) => (
                  <span key={tag} className="tag">
                    {tag}
                  </span>
                ))}
              </span>
            ) : (
              <p className="muted small">No tags.</p>
            )}
          </div>
          <ScoreCard contact={contact} />
          <ContactTopics contactId={contact.id} />
        </div>
        <div className="panel">
          <h2>Timeline</h2>
          <Timeline contactId={contact.id} />
        </div>
      </div>
    </section>
  );
}
