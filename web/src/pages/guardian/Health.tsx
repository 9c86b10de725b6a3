/**
 * Guardian → Health: send volume, bounce rate and complaint rate over time per provider (24 h
 * hourly, 7 or 30 days daily), as charts and as the same numbers in a table.
 */
import { useState } from 'react';
import { Link } from '../../router';
import { LoadedList, useLoad } from '../../ui';
import { LineChart, type Series } from './Chart';
import { guardianApi, type HealthSeriesView } from './guardian-api';
import { GuardianLayout } from './GuardianLayout';

type Range = '24h' | '7d' | '30d';

function seriesOf(data: HealthSeriesView, pick: (p: HealthSeriesView['points'][number]) => number | null): Series[] {
  return data.providers.map((provider) => ({
    name: provider,
    points: data.points.filter((p) => p.provider === provider).map((p) => ({ at: new Date(p.at).getTime() + (data.bucketSeconds * 1000) / 2, value: pick(p) })),
  }));
}

const pct = (v: number) => `${v.toLocaleString(undefined, { maximumFractionDigits: 2 })} %`;

export function GuardianHealthPage() {
  const [range, setRange] = useState<Range>('24h');
  const [loaded] = useLoad(() => guardianApi.health(range), [range], 60_000);
  return (
    <GuardianLayout active="health">
      <div className="toolbar">
        <label htmlFor="health-range">Period</label>{' '}
        <select id="health-range" value={range} onChange={(event) => setRange(event.target.value as Range)}>
          <option value="24h">Last 24 hours (hourly)</option>
          <option value="7d">Last 7 days (daily)</option>
          <option value="30d">Last 30 days (daily)</option>
        </select>
      </div>
      <LoadedList
        state={loaded}
        items={(data) => data.points}
        loadingLabel="Loading sending health…"
        empty={
          <p>
            No emails were sent in this period, so there is nothing to chart yet. Send a campaign or a broadcast, and bounces and complaints reported by your providers will show
            here. Alerts on these rates are set under <Link to="/guardian/rules">Rules</Link>.
          </p>
        }
      >
        {(data) => {
          const from = new Date(data.from).getTime();
          const to = new Date(data.to).getTime();
          return (
            <>
              <div className="chart-grid">
                <LineChart title="Emails sent" series={seriesOf(data, (p) => p.sends)} from={from} to={to} format={(v) => Math.round(v).toLocaleString()} />
                <LineChart title="Bounce rate" series={seriesOf(data, (p) => p.bounceRate)} from={from} to={to} format={pct} />
                <LineChart title="Complaint rate" series={seriesOf(data, (p) => p.complaintRate)} from={from} to={to} format={pct} />
              </div>
              <div className="table-wrap">
                <table className="table" aria-label="Sending health per period and provider">
                  <thead>
                    <tr>
                      <th scope="col">Period starting</th>
                      <th scope="col">Provider</th>
                      <th scope="col">Sent</th>
                      <th scope="col">Bounces</th>
                      <th scope="col">Bounce rate</th>
                      <th scope="col">Complaints</th>
                      <th scope="col">Complaint rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.points.map((p) => (
                      <tr key={`${p.at}-${p.provider}`}>
                        <td>{new Date(p.at).toLocaleString(undefined, data.bucketSeconds >= 86_400 ? { dateStyle: 'medium' } : { dateStyle: 'short', timeStyle: 'short' })}</td>
                        <td>{p.provider}</td>
                        <td>{p.sends.toLocaleString()}</td>
                        <td>{p.bounces.toLocaleString()}</td>
                        <td>{p.bounceRate === null ? '—' : pct(p.bounceRate)}</td>
                        <td>{p.complaints.toLocaleString()}</td>
                        <td>{p.complaintRate === null ? '—' : pct(p.complaintRate)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </LoadedList>
    </GuardianLayout>
  );
}
