/**
 * Settings → Activity: the workspace's audit log as sentences people read ("Ada changed the
 * subject of template 'Welcome'"), each with who and when, a before/after view of what it changed,
 * and filters by person (or API keys, or Unite Hub itself), by what changed and by date range.
 */
import { Fragment, useState, type FormEvent } from 'react';
import type { AuditFilters } from '@server/identity/audit.schemas.js';
import { api, errorMessage, type AuditEntry } from '../api';
import { Alert, formatDate, Spinner, useLoad } from '../ui';
import { Link } from '../router';
import { auditParts, auditSentence, changesOf, ENTITIES, formatValue } from './sentences';

const AUDIT_PAGE = 50;

interface Filters {
  actor: string;
  entity: string;
  fromDate: string;
  toDate: string;
}
const NO_FILTERS: Filters = { actor: '', entity: '', fromDate: '', toDate: '' };

/** The API's filter parameters for the form's values: dates are whole local days (to is inclusive). */
function toQuery(filters: Filters): AuditFilters {
  const [kind, id] = filters.actor.split(':') as [string, string | undefined];
  const dayAfter = (date: string) => {
    const day = new Date(`${date}T00:00`);
    day.setDate(day.getDate() + 1);
    return day.toISOString();
  };
  return {
    actorType: kind === 'user' || kind === 'api_key' || kind === 'system' ? (kind as AuditFilters['actorType']) : undefined,
    actorId: kind === 'user' && id ? id : undefined,
    entity: filters.entity || undefined,
    from: filters.fromDate ? new Date(`${filters.fromDate}T00:00`).toISOString() : undefined,
    to: filters.toDate ? dayAfter(filters.toDate) : undefined,
  };
}

function Diff({ entry }: { entry: AuditEntry }) {
  const changes = changesOf(entry);
  if (changes.length === 0) return null;
  return (
    <details className="small">
      <summary>
        What changed ({changes.length} field{changes.length === 1 ? '' : 's'})
      </summary>
      <table className="table compact-rows diff" aria-label={`Changes: ${auditSentence(entry)}`}>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((change) => (
            <tr key={change.field}>
              <th scope="row">{change.label}</th>
              <td className="break diff-before">{formatValue(change.before)}</td>
              <td className="break diff-after">{formatValue(change.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function FilterForm({ onApply }: { onApply: (filters: Filters) => void }) {
  const [members] = useLoad(() => api.members.list(), []);
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const set = (key: keyof Filters) => (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    onApply(draft);
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter the activity">
      <div className="field">
        <label htmlFor="activity-actor">Who</label>
        <select id="activity-actor" value={draft.actor} onChange={set('actor')}>
          <option value="">Anyone</option>
          {members.status === 'ready'
            ? members.data.members.map((member) => (
                <option key={member.userId} value={`user:${member.userId}`}>
                  {member.name}
                </option>
              ))
            : null}
          <option value="api_key">Any API key</option>
          <option value="system">Unite Hub (automatic)</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="activity-entity">What</label>
        <select id="activity-entity" value={draft.entity} onChange={set('entity')}>
          <option value="">Everything</option>
          {ENTITIES.map((entity) => (
            <option key={entity.value} value={entity.value}>
              {entity.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="activity-from">From</label>
        <input id="activity-from" type="date" value={draft.fromDate} onChange={set('fromDate')} />
      </div>
      <div className="field">
        <label htmlFor="activity-to">To</label>
        <input id="activity-to" type="date" value={draft.toDate} min={draft.fromDate || undefined} onChange={set('toDate')} />
      </div>
      <div className="row">
        <button type="submit" className="button">
          Show
        </button>
        <button
          type="button"
          className="button"
          onClick={() => {
            setDraft(NO_FILTERS);
            onApply(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

export function ActivityLog() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState<boolean>();
  const [error, setError] = useState<string>();
  const [loaded] = useLoad(async () => {
    const page = await api.auditLog.list({ limit: AUDIT_PAGE, ...toQuery(filters) });
    setEntries(page.entries);
    setMore(undefined);
    return page.entries.length === AUDIT_PAGE;
  }, [filters]);
  const hasMore = more ?? (loaded.status === 'ready' && loaded.data);
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);

  const loadOlder = async () => {
    const last = entries[entries.length - 1];
    if (!last) return;
    try {
      const page = await api.auditLog.list({ limit: AUDIT_PAGE, before: last.id, ...toQuery(filters) });
      setEntries((previous) => [...previous, ...page.entries]);
      setMore(page.entries.length === AUDIT_PAGE);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  return (
    <section className="panel stack" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <p className="muted small">Every change in this workspace: who made it, when, and what it changed.</p>
      <FilterForm onApply={setFilters} />
      {loaded.status === 'loading' ? <Spinner label="Loading the activity…" /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {error ? <Alert>{error}</Alert> : null}
      {loaded.status === 'ready' && entries.length === 0 ? (
        <p className="muted">{filtered ? 'Nothing matches these filters. Clear them to see all activity.' : 'Nothing recorded yet. Changes people make in this workspace appear here.'}</p>
      ) : null}
      {entries.length > 0 ? (
        <ol className="activity" aria-label="Activity">
          {entries.map((entry) => (
            <li key={entry.id} className="activity-item">
              <p>
                {auditParts(entry).map((part, index) =>
                  part.href ? (
                    <Link key={index} to={part.href}>
                      {part.text}
                    </Link>
                  ) : (
                    <Fragment key={index}>{part.text}</Fragment>
                  ),
                )}
                .
              </p>
              <p className="muted small">
                <time dateTime={entry.createdAt}>{formatDate(entry.createdAt)}</time>
                {entry.actorType === 'api_key' ? ' · with an API key' : null}
              </p>
              <Diff entry={entry} />
            </li>
          ))}
        </ol>
      ) : null}
      {hasMore ? (
        <div className="load-more">
          <button type="button" className="button" onClick={() => void loadOlder()}>
            Older entries
          </button>
        </div>
      ) : null}
    </section>
  );
}
