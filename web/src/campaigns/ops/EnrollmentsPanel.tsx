/**
 * The contacts in a campaign: enrollments filtered by status or step, a contact's journey with
 * timestamps (explained, and handed to the canvas as an overlay), and exiting enrollments in bulk
 * — the selected ones, everyone at a step, or everyone.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignDefinition } from '../../api';
import { contactName } from '../../format';
import { errorMessage } from '../../http';
import { Link } from '../../router';
import { Alert, Badge, Spinner } from '../../ui';
import { overlayOf } from './explain';
import { keys, opsApi, type EnrollmentFilter, type EnrollmentSummary } from './ops-api';
import type { CanvasOverlay } from '../overlay';
import { PathList } from './PathList';

const STATUSES: Array<[EnrollmentFilter['status'] | '', string]> = [
  ['', 'Any status'],
  ['active', 'Running'],
  ['paused', 'Paused'],
  ['failed', 'Failed'],
  ['completed', 'Completed'],
  ['exited', 'Exited'],
];
const RUNNING = new Set(['active', 'paused', 'failed']);

function JourneyView({ campaignId, enrollment, definition, onOverlay, onClose }: { campaignId: string; enrollment: EnrollmentSummary; definition: CampaignDefinition; onOverlay: (overlay: CanvasOverlay | null) => void; onClose: () => void }) {
  const journey = useQuery({ queryKey: keys.journey(campaignId, enrollment.id), queryFn: () => opsApi.journey(campaignId, enrollment.id) });
  const who = enrollment.contactName ?? enrollment.contactEmail;
  const overlay = journey.data ? overlayOf(`Journey of ${who}`, journey.data.steps, definition, RUNNING.has(journey.data.enrollment.status) ? journey.data.enrollment.currentNodeId : undefined) : null;
  useEffect(() => {
    onOverlay(overlay);
    // The overlay is derived from the loaded journey: handed over when that changes.
  }, [journey.data]);
  useEffect(() => () => onOverlay(null), [onOverlay]);
  return (
    <section className="panel stack" aria-labelledby="journey-title">
      <h3 id="journey-title">
        Journey of{' '}
        <Link className="text-link" to={`/contacts/${enrollment.contactId}`}>
          {who}
        </Link>
      </h3>
      {journey.isPending ? <Spinner label="Loading the journey…" /> : null}
      {journey.isError ? <Alert>{errorMessage(journey.error)}</Alert> : null}
      {journey.data && overlay ? (
        <>
          <p className="small">
            Entered {new Date(journey.data.enrollment.enrolledAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })} on version {journey.data.enrollment.version} · <Badge tone={journey.data.enrollment.status}>{journey.data.enrollment.status}</Badge>
            {journey.data.enrollment.status === 'active' ? ` · next step ${new Date(journey.data.enrollment.nextRunAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}` : ''}
            {journey.data.enrollment.lastError ? ` · ${journey.data.enrollment.lastError}` : ''}
          </p>
          {overlay.steps.length === 0 && !overlay.currentNodeId ? <p className="muted">No steps yet.</p> : <PathList overlay={overlay} definition={definition} label={`Journey of ${who}`} />}
        </>
      ) : null}
      <button type="button" className="button ghost small" onClick={onClose}>
        Close journey
      </button>
    </section>
  );
}

/** Narrows the list to one contact, found by name or email. */
function ContactFinder({ contactId, onChange }: { contactId: string | undefined; onChange: (contactId: string | undefined) => void }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  const contacts = useQuery({ queryKey: ['contacts', 'pick', query], queryFn: () => api.contacts.list({ limit: 20, search: query }), enabled: query !== '' });
  return (
    <>
      <div className="field">
        <label htmlFor="enrollments-search">Find a contact</label>
        <input id="enrollments-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="Name or email" />
      </div>
      <div className="field">
        <label htmlFor="enrollments-contact">Contact</label>
        <select id="enrollments-contact" value={contactId ?? ''} onChange={(event) => onChange(event.target.value || undefined)}>
          <option value="">Everyone</option>
          {(contacts.data?.contacts ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {contactName(c)} ({c.email})
            </option>
          ))}
        </select>
      </div>
    </>
  );
}

