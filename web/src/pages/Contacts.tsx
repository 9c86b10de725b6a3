/** Contacts: search; status, tag, activity, score-band and custom-field filters; "load more" pages; the add-contact form. */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, CONTACT_STATUSES, errorMessage, fieldErrors, type Contact, type ContactInput, type ContactStatus, type CustomFieldDefinition } from '../api';
import { CustomFieldInputs, customFieldsFromForm, inputTypeOf, useCustomFields, YesNoOptions } from '../contacts/customFields';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { contactName, HOT_SCORE, parseTags, scoreTone, WARM_SCORE } from '../format';
import { Alert, Badge, Field, formatDate, PageHeader, Spinner } from '../ui';

const PAGE_SIZE = 50;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

interface ListState {
  contacts: Contact[];
  nextCursor: string | null;
  loading: boolean;
  error?: string;
}

/** The activity filter's choices: `active-N` (acted in the last N days) and `inactive-N` (not). */
const ACTIVITY_FILTERS: Array<[string, string]> = [
  ['active-7', 'Active in the last 7 days'],
  ['active-30', 'Active in the last 30 days'],
  ['active-90', 'Active in the last 90 days'],
  ['inactive-30', 'Not active for 30 days'],
  ['inactive-90', 'Not active for 90 days'],
];

function activityFilter(choice: string): { activeSince?: string; inactiveSince?: string } {
  const match = /^(active|inactive)-(\d+)$/.exec(choice);
  if (!match) return {};
  const since = new Date(Date.now() - Number(match[2]) * 86_400_000).toISOString();
  return match[1] === 'active' ? { activeSince: since } : { inactiveSince: since };
}

/** The score filter's choices, by the bands scoreTone names. */
const SCORE_FILTERS: Array<[string, string, { minScore?: number; maxScore?: number }]> = [
  ['hot', `Hot (${HOT_SCORE}–100)`, { minScore: HOT_SCORE }],
  ['warm', `Warm (${WARM_SCORE}–${HOT_SCORE - 1})`, { minScore: WARM_SCORE, maxScore: HOT_SCORE - 1 }],
  ['warm-hot', `Warm or hot (${WARM_SCORE}+)`, { minScore: WARM_SCORE }],
  ['cold', `Cold (under ${WARM_SCORE})`, { maxScore: WARM_SCORE - 1 }],
];

