/**
 * The "A/B results" panel of a campaign: one section per split node of the published version, its
 * variants side by side (contacts, sends, opens, clicks, conversions and each rate with its 95 %
 * interval), the chosen metric drawn as bars with interval whiskers, the automatic test's state,
 * the winner and why, and "Pick as winner" / "Clear winner" for those who may edit campaigns.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { errorMessage } from '../http';
import { useCan } from '../session';
import { Alert, Badge, formatDate } from '../ui';
import { splitApi, splitKeys, type Split, type SplitMetric, type SplitVariant } from './split-api';

const METRICS: Array<{ id: SplitMetric; label: string }> = [
  { id: 'open', label: 'Open rate' },
  { id: 'click', label: 'Click rate' },
  { id: 'conversion', label: 'Conversion rate' },
];

const STATUS: Record<Split['status'], { label: string; tone: string }> = {
  off: { label: 'No automatic winner', tone: 'archived' },
  running: { label: 'Testing', tone: 'queued' },
  decided: { label: 'Winner chosen', tone: 'sent' },
  inconclusive: { label: 'No significant difference', tone: 'archived' },
  cleared: { label: 'Winner cleared', tone: 'archived' },
};

const count = new Intl.NumberFormat('en-US');
const percent = (rate: number): string => `${(rate * 100).toFixed(1)} %`;

export function variantName(id: string): string {
  return `Variant ${id.length <= 2 ? id.toUpperCase() : id}`;
}

function ruleOf(split: Split): string {
  const rule = split.autoWinner;
  if (!rule) return 'No automatic winner is configured for this split; you can pick one by hand.';
  const metric = METRICS.find((m) => m.id === rule.metric)!.label.toLowerCase();
  const hours = rule.minHours === 1 ? '1 hour' : `${rule.minHours} hours`;
  return `Automatic winner on ${metric}: looks after ${count.format(rule.minSamplePerVariant)} contacts per variant and ${hours}, then at 2×, 3× and 4× that (at most ${split.maxLooks} looks), significance α = ${rule.alpha ?? 0.05}.`;
}

/** Bars of one rate per variant, each with its 95 % interval as a whisker; the numbers are also in the table below. */
function RateBars({ split, metric, label }: { split: Split; metric: SplitMetric; label: string }) {
  const max = Math.max(0.01, ...split.variants.map((v) => v.rates[metric].high));
  const rowHeight = 34;
  const labelWidth = 96;
  const width = 640;
  // Room on the right for the widest label, "100.0 % (100.0 %–100.0 %)".
  const scale = (rate: number): number => labelWidth + (rate / max) * (width - labelWidth - 190);
  return (
    <svg className="ab-bars" viewBox={`0 0 ${width} ${split.variants.length * rowHeight + 6}`} role="img" aria-label={`${label} per variant with 95 % intervals`}>
      {split.variants.map((v, i) => {
        const r = v.rates[metric];
        const y = i * rowHeight + 6;
        const winner = split.winner?.variant === v.id;
        return (
          <g key={v.id}>
            <text x={0} y={y + 16} className="ab-bar-label">
              {variantName(v.id)}
            </text>
            <rect x={labelWidth} y={y + 4} width={Math.max(1, scale(r.rate) - labelWidth)} height={16} rx={3} className={winner ? 'ab-bar ab-bar-winner' : 'ab-bar'} />
            <line x1={scale(r.low)} x2={scale(r.high)} y1={y + 12} y2={y + 12} className="ab-whisker" />
            <line x1={scale(r.low)} x2={scale(r.low)} y1={y + 6} y2={y + 18} className="ab-whisker" />
            <line x1={scale(r.high)} x2={scale(r.high)} y1={y + 6} y2={y + 18} className="ab-whisker" />
            <text x={scale(r.high) + 8} y={y + 16} className="ab-bar-value">
              {percent(r.rate)} ({percent(r.low)}–{percent(r.high)})
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function Rate({ v, metric }: { v: SplitVariant; metric: SplitMetric }) {
  const r = v.rates[metric];
  return (
    <>
      <strong>{percent(r.rate)}</strong>
      <span className="muted small"> 95 % CI {percent(r.low)}–{percent(r.high)}</span>
    </>
  );
}

function SplitSection({ campaignId, split, hasGoal }: { campaignId: string; split: Split; hasGoal: boolean }) {
  const can = useCan();
  const client = useQueryClient();
  const [metric, setMetric] = useState<SplitMetric>(split.autoWinner?.metric ?? 'click');
  const [done, setDone] = useState<string | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: splitKeys.results(campaignId) });
  const pick = useMutation({
    mutationFn: (variant: string) => splitApi.pick(campaignId, split.nodeId, variant),
    onSuccess: (result) => {
      setDone(`${variantName(result.winner?.variant ?? '')} is now the winner: later contacts reaching this split all go to it.`);
      return refresh();
    },
  });
  const clear = useMutation({
    mutationFn: () => splitApi.clear(campaignId, split.nodeId),
    onSuccess: () => {
      setDone('Winner cleared: later contacts are split by weight again.');
      return refresh();
    },
  });
  const headingId = `ab-${split.nodeId}`;
  const total = split.variants.reduce((sum, v) => sum + v.assigned, 0);
  const status = STATUS[split.status];
  const label = METRICS.find((m) => m.id === metric)!.label;
  const editable = can('campaigns:write');
  const error = pick.error ?? clear.error;
  const rows: Array<{ label: string; cell: (v: SplitVariant) => ReactNode }> = [
    { label: 'Weight', cell: (v) => `${v.weight} %` },
    { label: 'Contacts', cell: (v) => count.format(v.assigned) },
    { label: 'Emails sent', cell: (v) => count.format(v.sends) },
    { label: 'Opened (people)', cell: (v) => count.format(v.opened) },
    { label: 'Clicked', cell: (v) => count.format(v.clicked) },
    ...(hasGoal ? [{ label: 'Converted', cell: (v: SplitVariant) => count.format(v.converted) }] : []),
    { label: 'Open rate', cell: (v) => <Rate v={v} metric="open" /> },
    { label: 'Click rate', cell: (v) => <Rate v={v} metric="click" /> },
    ...(hasGoal ? [{ label: 'Conversion rate', cell: (v: SplitVariant) => <Rate v={v} metric="conversion" /> }] : []),
  ];
  return (
    <section className="panel ab-panel" aria-labelledby={headingId}>
      <div className="ab-head">
        <h2 id={headingId} className="small-heading">
          A/B results · {split.name ?? split.nodeId}
        </h2>
        <Badge tone={status.tone}>{status.label}</Badge>
      </div>
      {split.winner ? (
        <p className="ab-why">
          <strong>{split.winner.decision.summary}.</strong>{' '}
          <span className="muted small">
            {split.winner.decidedBy === 'auto' ? 'Chosen automatically' : 'Picked by hand'} on {formatDate(split.winner.decidedAt)}; contacts who reached the split before keep their variant.
          </span>
        </p>
      ) : split.lastLook ? (
        <p className="ab-why">{split.lastLook.summary}.</p>
      ) : null}
      <p className="muted small">{ruleOf(split)}</p>
      {done ? <Alert kind="success">{done}</Alert> : null}
      {error ? <Alert>{errorMessage(error)}</Alert> : null}
      {total === 0 ? (
        <p className="ab-empty">No contacts have reached this split yet. Enroll contacts (or wait for the trigger) and each variant’s results appear here.</p>
      ) : (
        <>
          <fieldset className="ab-metric">
            <legend className="small">Compare</legend>
            {METRICS.filter((m) => hasGoal || m.id !== 'conversion').map((m) => (
              <label key={m.id} className="small">
                <input type="radio" name={`ab-metric-${split.nodeId}`} value={m.id} checked={metric === m.id} onChange={() => setMetric(m.id)} /> {m.label}
              </label>
            ))}
          </fieldset>
          <RateBars split={split} metric={metric} label={label} />
          <p className="muted small">Rates are per contact assigned; bars show the rate, whiskers its 95 % confidence interval (Wilson). Machine opens and clicks (mail scanners) are not counted.</p>
        </>
      )}
      <div className="table-wrap">
        <table className="table ab-table" aria-label={`Variants of ${split.name ?? split.nodeId}`}>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Measure</span>
              </th>
              {split.variants.map((v) => (
                <th scope="col" key={v.id}>
                  {variantName(v.id)} {split.winner?.variant === v.id ? <Badge tone="sent">Winner</Badge> : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.label}>
                <th scope="row">{row.label}</th>
                {split.variants.map((v) => (
                  <td key={v.id}>{row.cell(v)}</td>
                ))}
              </tr>
            ))}
            {editable ? (
              <tr>
                <th scope="row">
                  <span className="visually-hidden">Actions</span>
                </th>
                {split.variants.map((v) => (
                  <td key={v.id}>
                    {split.winner?.variant === v.id ? (
                      <button type="button" className="button small" disabled={clear.isPending} onClick={() => clear.mutate()}>
                        Clear winner
                      </button>
                    ) : (
                      <button type="button" className="button small" disabled={pick.isPending} onClick={() => pick.mutate(v.id)} aria-label={`Pick as winner: ${variantName(v.id)}`}>
                        Pick as winner
                      </button>
                    )}
                  </td>
                ))}
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Mounted once on the campaign page: renders nothing for a campaign without splits. */
export function SplitResults({ campaignId }: { campaignId: string }) {
  const results = useQuery({ queryKey: splitKeys.results(campaignId), queryFn: () => splitApi.results(campaignId), refetchInterval: 15_000 });
  if (results.isPending) {
    return (
      <div className="panel ab-panel ab-skeleton" aria-busy="true">
        <p className="muted" role="status">
          Loading A/B results…
        </p>
      </div>
    );
  }
  if (results.isError) return <Alert>A/B results could not be loaded: {errorMessage(results.error)}</Alert>;
  if (results.data.splits.length === 0) return null;
  return (
    <div className="ab-results">
      {results.data.splits.map((split) => (
        <SplitSection key={split.nodeId} campaignId={campaignId} split={split} hasGoal={results.data.hasGoal} />
      ))}
    </div>
  );
}
