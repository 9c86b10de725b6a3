/**
 * Campaigns: the list with statuses and each campaign's numbers (sends, open, click and conversion
 * rates, contacts in progress, 14 days of sends), sortable by any column; and the forms that
 * create the standard drip flow or a blank draft.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, type Campaign, type CampaignDefinition, type CampaignStatus } from '../api';
import { analyticsApi, type CampaignStatsRow } from '../analytics/api';
import { count, pct } from '../analytics/format';
import { Sparkline } from '../analytics/Sparkline';
import { standardDrip, textToHtml } from '../campaigns/graph';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { Alert, Badge, Field, formatDate, LoadedList, PageHeader, useLoad } from '../ui';
import { BroadcastsPanel } from '../campaigns/ops/BroadcastsPanel';

export const STATUS_LABEL: Record<CampaignStatus, string> = { draft: 'Draft', active: 'Active', paused: 'Paused', archived: 'Archived' };

const WAIT_UNITS = [
  { value: 60, label: 'minutes' },
  { value: 3_600, label: 'hours' },
  { value: 86_400, label: 'days' },
];

function NewCampaignForm({ onCancel }: { onCancel: () => void }) {
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const waitAmount = Number(text('waitAmount'));
    const local: Record<string, string> = {};
    if (text('name') === '') local.name = 'Name the campaign';
    if (text('firstSubject') === '') local.firstSubject = 'Write a subject';
    if (text('secondSubject') === '') local.secondSubject = 'Write a subject';
    if (text('firstBody') === '') local.firstBody = 'Write the email';
    if (text('secondBody') === '') local.secondBody = 'Write the email';
    if (!Number.isInteger(waitAmount) || waitAmount < 1) local.waitAmount = 'Wait a whole number, at least 1';
    setErrors(local);
    if (Object.keys(local).length > 0) return;

    const definition = standardDrip({
      firstSubject: text('firstSubject'),
      firstHtml: textToHtml(text('firstBody')),
      waitSeconds: waitAmount * Number(text('waitUnit')),
      secondSubject: text('secondSubject'),
      secondHtml: textToHtml(text('secondBody')),
    });
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.campaigns.create({ name: text('name'), definition });
      navigate(`/campaigns/${created.campaign.id}`);
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(errorMessage(caught));
      setBusy(false);
    }
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="new-campaign-title" noValidate>
      <h2 id="new-campaign-title">New drip campaign</h2>
      <p className="muted small">Creates a draft: manual enrollment → first email → wait → follow-up email → exit. Subjects and bodies accept Liquid variables.</p>
      {error ? <Alert>{error}</Alert> : null}
      <Field label="Campaign name" name="name" required error={errors.name} />
      <fieldset>
        <legend>First email</legend>
        <Field label="Subject" name="firstSubject" id="first-subject" required error={errors.firstSubject} />
        <div className={`field${errors.firstBody ? ' field-invalid' : ''}`}>
          <label htmlFor="first-body">Body</label>
          <textarea id="first-body" name="firstBody" rows={4} aria-describedby={errors.firstBody ? 'first-body-error' : undefined} />
          {errors.firstBody ? <p className="field-error" id="first-body-error">{errors.firstBody}</p> : null}
        </div>
      </fieldset>
      <fieldset>
        <legend>Then wait</legend>
        <div className="row">
          <Field label="Amount" name="waitAmount" type="number" min={1} step={1} defaultValue={2} required error={errors.waitAmount} />
          <div className="field">
            <label htmlFor="wait-unit">Unit</label>
            <select id="wait-unit" name="waitUnit" defaultValue={86_400}>
              {WAIT_UNITS.map((unit) => (
                <option key={unit.value} value={unit.value}>
                  {unit.label}
                </option>
              ))}
            </select>
          </div>
        </div>
      </fieldset>
      <fieldset>
        <legend>Follow-up email</legend>
        <Field label="Subject" name="secondSubject" id="second-subject" required error={errors.secondSubject} />
        <div className={`field${errors.secondBody ? ' field-invalid' : ''}`}>
          <label htmlFor="second-body">Body</label>
          <textarea id="second-body" name="secondBody" rows={4} aria-describedby={errors.secondBody ? 'second-body-error' : undefined} />
          {errors.secondBody ? <p className="field-error" id="second-body-error">{errors.secondBody}</p> : null}
        </div>
      </fieldset>
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create campaign'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A blank draft (manual trigger → exit) opened in the builder. */
export const BLANK_FLOW: CampaignDefinition = {
  entryNodeId: 'trigger',
  nodes: [
    { id: 'trigger', type: 'trigger', name: 'Start', position: { x: 0, y: 0 }, config: { kind: 'manual' } },
    { id: 'exit', type: 'exit', name: 'Done', position: { x: 0, y: 300 }, config: {} },
  ],
  edges: [{ from: 'trigger', to: 'exit' }],
};

