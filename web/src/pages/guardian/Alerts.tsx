/**
 * Guardian → Alerts: the incidents, newest first, filtered by status and severity; one alert with
 * its timeline, who was told of it (its deliveries, for roles that may read delivery logs), and
 * acknowledge / resolve for those whose Guardian role allows it.
 */
import { useState } from 'react';
import { errorMessage } from '../../api';
import { Link, navigate } from '../../router';
import { Alert, Badge, formatDate, LoadedList, Spinner, useLoad } from '../../ui';
import { guardianApi as notifyApi } from '../../guardian-api';
import { formatValue, guardianApi, type AlertView, type SignalInfo } from './guardian-api';
import { GuardianLayout } from './GuardianLayout';

const STATUS_LABEL: Record<string, string> = { firing: 'Firing', acknowledged: 'Acknowledged', resolved: 'Resolved' };
const EVENT_LABEL: Record<string, string> = {
  fired: 'Fired',
  refired: 'Fired again',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved by hand',
  auto_resolved: 'Resolved by itself (the condition cleared)',
};

function useSignals() {
  const [signals] = useLoad(() => guardianApi.signals(), []);
  return signals.status === 'ready' ? new Map(signals.data.signals.map((s) => [s.key, s])) : new Map<string, SignalInfo>();
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <Badge tone={`severity-${severity}`}>{severity}</Badge>;
}

