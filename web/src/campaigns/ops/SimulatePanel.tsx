/**
 * Simulation: run the draft as the builder shows it — unsaved edits included — for a real contact
 * (nothing about them changes) or a described one, with events that happen along the way, time fast-forwarded; shows the path with each
 * decision explained, the emails that would go out and the waits, and hands the path to the
 * canvas as an overlay.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, type CampaignDefinition } from '../../api';
import { errorMessage } from '../../http';
import { contactName, parseTags } from '../../format';
import { Alert } from '../../ui';
import type { CanvasOverlay } from '../overlay';
import { overlayOf } from './explain';
import { opsApi, type Simulation, type SimulationInput } from './ops-api';
import { PathList } from './PathList';

interface PlannedEvent {
  name: string;
  afterHours: string;
}

const STATUS_WORDS: Record<string, string> = { completed: 'finished the campaign', exited: 'left the campaign', active: 'is still waiting when the simulation stops', failed: 'failed', paused: 'is paused' };

function RealContact({ contactId, onChange }: { contactId: string; onChange: (id: string, label: string) => void }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  const contacts = useQuery({ queryKey: ['contacts', 'pick', query], queryFn: () => api.contacts.list({ limit: 20, search: query }) });
  return (
    <div className="row">
      <div className="field">
        <label htmlFor="simulate-search">Find a contact</label>
        <input id="simulate-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="Name or email" />
      </div>
      <div className="field">
        <label htmlFor="simulate-contact">Contact</label>
        <select
          id="simulate-contact"
          value={contactId}
          onChange={(event) => {
            const contact = contacts.data?.contacts.find((c) => c.id === event.target.value);
            onChange(event.target.value, contact ? contactName(contact) : '');
          }}
        >
          <option value="">{contacts.isPending ? 'Loading contacts…' : contacts.data?.contacts.length ? 'Choose a contact' : 'No contact matches'}</option>
          {(contacts.data?.contacts ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {contactName(c)} ({c.email})
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

function Result({ result, definition, label }: { result: Simulation; definition: CampaignDefinition; label: string }) {
  const overlay = overlayOf(label, result.path, definition);
  return (
    <section className="stack" aria-labelledby="simulation-result">
      <h3 id="simulation-result">Result</h3>
      <p role="status">
        The contact {STATUS_WORDS[result.status] ?? result.status}
        {result.exitReason ? ` (${result.exitReason})` : ''} on {new Date(result.endedAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}. {result.emails.length} email
        {result.emails.length === 1 ? '' : 's'} would be sent.
      </p>
      {result.error ? <Alert>{result.error}</Alert> : null}
      <PathList overlay={overlay} definition={definition} label="Simulated path" />
      {result.emails.length > 0 ? (
        <details>
          <summary>Emails that would be sent</summary>
          <ul>
            {result.emails.map((m, index) => (
              <li key={index}>
                “{m.subject}” to {m.to}, {new Date(m.at).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

/** Whether the steps, connections or settings differ (moving a card does not count). */
function contentChanged(a: CampaignDefinition, b: CampaignDefinition): boolean {
  if (a === b) return false;
  const content = (d: CampaignDefinition) => JSON.stringify({ ...d, nodes: d.nodes.map(({ position: _position, ...node }) => node) });
  return content(a) !== content(b);
}