function BlankCampaignForm({ onCancel }: { onCancel: () => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get('name') ?? '').trim();
    if (name === '') {
      setError('Name the campaign');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.campaigns.create({ name, definition: BLANK_FLOW });
      navigate(`/campaigns/${created.campaign.id}`);
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="blank-campaign-title" noValidate>
      <h2 id="blank-campaign-title">New campaign in the builder</h2>
      <p className="muted small">Starts a draft with a manual trigger and an exit; add steps on the canvas.</p>
      {error ? <Alert>{error}</Alert> : null}
      <Field label="Campaign name" name="name" id="blank-name" required />
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Open in builder'}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type SortKey = 'name' | 'status' | 'sent' | 'openRate' | 'clickRate' | 'conversionRate' | 'activeEnrollments' | 'updatedAt';
const COLUMNS: Array<{ key: SortKey; label: string; numeric?: boolean; narrow?: boolean }> = [
  { key: 'name', label: 'Name' },
  { key: 'status', label: 'Status' },
  { key: 'sent', label: 'Sent', numeric: true },
  { key: 'openRate', label: 'Open rate', numeric: true },
  { key: 'clickRate', label: 'Click rate', numeric: true, narrow: true },
  { key: 'conversionRate', label: 'Conversion', numeric: true, narrow: true },
  { key: 'activeEnrollments', label: 'In progress', numeric: true, narrow: true },
  { key: 'updatedAt', label: 'Updated', narrow: true },
];

type Row = Campaign & { stats: CampaignStatsRow | undefined };

function sortValue(row: Row, key: SortKey): string | number {
  if (key === 'name') return row.name.toLowerCase();
  if (key === 'status') return row.status;
  if (key === 'updatedAt') return row.updatedAt;
  return row.stats?.[key] ?? -1;
}

export function CampaignsPage() {
  const can = useCan();
  const [creating, setCreating] = useState<'drip' | 'blank'>();
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'updatedAt', descending: true });
  const [loaded] = useLoad(async () => {
    const [list, stats] = await Promise.all([api.campaigns.list(), analyticsApi.campaigns().catch(() => null)]);
    const byId = new Map((stats?.campaigns ?? []).map((c) => [c.id, c]));
    return { campaigns: list.campaigns.map((c): Row => ({ ...c, stats: byId.get(c.id) })), statsFailed: stats === null };
  }, []);
  const sorted = useMemo(() => {
    if (loaded.status !== 'ready') return [];
    const rows = [...loaded.data.campaigns];
    rows.sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return sort.descending ? -order : order;
    });
    return rows;
  }, [loaded, sort]);
  const sortBy = (key: SortKey) => setSort((current) => ({ key, descending: current.key === key ? !current.descending : key !== 'name' && key !== 'status' }));

  const body = (
    <LoadedList state={loaded} items={(data) => data.campaigns} loadingLabel="Loading campaigns…" empty={<>No campaigns yet. Create one with <strong>New campaign</strong> above.</>}>
      {(data) => (
        <div className="table-wrap">
          {data.statsFailed ? <Alert kind="info">The numbers could not load; the list shows the campaigns without them.</Alert> : null}
          <table className="table" aria-label="Campaigns">
            <thead>
              <tr>
                {COLUMNS.map((column) => (
                  <th key={column.key} scope="col" className={`${column.numeric ? 'num' : ''}${column.narrow ? ' hide-narrow' : ''}`} aria-sort={sort.key === column.key ? (sort.descending ? 'descending' : 'ascending') : undefined}>
                    <button type="button" className="sort-button" onClick={() => sortBy(column.key)}>
                      {column.label}
                      <span aria-hidden="true">{sort.key === column.key ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
                    </button>
                  </th>
                ))}
                <th scope="col" className="hide-narrow">
                  Sent, 14 days
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((campaign) => (
                <tr key={campaign.id} className="clickable" onClick={() => navigate(`/campaigns/${campaign.id}`)}>
                  <td>
                    <Link to={`/campaigns/${campaign.id}`} onClick={(event) => event.stopPropagation()}>
                      {campaign.name}
                    </Link>
                    {campaign.currentVersion ? <span className="muted small"> v{campaign.currentVersion}</span> : null}
                  </td>
                  <td>
                    <Badge tone={campaign.status}>{STATUS_LABEL[campaign.status] ?? campaign.status}</Badge>
                  </td>
                  <td className="num">{campaign.stats ? count(campaign.stats.sent) : '—'}</td>
                  <td className="num">{pct(campaign.stats?.openRate)}</td>
                  <td className="num hide-narrow">{pct(campaign.stats?.clickRate)}</td>
                  <td className="num hide-narrow">{pct(campaign.stats?.conversionRate)}</td>
                  <td className="num hide-narrow">{campaign.stats ? count(campaign.stats.activeEnrollments) : '—'}</td>
                  <td className="hide-narrow">{formatDate(campaign.updatedAt)}</td>
                  <td className="hide-narrow">
                    {campaign.stats ? <Sparkline label={`Emails sent by ${campaign.name}`} points={campaign.stats.sparkline.map((p) => ({ at: p.at, value: p.sent }))} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </LoadedList>
  );

  return (
    <section>
      <PageHeader title="Campaigns">
        {can('campaigns:write') && !creating ? (
          <>
            <button type="button" className="button" onClick={() => setCreating('blank')}>
              Blank campaign
            </button>
            <button type="button" className="button primary" onClick={() => setCreating('drip')}>
              New campaign
            </button>
          </>
        ) : null}
      </PageHeader>
      {creating === 'drip' ? <NewCampaignForm onCancel={() => setCreating(undefined)} /> : null}
      {creating === 'blank' ? <BlankCampaignForm onCancel={() => setCreating(undefined)} /> : null}
      {body}
      <h2 className="section-title">Broadcasts</h2>
      <BroadcastsPanel editable={can('campaigns:write')} />
    </section>
  );
}
