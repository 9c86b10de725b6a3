/**
 * Guardian › Delivery log: every notification delivery (alerts, tests, digests) with its status,
 * filtered by channel, status and time, newest first; each row expands to its attempts (time,
 * response code, error, duration). Readable by roles with the logs:read capability only.
 */
import { useState } from 'react';
import { errorMessage } from '../../api';
import { DELIVERY_STATUS_OPTIONS, guardianApi, type DeliveryAttempt, type GuardianDelivery } from '../../guardian-api';
import { Alert, Badge, formatDate, Spinner, useLoad } from '../../ui';
import { GuardianLayout } from './GuardianLayout';

const STATUS_TONE: Record<string, string> = { pending: 'queued', sending: 'sending', sent: 'sent', retrying: 'transient', failed: 'failed' };

function Attempts({ deliveryId }: { deliveryId: string }) {
  const [loaded] = useLoad(() => guardianApi.deliveries.get(deliveryId), [deliveryId]);
  if (loaded.status === 'loading') return <Spinner label="Loading attempts…" />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  const attempts: DeliveryAttempt[] = loaded.data.attemptLog;
  if (attempts.length === 0) return <p className="muted">No attempt yet{loaded.data.status === 'failed' ? ': it failed before any request (see the error).' : '.'}</p>;
  return (
    <table className="table" aria-label="Attempts">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Started</th>
          <th scope="col">Outcome</th>
          <th scope="col">Response</th>
          <th scope="col">Duration</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.attempt}>
            <td>{a.attempt}</td>
            <td>{formatDate(a.startedAt)}</td>
            <td>{a.outcome}</td>
            <td>{a.responseStatus ?? '—'}</td>
            <td>{a.durationMs} ms</td>
            <td>{a.error ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function GuardianDeliveryLogPage() {
  const [channelId, setChannelId] = useState('');
  const [status, setStatus] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [expanded, setExpanded] = useState<string | null>(null);
  const [more, setMore] = useState<{ rows: GuardianDelivery[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<string>();
  const filter = {
    ...(channelId ? { channelId } : {}),
    ...(status ? { status } : {}),
    ...(from ? { from: new Date(from).toISOString() } : {}),
    ...(to ? { to: new Date(to).toISOString() } : {}),
  };
  const [channels] = useLoad(() => guardianApi.channels.list(), []);
  const [loaded, reload] = useLoad(
    async () => {
      setMore(null);
      return guardianApi.deliveries.list({ ...filter, limit: 50 });
    },
    [channelId, status, from, to],
    15_000,
  );

  const forbidden = loaded.status === 'error' && /Guardian role/.test(loaded.message);
  const rows = loaded.status === 'ready' ? [...loaded.data.deliveries, ...(more?.rows ?? [])] : [];
  const cursor = more ? more.cursor : loaded.status === 'ready' ? loaded.data.nextCursor : null;
  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await guardianApi.deliveries.list({ ...filter, limit: 50, cursor });
      setMore({ rows: [...(more?.rows ?? []), ...page.deliveries], cursor: page.nextCursor });
    } catch (caught) {
      setMoreError(errorMessage(caught));
    }
  };

  return (
    <GuardianLayout
      active="deliveries"
      actions={
        <button type="button" className="button" onClick={() => void reload()}>
          Refresh
        </button>
      }
    >
    <section className="stack">
      <p className="muted">Who was told, when, through which channel, and whether it arrived: every alert, test and digest delivery with its attempts.</p>
      <div className="row align-end wrap filters">
        <div className="field">
          <label htmlFor="delivery-channel">Channel</label>
          <select id="delivery-channel" value={channelId} onChange={(event) => setChannelId(event.target.value)}>
            <option value="">All channels</option>
            {channels.status === 'ready'
              ? channels.data.channels.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))
              : null}
          </select>
        </div>
        <div className="field">
          <label htmlFor="delivery-status">Status</label>
          <select id="delivery-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">All statuses</option>
            {DELIVERY_STATUS_OPTIONS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="delivery-from">From</label>
          <input id="delivery-from" type="datetime-local" value={from} onChange={(event) => setFrom(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="delivery-to">Until</label>
          <input id="delivery-to" type="datetime-local" value={to} onChange={(event) => setTo(event.target.value)} />
        </div>
      </div>
      {loaded.status === 'loading' ? <Spinner label="Loading deliveries…" /> : null}
      {loaded.status === 'error' ? <Alert>{forbidden ? 'Your Guardian role does not allow reading the delivery log. Ask a workspace owner to make you an analyst or Guardian admin.' : loaded.message}</Alert> : null}
      {loaded.status === 'ready' && rows.length === 0 ? (
        <div className="empty">
          {Object.keys(filter).length > 0 ? 'No deliveries match these filters; clear them to see all.' : 'No deliveries yet. Send a test from the Channels tab, or wait for an alert to fire.'}
        </div>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Deliveries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Notification</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col" className="hide-narrow">
                  Last error
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <DeliveryRow key={d.id} delivery={d} open={expanded === d.id} onToggle={() => setExpanded(expanded === d.id ? null : d.id)} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {moreError ? <Alert>{moreError}</Alert> : null}
      {cursor ? (
        <button type="button" className="button" onClick={() => void loadMore()}>
          Load older deliveries
        </button>
      ) : null}
    </section>
    </GuardianLayout>
  );
}

function DeliveryRow({ delivery: d, open, onToggle }: { delivery: GuardianDelivery; open: boolean; onToggle: () => void }) {
  const panelId = `attempts-${d.id}`;
  return (
    <>
      <tr>
        <td>{formatDate(d.createdAt)}</td>
        <td>{d.summary}</td>
        <td>{d.channelName ?? <span className="muted">deleted channel</span>}</td>
        <td>
          <Badge tone={STATUS_TONE[d.status] ?? 'queued'}>{d.status}</Badge>
        </td>
        <td>
          <button type="button" className="button small ghost" aria-expanded={open} aria-controls={panelId} onClick={onToggle}>
            {d.attempts} {d.attempts === 1 ? 'attempt' : 'attempts'}
            <span className="visually-hidden">{` of ${d.summary} to ${d.channelName ?? 'a deleted channel'}`}</span>
          </button>
        </td>
        <td className="hide-narrow">{d.lastError ?? '—'}</td>
      </tr>
      {open ? (
        <tr id={panelId}>
          <td colSpan={6}>
            <Attempts deliveryId={d.id} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