export function ContactsPage() {
  const can = useCan();
  const fields = useCustomFields();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [tag, setTag] = useState('');
  const [activity, setActivity] = useState('');
  const [score, setScore] = useState('');
  const [fieldKey, setFieldKey] = useState('');
  const [fieldValue, setFieldValue] = useState('');
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [list, setList] = useState<ListState>({ contacts: [], nextCursor: null, loading: true });
  const debouncedSearch = useDebounced(search.trim(), 250);
  const debouncedTag = useDebounced(tag.trim(), 250);
  const debouncedFieldValue = useDebounced(fieldValue.trim(), 250);
  // Cleared at once when the field changes (the debounced value lags behind).
  const fieldFilterValue = fieldKey === '' || fieldValue.trim() === '' ? '' : debouncedFieldValue;

  // The filters' current request; a page from an older filter (a late "load more") is dropped.
  const current = useRef<{ cancelled: boolean }>({ cancelled: false });

  const load = useCallback(
    async (cursor: string | undefined, signal: { cancelled: boolean }) => {
      setList((previous) => ({ ...previous, loading: true, error: undefined }));
      try {
        const page = await api.contacts.list({
          limit: PAGE_SIZE,
          cursor,
          search: debouncedSearch,
          status,
          tag: debouncedTag,
          ...activityFilter(activity),
          ...SCORE_FILTERS.find(([value]) => value === score)?.[2],
          customFields: fieldFilterValue ? { [fieldKey]: fieldFilterValue } : undefined,
        });
        if (signal.cancelled) return;
        setList((previous) => ({
          contacts: cursor ? [...previous.contacts, ...page.contacts] : page.contacts,
          nextCursor: page.nextCursor,
          loading: false,
        }));
      } catch (error) {
        if (!signal.cancelled) setList((previous) => ({ ...previous, loading: false, error: errorMessage(error) }));
      }
    },
    [debouncedSearch, status, debouncedTag, activity, score, fieldKey, fieldFilterValue],
  );

  useEffect(() => {
    const signal = { cancelled: false };
    current.current = signal;
    void load(undefined, signal);
    return () => {
      signal.cancelled = true;
    };
  }, [load]);

  const filtered = debouncedSearch !== '' || status !== '' || debouncedTag !== '' || activity !== '' || score !== '' || fieldFilterValue !== '';
  const filterField = fields.find((f) => f.key === fieldKey);

  return (
    <section>
      <PageHeader title="Contacts">
        {can('contacts:write') ? (
          <Link to="/contacts/import" className="button">
            Import CSV
          </Link>
        ) : null}
        {can('contacts:write') ? (
          <button type="button" className="button primary" onClick={() => setAdding((open) => !open)} aria-expanded={adding}>
            {adding ? 'Close form' : 'Add contact'}
          </button>
        ) : null}
      </PageHeader>

      {notice ? <Alert kind="success">{notice}</Alert> : null}

      {adding ? (
        <AddContactForm
          fields={fields}
          onCreated={(contact) => {
            setAdding(false);
            setNotice(`Added ${contact.email}.`);
            setList((previous) => ({ ...previous, contacts: [contact, ...previous.contacts.filter((c) => c.id !== contact.id)] }));
          }}
          onCancel={() => setAdding(false)}
        />
      ) : null}

      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <div className="field grow">
          <label htmlFor="contact-search">Search</label>
          <input id="contact-search" type="search" placeholder="Name, email or company" value={search} onChange={(event) => setSearch(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="contact-status">Status</label>
          <select id="contact-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">All statuses</option>
            {CONTACT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="contact-tag">Tag</label>
          <input id="contact-tag" placeholder="e.g. webinar" value={tag} onChange={(event) => setTag(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="contact-activity">Activity</label>
          <select id="contact-activity" value={activity} onChange={(event) => setActivity(event.target.value)}>
            <option value="">Any activity</option>
            {ACTIVITY_FILTERS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="contact-score">Lead score</label>
          <select id="contact-score" value={score} onChange={(event) => setScore(event.target.value)}>
            <option value="">Any score</option>
            {SCORE_FILTERS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        {fields.length > 0 ? (
          <div className="field">
            <label htmlFor="contact-field">Custom field</label>
            <select
              id="contact-field"
              value={fieldKey}
              onChange={(event) => {
                setFieldKey(event.target.value);
                setFieldValue('');
              }}
            >
              <option value="">Any field</option>
              {fields.map((field) => (
                <option key={field.key} value={field.key}>
                  {field.label}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {filterField ? (
          <div className="field">
            <label htmlFor="contact-field-value">{filterField.label} is</label>
            {filterField.type === 'boolean' ? (
              <select id="contact-field-value" value={fieldValue} onChange={(event) => setFieldValue(event.target.value)}>
                <YesNoOptions />
              </select>
            ) : (
              <input id="contact-field-value" type={inputTypeOf(filterField.type)} step="any" value={fieldValue} onChange={(event) => setFieldValue(event.target.value)} />
            )}
          </div>
        ) : null}
      </form>

      {list.error ? <Alert>{list.error}</Alert> : null}

      {list.contacts.length === 0 && !list.loading && !list.error ? (
        <div className="empty">{filtered ? 'No contact matches these filters.' : 'No contacts yet. Add the first one, or send them through the API.'}</div>
      ) : null}

      {list.contacts.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Contacts">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="hide-narrow">
                  Email
                </th>
                <th scope="col" className="hide-narrow">
                  Company
                </th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Score
                </th>
                <th scope="col" className="hide-narrow">
                  Tags
                </th>
                <th scope="col" className="hide-narrow">
                  Last active
                </th>
              </tr>
            </thead>
            <tbody>
              {list.contacts.map((contact) => (
                <tr key={contact.id} className="clickable" onClick={() => navigate(`/contacts/${contact.id}`)}>
                  <td>
                    <Link to={`/contacts/${contact.id}`} onClick={(event) => event.stopPropagation()}>
                      {contactName(contact)}
                    </Link>
                    <span className="show-narrow muted small break">{contact.email}</span>
                  </td>
                  <td className="break hide-narrow">{contact.email}</td>
                  <td className="hide-narrow">{contact.company ?? '—'}</td>
                  <td>
                    <Badge tone={contact.status}>{contact.status}</Badge>
                  </td>
                  <td className="num">
                    <Badge tone={scoreTone(contact.score)}>{contact.score}</Badge>
                  </td>
                  <td className="hide-narrow">
                    <span className="tags">
                      {contact.tags.map((t) => (
                        <span key={t} className="tag">
                          {t}
                        </span>
                      ))}
                    </span>
                  </td>
                  <td className="hide-narrow muted small">{contact.lastActivityAt ? formatDate(contact.lastActivityAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {list.loading ? <Spinner label="Loading contacts…" /> : null}
      {list.nextCursor && !list.loading ? (
        <div className="load-more">
          <button type="button" className="button" onClick={() => void load(list.nextCursor ?? undefined, current.current)}>
            Load more
          </button>
        </div>
      ) : null}
    </section>
  );
}

const TEXT_FIELDS: Array<{ name: keyof ContactInput; label: string; type?: string; autoComplete?: string }> = [
  { name: 'firstName', label: 'First name', autoComplete: 'off' },
  { name: 'lastName', label: 'Last name', autoComplete: 'off' },
  { name: 'company', label: 'Company', autoComplete: 'off' },
  { name: 'jobTitle', label: 'Job title', autoComplete: 'off' },
  { name: 'phone', label: 'Phone', type: 'tel', autoComplete: 'off' },
];

/**
 * Reads the contact form into the API's input, leaving out empty optional fields; declared custom
 * fields are typed (and an emptied one clears the key of `before`).
 */
export function contactInputFromForm(form: FormData, fields: CustomFieldDefinition[] = [], before?: Contact): ContactInput {
  const input: ContactInput = { email: String(form.get('email') ?? '').trim() };
  for (const { name } of TEXT_FIELDS) {
    const value = String(form.get(name) ?? '').trim();
    if (value !== '') (input as unknown as Record<string, string>)[name] = value;
  }
  const status = String(form.get('status') ?? '');
  // The select offers CONTACT_STATUSES only.
  if (status !== '') input.status = status as ContactStatus;
  const tags = parseTags(String(form.get('tags') ?? ''));
  if (tags.length > 0) input.tags = tags;
  const customFields = customFieldsFromForm(form, fields, before);
  if (customFields) input.customFields = customFields;
  return input;
}

export function ContactFields({ errors, initial, fields = [] }: { errors: Record<string, string>; initial?: Contact; fields?: CustomFieldDefinition[] }) {
  return (
    <div className="grid-fields">
      <Field label="Email" name="email" type="email" required autoComplete="off" error={errors.email} defaultValue={initial?.email} />
      {TEXT_FIELDS.map((field) => (
        <Field
          key={field.name}
          label={field.label}
          name={field.name}
          type={field.type ?? 'text'}
          autoComplete={field.autoComplete}
          error={errors[field.name]}
          defaultValue={(initial?.[field.name as keyof Contact] as string | null | undefined) ?? ''}
        />
      ))}
      <div className={`field${errors.status ? ' field-invalid' : ''}`}>
        <label htmlFor="field-status">Status</label>
        <select id="field-status" name="status" defaultValue={initial?.status ?? ''} aria-describedby={errors.status ? 'field-status-error' : undefined}>
          {initial ? null : <option value="">Default (prospect)</option>}
          {[...new Set([...CONTACT_STATUSES, ...(initial ? [initial.status] : [])])].map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
        {errors.status ? (
          <p className="field-error" id="field-status-error">
            {errors.status}
          </p>
        ) : null}
      </div>
      <Field label="Tags" name="tags" hint="Separate tags with commas" error={errors.tags} defaultValue={initial?.tags.join(', ') ?? ''} />
      <CustomFieldInputs fields={fields} errors={errors} initial={initial} />
    </div>
  );
}

function AddContactForm({ fields, onCreated, onCancel }: { fields: CustomFieldDefinition[]; onCreated: (contact: Contact) => void; onCancel: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const input = contactInputFromForm(new FormData(event.currentTarget), fields);
    if (input.email === '') {
      setErrors({ email: 'Enter an email address' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      onCreated(await api.contacts.create(input));
    } catch (caught) {
      const byField = fieldErrors(caught);
      if (caught instanceof ApiError && caught.code === 'CONTACT_EMAIL_EXISTS') byField.email = caught.message;
      setErrors(byField);
      setError(errorMessage(caught));
      setBusy(false);
    }
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="add-contact-title" noValidate>
      <h2 id="add-contact-title">New contact</h2>
      {error ? <Alert>{error}</Alert> : null}
      <ContactFields errors={errors} fields={fields} />
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save contact'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