export function SimulatePanel({ campaignId, definition, onOverlay }: { campaignId: string; definition: CampaignDefinition; onOverlay: (overlay: CanvasOverlay | null) => void }) {
  const [who, setWho] = useState<'real' | 'described'>('described');
  const [contactId, setContactId] = useState('');
  const [contactLabel, setContactLabel] = useState('');
  const [described, setDescribed] = useState({ email: '', firstName: '', tags: '', score: '', timezone: '' });
  const [events, setEvents] = useState<PlannedEvent[]>([]);
  const [horizon, setHorizon] = useState('90');
  const [label, setLabel] = useState('');
  // The definition the last run simulated: its path is explained against those steps.
  const [ran, setRan] = useState(definition);
  const simulate = useMutation({
    mutationFn: (input: SimulationInput) => opsApi.simulate(campaignId, input),
    onSuccess: (result, input) => onOverlay(overlayOf(label, result.path, (input.definition as CampaignDefinition | undefined) ?? definition)),
  });
  const changedSince = simulate.data !== undefined && contentChanged(ran, definition);
  useEffect(() => () => onOverlay(null), [onOverlay]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const planned = events.filter((e) => e.name.trim() !== '').map((e) => ({ name: e.name.trim(), afterSeconds: Math.max(0, Math.round(Number(e.afterHours || '0') * 3600)) }));
    const tags = parseTags(described.tags);
    const input: SimulationInput =
      who === 'real'
        ? { contactId }
        : {
            contact: {
              ...(described.email ? { email: described.email } : {}),
              ...(described.firstName ? { firstName: described.firstName } : {}),
              ...(tags.length > 0 ? { tags } : {}),
              ...(described.score !== '' ? { score: Number(described.score) } : {}),
              ...(described.timezone ? { timezone: described.timezone } : {}),
            },
          };
    setLabel(`Simulation for ${who === 'real' ? contactLabel || 'a contact' : described.firstName || described.email || 'a described contact'}`);
    setRan(definition);
    simulate.mutate({ ...input, definition, ...(planned.length > 0 ? { events: planned } : {}), horizonDays: Number(horizon) || 90 });
  };
  return (
    <form className="stack" onSubmit={submit} aria-labelledby="simulate-title">
      <h3 id="simulate-title">Simulate a contact</h3>
      <p className="muted small">Runs the draft as shown on the canvas, changes not saved yet included, with time fast-forwarded. Nothing is stored or sent.</p>
      <fieldset>
        <legend>Who</legend>
        <label className="inline-check">
          <input type="radio" name="simulate-who" checked={who === 'described'} onChange={() => setWho('described')} /> Describe a contact
        </label>{' '}
        <label className="inline-check">
          <input type="radio" name="simulate-who" checked={who === 'real'} onChange={() => setWho('real')} /> A real contact
        </label>
      </fieldset>
      {who === 'real' ? (
        <RealContact
          contactId={contactId}
          onChange={(id, name) => {
            setContactId(id);
            setContactLabel(name);
          }}
        />
      ) : (
        <div className="row">
          {(
            [
              ['email', 'Email (optional; not one of your contacts)', 'email'],
              ['firstName', 'First name', 'text'],
              ['tags', 'Tags (comma separated)', 'text'],
              ['score', 'Score (0–100)', 'number'],
              ['timezone', 'Time zone', 'text'],
            ] as const
          ).map(([key, text, type]) => (
            <div className="field" key={key}>
              <label htmlFor={`simulate-${key}`}>{text}</label>
              <input id={`simulate-${key}`} type={type} value={described[key]} onChange={(event) => setDescribed({ ...described, [key]: event.target.value })} />
            </div>
          ))}
        </div>
      )}
      <fieldset>
        <legend>Events during the journey</legend>
        {events.length === 0 ? <p className="muted small">None: the contact does nothing. Add events to test waits for events, goals and conditions.</p> : null}
        {events.map((e, index) => (
          <div className="row" key={index}>
            <div className="field">
              <label htmlFor={`simulate-event-${index}-name`}>Event name</label>
              <input id={`simulate-event-${index}-name`} value={e.name} onChange={(event) => setEvents(events.map((x, i) => (i === index ? { ...x, name: event.target.value } : x)))} />
            </div>
            <div className="field">
              <label htmlFor={`simulate-event-${index}-after`}>After (hours)</label>
              <input id={`simulate-event-${index}-after`} type="number" min={0} step="any" value={e.afterHours} onChange={(event) => setEvents(events.map((x, i) => (i === index ? { ...x, afterHours: event.target.value } : x)))} />
            </div>
            <button type="button" className="button small ghost" onClick={() => setEvents(events.filter((_, i) => i !== index))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="button small" onClick={() => setEvents([...events, { name: '', afterHours: '1' }])}>
          Add an event
        </button>
      </fieldset>
      <div className="field">
        <label htmlFor="simulate-horizon">Fast-forward up to (days)</label>
        <input id="simulate-horizon" type="number" min={1} max={365} value={horizon} onChange={(event) => setHorizon(event.target.value)} />
      </div>
      {simulate.isError ? <Alert>{errorMessage(simulate.error)}</Alert> : null}
      <div className="row">
        <button type="submit" className="button primary" disabled={simulate.isPending || (who === 'real' && !contactId)}>
          {simulate.isPending ? 'Simulating…' : 'Run simulation'}
        </button>
        {simulate.data ? (
          <button
            type="button"
            className="button ghost"
            onClick={() => {
              simulate.reset();
              onOverlay(null);
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {simulate.data ? (
        <>
          {changedSince ? <p className="muted small">The draft changed since this run: run the simulation again to see the change.</p> : null}
          <Result result={simulate.data} definition={ran} label={label} />
        </>
      ) : null}
    </form>
  );
}