export function EnrollmentsPanel({ campaignId, definition, editable, onOverlay, onChanged }: { campaignId: string; definition: CampaignDefinition; editable: boolean; onOverlay: (overlay: CanvasOverlay | null) => void; onChanged: () => void }) {
  const client = useQueryClient();
  const [filter, setFilter] = useState<EnrollmentFilter>({ limit: 100 });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<EnrollmentSummary>();
  const [confirm, setConfirm] = useState<'selected' | 'node' | 'all'>();
  const list = useQuery({ queryKey: keys.enrollments(campaignId, filter), queryFn: () => opsApi.enrollments(campaignId, filter) });
  const nameOf = (id: string) => definition.nodes.find((n) => n.id === id)?.name || id;
  const exit = useMutation({
    mutationFn: (what: 'selected' | 'node' | 'all') =>
      opsApi.exit(campaignId, what === 'selected' ? { enrollmentIds: [...selected] } : what === 'node' ? { nodeId: filter.nodeId! } : { all: true }),
    onSuccess: () => {
      setSelected(new Set());
      setConfirm(undefined);
      void client.invalidateQueries({ queryKey: keys.campaign(campaignId) });
      onChanged();
    },
  });
  const rows = list.data?.enrollments ?? [];
  return (
    <div className="stack">
      <div className="row">
        <ContactFinder contactId={filter.contactId} onChange={(contactId) => setFilter({ ...filter, contactId })} />
        <div className="field">
          <label htmlFor="enrollments-status">Status</label>
          <select id="enrollments-status" value={filter.status ?? ''} onChange={(event) => setFilter({ ...filter, status: (event.target.value || undefined) as EnrollmentFilter['status'] })}>
            {STATUSES.map(([value, label]) => (
              <option key={label} value={value ?? ''}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="enrollments-node">At step</label>
          <select id="enrollments-node" value={filter.nodeId ?? ''} onChange={(event) => setFilter({ ...filter, nodeId: event.target.value || undefined })}>
            <option value="">Any step</option>
            {definition.nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name || n.id}
              </option>
            ))}
          </select>
        </div>
      </div>
      {exit.isError ? <Alert>{errorMessage(exit.error)}</Alert> : null}
      {exit.isSuccess ? <Alert kind="success">{`${exit.data.exited} enrollment${exit.data.exited === 1 ? '' : 's'} exited.`}</Alert> : null}
      {editable ? (
        <div className="row" role="group" aria-label="Exit enrollments">
          <button type="button" className="button small" disabled={selected.size === 0 || exit.isPending} onClick={() => setConfirm('selected')}>
            Exit selected ({selected.size})
          </button>
          <button type="button" className="button small" disabled={!filter.nodeId || exit.isPending} onClick={() => setConfirm('node')} title={filter.nodeId ? undefined : 'Choose a step above first'}>
            Exit everyone at this step
          </button>
          <button type="button" className="button small ghost" disabled={exit.isPending} onClick={() => setConfirm('all')}>
            Exit everyone
          </button>
        </div>
      ) : null}
      {confirm ? (
        <Alert kind="info">
          {confirm === 'selected' ? `Exit ${selected.size} selected contact${selected.size === 1 ? '' : 's'}?` : confirm === 'node' ? `Exit everyone running at “${nameOf(filter.nodeId!)}”?` : 'Exit everyone running in this campaign?'} They get no further
          steps.{' '}
          <button type="button" className="button danger small" disabled={exit.isPending} onClick={() => exit.mutate(confirm)}>
            Exit them
          </button>{' '}
          <button type="button" className="button ghost small" onClick={() => setConfirm(undefined)}>
            Cancel
          </button>
        </Alert>
      ) : null}
      {list.isPending ? <Spinner label="Loading enrollments…" /> : null}
      {list.isError ? <Alert>{errorMessage(list.error)}</Alert> : null}
      {list.isSuccess && rows.length === 0 ? (
        <div className="empty">{filter.contactId ? 'This contact has no journey here that matches: they were never enrolled, or choose another status or step.' : 'No contacts here yet. Enroll contacts, or wait for the trigger to bring them in.'}</div>
      ) : null}
      {rows.length > 0 ? (
        <table className="table">
          <caption className="visually-hidden">Enrollments ({list.data?.total})</caption>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Contact</th>
              <th scope="col">Status</th>
              <th scope="col">Step</th>
              <th scope="col">Entered</th>
              <th scope="col">
                <span className="visually-hidden">Journey</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <td>
                  {RUNNING.has(e.status) ? (
                    <input
                      type="checkbox"
                      aria-label={`Select ${e.contactName ?? e.contactEmail}`}
                      checked={selected.has(e.id)}
                      onChange={() =>
                        setSelected((previous) => {
                          const next = new Set(previous);
                          if (next.has(e.id)) next.delete(e.id);
                          else next.add(e.id);
                          return next;
                        })
                      }
                    />
                  ) : null}
                </td>
                <td>
                  {e.contactName ?? e.contactEmail}
                  {e.contactName ? <div className="muted small">{e.contactEmail}</div> : null}
                </td>
                <td>
                  <Badge tone={e.status}>{e.status}</Badge>
                  {e.exitReason ? <div className="muted small">{e.exitReason}</div> : null}
                </td>
                <td>{nameOf(e.currentNodeId)}</td>
                <td>
                  <time dateTime={e.enrolledAt}>{new Date(e.enrolledAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}</time>
                </td>
                <td>
                  <button type="button" className="button small" onClick={() => setOpen(e)} aria-label={`Show the journey of ${e.contactName ?? e.contactEmail}`}>
                    Journey
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {list.data && list.data.total > rows.length ? <p className="muted small">Showing the newest {rows.length} of {list.data.total}; filter by status or step to narrow down.</p> : null}
      {open ? <JourneyView key={open.id} campaignId={campaignId} enrollment={open} definition={definition} onOverlay={onOverlay} onClose={() => setOpen(undefined)} /> : null}
    </div>
  );
}
