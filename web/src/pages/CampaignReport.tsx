/**
 * A campaign's report (/campaigns/:id/report): how it performed (totals and rates), where
 * contacts dropped off (the journey funnel with the share that came on from the step before),
 * each email over time, the goal and time to convert, versions and split variants side by side,
 * and a CSV export. Loaded lazily (it brings Recharts).
 */
import { useState } from 'react';
import { analyticsApi, type Report } from '../analytics/api';
import { BarsChart, TimeChart } from '../analytics/charts';
import { count, duration, pct } from '../analytics/format';
import { Link } from '../router';
import { Alert, PageHeader, useLoad } from '../ui';

type Counts = Report['totals'];

function CountsTable({ caption, rows, first }: { caption: string; first: string; rows: Array<{ key: string; label: string; counts: Counts; extra?: string }> }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{first}</th>
            <th scope="col" className="num">Enrolled</th>
            <th scope="col" className="num">Sent</th>
            <th scope="col" className="num">Opened</th>
            <th scope="col" className="num">Open rate</th>
            <th scope="col" className="num">Clicked</th>
            <th scope="col" className="num">Click rate</th>
            <th scope="col" className="num">Converted</th>
            <th scope="col" className="num">Conversion</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <th scope="row">
                {r.label}
                {r.extra ? <span className="muted small"> {r.extra}</span> : null}
              </th>
              <td className="num">{count(r.counts.enrolled)}</td>
              <td className="num">{count(r.counts.sent)}</td>
              <td className="num">{count(r.counts.opened)}</td>
              <td className="num">{pct(r.counts.openRate)}</td>
              <td className="num">{count(r.counts.clicked)}</td>
              <td className="num">{pct(r.counts.clickRate)}</td>
              <td className="num">{count(r.counts.converted)}</td>
              <td className="num">{pct(r.counts.conversionRate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Funnel({ report }: { report: Report }) {
  const steps = report.funnel.filter((f) => f.type !== 'exit' || f.entered > 0);
  return (
    <section className="panel stack" aria-labelledby="funnel-title">
      <h2 id="funnel-title">Journey</h2>
      <p className="muted small">Contacts that reached each step; the share is of those at the step before it.</p>
      <BarsChart title="Contacts per step" valueLabel="Contacts" rows={steps.map((f) => ({ label: f.label, value: f.entered, note: f.fromPrevious === null ? undefined : `${pct(f.fromPrevious)} of the step before` }))} />
      <div className="table-wrap">
        <table className="table" aria-label="Journey steps">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col" className="num">Reached</th>
              <th scope="col" className="num">From the step before</th>
              <th scope="col" className="num">From the start</th>
              <th scope="col" className="num">Waiting here</th>
              <th scope="col" className="num">Converted here</th>
              <th scope="col" className="num">Failed here</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((f) => (
              <tr key={f.nodeId}>
                <th scope="row">
                  {f.label} <span className="muted small">({f.type})</span>
                </th>
                <td className="num">{count(f.entered)}</td>
                <td className="num">{pct(f.fromPrevious)}</td>
                <td className="num">{pct(f.fromEntry)}</td>
                <td className="num">{count(f.waiting)}</td>
                <td className="num">{count(f.converted)}</td>
                <td className="num">{count(f.failed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Body({ report, campaignId, includeMachineOpens }: { report: Report; campaignId: string; includeMachineOpens: boolean }) {
  const t = report.totals;
  const nothingYet = t.enrolled === 0;
  return (
    <div className="stack">
      <dl className="stats" aria-label="Campaign totals">
        <div className="stat"><dt>Enrolled</dt><dd><span className="stat-value">{count(t.enrolled)}</span></dd></div>
        <div className="stat"><dt>Emails sent</dt><dd><span className="stat-value">{count(t.sent)}</span></dd></div>
        <div className="stat"><dt>Open rate</dt><dd><span className="stat-value">{pct(t.openRate)}</span><span className="stat-note">{count(t.opened)} opened</span></dd></div>
        <div className="stat"><dt>Click rate</dt><dd><span className="stat-value">{pct(t.clickRate)}</span><span className="stat-note">{count(t.clicked)} clicked</span></dd></div>
        <div className="stat"><dt>Converted</dt><dd><span className="stat-value">{pct(t.conversionRate)}</span><span className="stat-note">{count(t.converted)} reached the goal{report.campaign.goal ? ` (${report.campaign.goal})` : ''}</span></dd></div>
        <div className="stat"><dt>Time to convert</dt><dd><span className="stat-value">{duration(t.avgSecondsToConvert)}</span><span className="stat-note">on average</span></dd></div>
      </dl>
      {nothingYet ? (
        <div className="empty">
          Nobody has been enrolled yet. <Link to={`/campaigns/${campaignId}`}>Open the campaign</Link> to publish it and enroll contacts; the numbers appear here as soon as they happen.
        </div>
      ) : null}
      {report.campaign.goal === null ? <p className="muted small">This campaign has no goal, so nothing counts as a conversion. Set one in the campaign's settings.</p> : null}
      <Funnel report={report} />
      {report.emails.map((e) => (
        <TimeChart
          key={e.nodeId}
          title={`Email “${e.subject}”: ${count(e.sent)} sent, ${pct(e.openRate)} opened, ${pct(e.clickRate)} clicked, ${pct(e.bounceRate)} bounced`}
          rows={e.series}
          series={[
            { key: 'sent', label: 'Sent' },
            { key: 'opened', label: 'Opened' },
            { key: 'clicked', label: 'Clicked' },
            { key: 'bounced', label: 'Bounced' },
          ]}
        />
      ))}
      <TimeChart
        title="Enrolled and converted per day"
        rows={report.goals.series}
        series={[
          { key: 'enrolled', label: 'Enrolled' },
          { key: 'converted', label: 'Converted' },
        ]}
      />
      {report.splits.map((s) => (
        <section key={s.nodeId} className="panel stack" aria-labelledby={`split-${s.nodeId}`}>
          <h2 id={`split-${s.nodeId}`}>A/B split “{s.nodeId}”</h2>
          <CountsTable caption={`Variants of split ${s.nodeId}`} first="Variant" rows={s.variants.map((v) => ({ key: v.variant, label: v.variant, extra: v.weight === null ? undefined : `${v.weight} % of contacts`, counts: v }))} />
        </section>
      ))}
      {report.versions.length > 0 ? (
        <section className="panel stack" aria-labelledby="versions-title">
          <h2 id="versions-title">Versions</h2>
          <CountsTable caption="Published versions" first="Version" rows={report.versions.map((v) => ({ key: String(v.version), label: `v${v.version}`, extra: v.publishedAt ? `published ${new Date(v.publishedAt).toLocaleDateString()}` : undefined, counts: v }))} />
        </section>
      ) : null}
      <p className="muted small">
        Totals cover the campaign's whole life; the charts cover {report.range.from} to {report.range.to} ({report.range.timeZone}).{' '}
        {includeMachineOpens ? 'Opens and clicks by mail-privacy proxies and link scanners are included.' : `Opens by mail-privacy proxies and link scanners are left out (${count(t.machineOpens)}).`}
      </p>
    </div>
  );
}

export function CampaignReportPage({ campaignId }: { campaignId: string }) {
  const [includeMachineOpens, setIncludeMachineOpens] = useState(false);
  const [loaded, reload] = useLoad(() => analyticsApi.report(campaignId, { includeMachineOpens }), [campaignId, includeMachineOpens], 30_000);
  const name = loaded.status === 'ready' ? loaded.data.campaign.name : 'Campaign';
  return (
    <section>
      <p className="small">
        <Link to={`/campaigns/${campaignId}`}>← Back to the campaign</Link>
      </p>
      <PageHeader title={`${name}: report`}>
        <label className="row small">
          <input type="checkbox" checked={includeMachineOpens} onChange={(event) => setIncludeMachineOpens(event.target.checked)} /> Count machine opens
        </label>
        <a className="button" href={analyticsApi.reportCsvUrl(campaignId, { includeMachineOpens })} download>
          Export CSV
        </a>
      </PageHeader>
      {loaded.status === 'loading' ? (
        <div className="stack" role="status" aria-label="Loading the report">
          <div className="skeleton skeleton-stats" />
          <div className="skeleton skeleton-chart" />
        </div>
      ) : loaded.status === 'error' ? (
        <Alert>
          The report could not load: {loaded.message}{' '}
          <button type="button" className="button ghost" onClick={() => void reload()}>
            Retry
          </button>
        </Alert>
      ) : (
        <Body report={loaded.data} campaignId={campaignId} includeMachineOpens={includeMachineOpens} />
      )}
    </section>
  );
}
