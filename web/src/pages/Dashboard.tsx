/**
 * The home dashboard (the landing page after log-in): contacts and their growth, events per day,
 * emails sent/opened/clicked/bounced over time, active campaigns with their key rates, hot leads
 * and recent band crossings, and sending health at a glance. Loaded lazily (it brings Recharts).
 */
import { useState } from 'react';
import { analyticsApi, type Dashboard } from '../analytics/api';
import { TimeChart } from '../analytics/charts';
import { count, pct } from '../analytics/format';
import { Sparkline } from '../analytics/Sparkline';
import { Link } from '../router';
import { Alert, Badge, formatDate, PageHeader, useLoad } from '../ui';

const RANGES = [
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
];

function daysAgo(days: number): { from: string } {
  const d = new Date(Date.now() - (days - 1) * 86_400_000);
  return { from: d.toISOString().slice(0, 10) };
}

function Stat({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>
        <span className="stat-value">{value}</span>
        {note ? <span className="stat-note">{note}</span> : null}
      </dd>
    </div>
  );
}

const HEALTH_TEXT: Record<Dashboard['health']['status'], string> = {
  good: 'Sending looks healthy',
  watch: 'Keep an eye on sending',
  act: 'Sending needs attention',
};

function Body({ data }: { data: Dashboard }) {
  const o = data.overview;
  const h = data.health;
  const noEmail = o.totals.sent === 0 && data.activeCampaigns.length === 0;
  return (
    <div className="stack">
      <dl className="stats" aria-label="Key numbers">
        <Stat label="Contacts" value={count(data.contacts.total)} note={`+${count(data.contacts.createdInRange)} in range`} />
        <Stat label="Emails sent" value={count(o.totals.sent)} />
        <Stat label="Open rate" value={pct(o.totals.openRate)} note={`${count(o.totals.opened)} opened`} />
        <Stat label="Click rate" value={pct(o.totals.clickRate)} note={`${count(o.totals.clicked)} clicked`} />
        <Stat label="Bounce rate" value={pct(o.totals.bounceRate)} note={`${count(o.totals.bounced)} bounced`} />
        <Stat label="Hot leads" value={count(data.contacts.hotLeads)} note="score 80 or more" />
      </dl>
      <section className={`panel health health-${h.status}`} aria-labelledby="health-title">
        <h2 id="health-title">{HEALTH_TEXT[h.status]}</h2>
        <p className="small">
          Last 7 days: {count(h.sentLast7Days)} sent · bounces {pct(h.bounceRate7d, 2)} · complaints {pct(h.complaintRate7d, 2)} · {count(h.outboxQueued)} waiting in the outbox ·{' '}
          {h.openAlerts > 0 ? <Link to="/guardian/alerts">{h.openAlerts} open alert{h.openAlerts === 1 ? '' : 's'}</Link> : 'no open alerts'}
        </p>
      </section>
      {noEmail ? (
        <div className="empty">
          No email has gone out in this period. <Link to="/campaigns">Create a campaign</Link> to start sending.
        </div>
      ) : null}
      <div className="chart-grid">
        <TimeChart
          title="Emails"
          rows={o.series}
          series={[
            { key: 'sent', label: 'Sent' },
            { key: 'opened', label: 'Opened' },
            { key: 'clicked', label: 'Clicked' },
            { key: 'bounced', label: 'Bounced' },
          ]}
        />
        <TimeChart
          title="Contacts and events"
          rows={o.series}
          series={[
            { key: 'contactsCreated', label: 'New contacts' },
            { key: 'events', label: 'Events' },
          ]}
        />
      </div>
      <section className="panel" aria-labelledby="active-title">
        <h2 id="active-title">Active campaigns</h2>
        {data.activeCampaigns.length === 0 ? (
          <p className="muted">
            No campaign is running. <Link to="/campaigns">Open campaigns</Link> to publish one.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Campaign</th>
                  <th scope="col" className="num">Sent</th>
                  <th scope="col" className="num">Open rate</th>
                  <th scope="col" className="num">Click rate</th>
                  <th scope="col" className="num">Conversion</th>
                  <th scope="col" className="num">In progress</th>
                  <th scope="col">14 days</th>
                </tr>
              </thead>
              <tbody>
                {data.activeCampaigns.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link to={`/campaigns/${c.id}/report`}>{c.name}</Link>
                    </td>
                    <td className="num">{count(c.sent)}</td>
                    <td className="num">{pct(c.openRate)}</td>
                    <td className="num">{pct(c.clickRate)}</td>
                    <td className="num">{pct(c.conversionRate)}</td>
                    <td className="num">{count(c.activeEnrollments)}</td>
                    <td>
                      <Sparkline label={`Emails sent by ${c.name}`} points={c.sparkline.map((p) => ({ at: p.at, value: p.sent }))} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <div className="chart-grid">
        <section className="panel" aria-labelledby="hot-title">
          <h2 id="hot-title">Hot leads</h2>
          {data.hotLeads.length === 0 ? (
            <p className="muted">No contact has a score of 80 yet. Scores rise with opens, clicks and replies.</p>
          ) : (
            <ul className="plain-list">
              {data.hotLeads.map((lead) => (
                <li key={lead.id}>
                  <Link to={`/contacts/${lead.id}`}>{lead.name ?? lead.email}</Link> <Badge tone="hot">{lead.score}</Badge>
                  <span className="muted small"> {lead.lastActivityAt ? `active ${formatDate(lead.lastActivityAt)}` : ''}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="crossings-title">
          <h2 id="crossings-title">Recent band changes</h2>
          {data.recentCrossings.length === 0 ? (
            <p className="muted">No contact has moved between cold, warm and hot yet.</p>
          ) : (
            <ul className="plain-list">
              {data.recentCrossings.map((c) => (
                <li key={`${c.contactId}-${c.at}`}>
                  <Link to={`/contacts/${c.contactId}`}>{c.email ?? 'A deleted contact'}</Link> {c.from} → <Badge tone={c.to}>{c.to}</Badge>
                  <span className="muted small"> {formatDate(c.at)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <p className="muted small">
        Days are in the workspace time zone ({o.range.timeZone}). Opens by mail-privacy proxies and link scanners are left out ({count(o.totals.machineOpens)} in this period).
      </p>
    </div>
  );
}

export function DashboardPage() {
  const [days, setDays] = useState(30);
  const [loaded, reload] = useLoad(() => analyticsApi.dashboard(daysAgo(days)), [days], 60_000);
  return (
    <section>
      <PageHeader title="Dashboard">
        <label htmlFor="dashboard-range" className="visually-hidden">
          Period
        </label>
        <select id="dashboard-range" value={days} onChange={(event) => setDays(Number(event.target.value))}>
          {RANGES.map((r) => (
            <option key={r.days} value={r.days}>
              {r.label}
            </option>
          ))}
        </select>
      </PageHeader>
      {loaded.status === 'loading' ? (
        <div className="stack" role="status" aria-label="Loading the dashboard">
          <div className="skeleton skeleton-stats" />
          <div className="skeleton skeleton-chart" />
        </div>
      ) : loaded.status === 'error' ? (
        <Alert>
          The dashboard could not load: {loaded.message}{' '}
          <button type="button" className="button ghost" onClick={() => void reload()}>
            Retry
          </button>
        </Alert>
      ) : (
        <Body data={loaded.data} />
      )}
    </section>
  );
}
