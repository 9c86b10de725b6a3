/**
 * Enrolling contacts into a running campaign, three ways: a whole segment, a filtered contact list
 * (tag, status, score), or contacts picked one by one. Segment and filter show how many contacts
 * match and how many can enter now before anything is confirmed.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, type ContactStatus } from '../../api';
import { errorMessage } from '../../http';
import { contactName } from '../../format';
import { Link } from '../../router';
import { Alert, Spinner } from '../../ui';
import { opsApi, useSegments, type Audience } from './ops-api';

type Mode = 'segment' | 'filter' | 'contacts';
type Filter = NonNullable<Audience['filter']>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function AudienceCount({ campaignId, audience }: { campaignId: string; audience: Audience | null }) {
  const count = useQuery({ queryKey: ['campaign', campaignId, 'audience', audience], queryFn: () => opsApi.enrollAudience(campaignId, { ...audience!, dryRun: true }), enabled: audience !== null, staleTime: 0 });
  if (!audience) return null;
  if (count.isPending) return <Spinner label="Counting contacts…" />;
  if (count.isError) return <Alert>{errorMessage(count.error)}</Alert>;
  const { matched, eligible } = count.data;
  return (
    <p role="status" data-testid="audience-count">
      <strong>{plural(matched, 'contact')}</strong> match{matched === 1 ? 'es' : ''}; <strong>{eligible}</strong> can enter now
      {matched > eligible ? ` (${matched - eligible} already in the campaign or held back by the re-entry rule)` : ''}.
    </p>
  );
}

function ContactPicker({ selected, onToggle }: { selected: Set<string>; onToggle: (id: string) => void }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  const contacts = useQuery({ queryKey: ['contacts', 'pick', query], queryFn: () => api.contacts.list({ limit: 50, search: query }) });
  const list = contacts.data?.contacts ?? [];
  return (
    <>
      <div className="field">
        <label htmlFor="enroll-search">Find contacts</label>
        <input id="enroll-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="Name, email or company" />
      </div>
      {contacts.isPending ? <Spinner /> : null}
      {contacts.isError ? <Alert>{errorMessage(contacts.error)}</Alert> : null}
      {contacts.isSuccess && list.length === 0 ? <p className="muted">No contact matches.</p> : null}
      {list.length > 0 ? (
        <ul className="checklist">
          {list.map((contact) => (
            <li key={contact.id}>
              <label>
                <input type="checkbox" checked={selected.has(contact.id)} onChange={() => onToggle(contact.id)} /> {contactName(contact)} <span className="muted small">{contact.email}</span>
              </label>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

export function EnrollPanel({ campaignId, onDone, onCancel }: { campaignId: string; onDone: (message: string) => void; onCancel: () => void }) {
  const [mode, setMode] = useState<Mode>('segment');
  const [segmentId, setSegmentId] = useState('');
  const [filter, setFilter] = useState<Partial<Filter>>({});
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const segments = useSegments();
  const cleanFilter = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as Filter;
  const audience: Audience | null = mode === 'segment' ? (segmentId ? { segmentId } : null) : mode === 'filter' ? (Object.keys(cleanFilter).length > 0 ? { filter: cleanFilter } : null) : null;
  const enroll = useMutation({
    mutationFn: async () => {
      if (mode === 'contacts') {
        const answer = await api.campaigns.enroll(campaignId, [...selected]);
        return answer.results.filter((r) => r.status === 'enrolled').length;
      }
      return (await opsApi.enrollAudience(campaignId, audience!)).enrolled;
    },
    onSuccess: (enrolled) => onDone(`Enrolled ${plural(enrolled, 'contact')}.`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    enroll.mutate();
  };
  const ready = mode === 'contacts' ? selected.size > 0 : audience !== null;
  const tabs: Array<[Mode, string]> = [
    ['segment', 'A segment'],
    ['filter', 'Filtered contacts'],
    ['contacts', 'Pick contacts'],
  ];
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="enroll-title">
      <h2 id="enroll-title">Enroll contacts</h2>
      <div className="tabs" role="radiogroup" aria-label="Who to enroll">
        {tabs.map(([value, label]) => (
          <button key={value} type="button" role="radio" aria-checked={mode === value} className={`tab${mode === value ? ' active' : ''}`} onClick={() => setMode(value)}>
            {label}
          </button>
        ))}
      </div>
      {enroll.isError ? <Alert>{errorMessage(enroll.error)}</Alert> : null}
      {mode === 'segment' ? (
        <div className="field">
          <label htmlFor="enroll-segment">Segment</label>
          <select id="enroll-segment" value={segmentId} onChange={(event) => setSegmentId(event.target.value)}>
            <option value="">{segments.isPending ? 'Loading segments…' : 'Choose a segment'}</option>
            {(segments.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({plural(s.memberCount, 'member')})
              </option>
            ))}
          </select>
          {segments.isSuccess && segments.data.length === 0 ? (
            <p className="muted small">
              No segments yet. <Link to="/segments">Create one</Link>.
            </p>
          ) : null}
        </div>
      ) : null}
      {mode === 'filter' ? (
        <div className="row">
          <div className="field">
            <label htmlFor="enroll-tag">Tag</label>
            <input id="enroll-tag" value={filter.tag ?? ''} onChange={(event) => setFilter({ ...filter, tag: event.target.value.trim() || undefined })} />
          </div>
          <div className="field">
            <label htmlFor="enroll-status">Status</label>
            <select id="enroll-status" value={filter.status ?? ''} onChange={(event) => setFilter({ ...filter, status: (event.target.value || undefined) as ContactStatus | undefined })}>
              <option value="">Any</option>
              <option value="prospect">Prospect</option>
              <option value="lead">Lead</option>
              <option value="customer">Customer</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="enroll-min-score">Score at least</label>
            <input id="enroll-min-score" type="number" min={0} max={100} value={filter.minScore ?? ''} onChange={(event) => setFilter({ ...filter, minScore: event.target.value === '' ? undefined : Number(event.target.value) })} />
          </div>
          <div className="field">
            <label htmlFor="enroll-max-score">Score at most</label>
            <input id="enroll-max-score" type="number" min={0} max={100} value={filter.maxScore ?? ''} onChange={(event) => setFilter({ ...filter, maxScore: event.target.value === '' ? undefined : Number(event.target.value) })} />
          </div>
        </div>
      ) : null}
      {mode === 'contacts' ? (
        <ContactPicker
          selected={selected}
          onToggle={(id) =>
            setSelected((previous) => {
              const next = new Set(previous);
              if (next.has(id)) next.delete(id);
              else next.add(id);
              return next;
            })
          }
        />
      ) : (
        <AudienceCount campaignId={campaignId} audience={audience} />
      )}
      <div className="row">
        <button type="submit" className="button primary" disabled={enroll.isPending || !ready}>
          {enroll.isPending ? 'Enrolling…' : mode === 'contacts' ? `Enroll ${selected.size || ''}`.trim() : 'Enroll them'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