export function GuardianAlertsPage() {
  const [status, setStatus] = useState('open');
  const [severity, setSeverity] = useState('');
  const [loaded] = useLoad(() => guardianApi.alerts({ status: status || undefined, severity: severity || undefined, limit: 100 }), [status, severity], 15_000);
  const signals = useSignals();
  return (
    <GuardianLayout active="alerts">
      <div className="toolbar">
        <label htmlFor="alert-status">Status</label>{' '}
        <select id="alert-status" value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="open">Open (firing or acknowledged)</option>
          <option value="firing">Firing</option>
          <option value="acknowledged">Acknowledged</option>
          <option value="resolved">Resolved</option>
          <option value="">All</option>
        </select>{' '}
        <label htmlFor="alert-severity">Severity</label>{' '}
        <select id="alert-severity" value={severity} onChange={(event) => setSeverity(event.target.value)}>
          <option value="">Any</option>
          <option value="critical">Critical</option>
          <option value="high">High</option>
          <option value="medium">Medium</option>
          <option value="low">Low</option>
        </select>
      </div>
      <LoadedList
        state={loaded}
        items={(data) => data.alerts}
        loadingLabel="Loading alerts…"
        empty={
          <p>
            No {status === 'open' ? 'open ' : ''}alerts. Guardian checks your <Link to="/guardian/rules">rules</Link> every minute and opens an alert when one of them crosses its
            threshold; the <Link to="/guardian">Health</Link> tab shows how sending is going.
          </p>
        }
      >
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-label="Alerts">
              <thead>
                <tr>
                  <th scope="col">Alert</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Status</th>
                  <th scope="col">Value</th>
                  <th scope="col">Opened</th>
                </tr>
              </thead>
              <tbody>
                {data.alerts.map((alert) => (
                  <tr key={alert.id} className="clickable" onClick={() => navigate(`/guardian/alerts/${alert.id}`)}>
                    <td>
                      <Link to={`/guardian/alerts/${alert.id}`} onClick={(event) => event.stopPropagation()}>
                        {alert.ruleName}
                      </Link>
                    </td>
                    <td>
                      <SeverityBadge severity={alert.severity} />
                    </td>
                    <td>{STATUS_LABEL[alert.status]}</td>
                    <td>{formatValue(alert.value, signals.get(alert.signal)?.unit)}</td>
                    <td>{formatDate(alert.openedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadedList>
    </GuardianLayout>
  );
}

const DELIVERY_LABEL: Record<string, string> = { pending: 'Waiting', sending: 'Sending', sent: 'Delivered', retrying: 'Retrying', failed: 'Failed' };

/** Every delivery of the alert's notifications: channel, status, when it arrived or why not. */
function WhoWasTold({ alertId }: { alertId: string }) {
  const [loaded] = useLoad(() => notifyApi.deliveries.list({ alertId, limit: 200 }), [alertId], 15_000);
  if (loaded.status === 'loading') return <Spinner label="Loading who was told…" />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  if (loaded.data.deliveries.length === 0) {
    return (
      <p className="muted">
        Nobody has been notified of this alert: its rule names no channel, or the notification is still on its way. Choose channels in the rule's editor under <Link to="/guardian/rules">Rules</Link>.
      </p>
    );
  }
  return (
    <table className="table" aria-label="Who was told">
      <thead>
        <tr>
          <th scope="col">Notification</th>
          <th scope="col">Channel</th>
          <th scope="col">Status</th>
          <th scope="col">When</th>
        </tr>
      </thead>
      <tbody>
        {loaded.data.deliveries.map((d) => (
          <tr key={d.id}>
            <td>{d.summary}</td>
            <td>
              {d.channelName ?? <span className="muted">deleted channel</span>} <span className="muted">({d.channelKind === 'in_app' ? 'in-app' : (d.channelKind ?? '—')})</span>
            </td>
            <td>
              <Badge tone={d.status === 'sent' ? 'sent' : d.status === 'failed' ? 'failed' : 'queued'}>{DELIVERY_LABEL[d.status] ?? d.status}</Badge>
            </td>
            <td>{d.sentAt ? formatDate(d.sentAt) : d.failedAt ? `${formatDate(d.failedAt)}: ${d.lastError ?? 'failed'}` : d.nextAttemptAt ? `next try ${formatDate(d.nextAttemptAt)}` : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function GuardianAlertPage({ alertId }: { alertId: string }) {
  const [loaded, reload] = useLoad(() => guardianApi.alert(alertId), [alertId], 15_000);
  const [me] = useLoad(() => guardianApi.me(), []);
  const signals = useSignals();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const canOperate = me.status === 'ready' && me.data.capabilities.includes('alerts:operate');

  const act = async (action: (id: string) => Promise<AlertView>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action(alertId);
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };

  if (loaded.status === 'loading') return <GuardianLayout active="alerts"><Spinner label="Loading the alert…" /></GuardianLayout>;
  if (loaded.status === 'error') return <GuardianLayout active="alerts"><Alert>{loaded.message}</Alert></GuardianLayout>;
  const { alert, timeline } = loaded.data;
  const unit = signals.get(alert.signal)?.unit;
  return (
    <GuardianLayout active="alerts">
      <p>
        <Link to="/guardian/alerts">← All alerts</Link>
      </p>
      <h2>{alert.ruleName}</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd>{STATUS_LABEL[alert.status]}</dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={alert.severity} />
        </dd>
        <dt>Signal</dt>
        <dd>{signals.get(alert.signal)?.label ?? alert.signal}</dd>
        <dt>Condition</dt>
        <dd>
          {alert.comparison} {formatValue(alert.threshold, unit)}
        </dd>
        <dt>Latest value</dt>
        <dd>
          {formatValue(alert.value, unit)}
          {alert.volume !== null ? ` (volume ${alert.volume.toLocaleString()})` : ''}
        </dd>
        <dt>Worst value</dt>
        <dd>{formatValue(alert.peakValue, unit)}</dd>
        <dt>Fired</dt>
        <dd>{alert.fireCount === 1 ? 'once' : `${alert.fireCount} times`}</dd>
        <dt>Opened</dt>
        <dd>{formatDate(alert.openedAt)}</dd>
      </dl>
      {error ? <Alert>{error}</Alert> : null}
      {alert.status !== 'resolved' ? (
        canOperate ? (
          <div className="page-actions">
            {alert.status === 'firing' ? (
              <button type="button" className="button primary" disabled={busy} onClick={() => void act(guardianApi.acknowledge)}>
                Acknowledge
              </button>
            ) : null}
            <button type="button" className="button" disabled={busy} onClick={() => void act(guardianApi.resolve)}>
              Resolve
            </button>
          </div>
        ) : (
          <p className="muted">Your Guardian role can read alerts but not acknowledge or resolve them; ask a workspace owner if you are on call.</p>
        )
      ) : null}
      <h3>Timeline</h3>
      <ol className="timeline" aria-label="Alert timeline">
        {timeline.map((event) => (
          <li key={event.id}>
            <strong>{EVENT_LABEL[event.kind]}</strong> — {formatDate(event.at)}
            {event.value !== null ? ` · value ${formatValue(event.value, unit)}` : ''}
            {event.fanOut ? ' · channels notified' : ''}
          </li>
        ))}
      </ol>
      {me.status === 'ready' && me.data.capabilities.includes('logs:read') ? (
        <>
          <h3>Who was told</h3>
          <WhoWasTold alertId={alertId} />
          <p>
            <Link to="/guardian/deliveries">Delivery log</Link> — every attempt, with its response code.
          </p>
        </>
      ) : null}
    </GuardianLayout>
  );
}
