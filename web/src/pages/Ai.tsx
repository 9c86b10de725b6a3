/**
 * AI: the usage log with filters and a spend-per-day chart by model, the review queue of generated
 * variants, (admins) the provider, policy and budget, and the price table (AiPrices.tsx). Everything
 * goes through /api/ai (docs/ai.md).
 */
import { useState, type FormEvent } from 'react';
import { api, errorMessage, type AiCall, type AiPolicy, type AiProviderKind, type AiSpendDay } from '../api';
import { useMe } from '../session';
import { Alert, Badge, Field, PageHeader, Spinner, formatDate, useLoad } from '../ui';
import { AiPrices } from './AiPrices';

// The server types a call's outcome as a string (one of AI_OUTCOMES in src/ai/ai.schemas.ts); an unknown one gets no tone.
const OUTCOME_TONE: Partial<Record<AiCall['outcome'], string>> = { ok: 'active', fallback: 'paused', refused: 'paused', error: 'failed' };
const COLORS = ['#4f46e5', '#0891b2', '#ca8a04', '#db2777', '#16a34a', '#9333ea'];

function money(value: number): string {
  return value < 0.01 && value > 0 ? value.toFixed(6) : value.toFixed(2);
}

/** One bar per day, stacked by model (cost; calls when nothing cost anything). */
function SpendChart({ days }: { days: AiSpendDay[] }) {
  const models = [...new Set(days.map((d) => `${d.provider}/${d.model}`))];
  const byDay = new Map<string, AiSpendDay[]>();
  for (const d of days) byDay.set(d.day, [...(byDay.get(d.day) ?? []), d]);
  const useCost = days.some((d) => d.cost > 0);
  const valueOf = (d: AiSpendDay) => (useCost ? d.cost : d.calls);
  const max = Math.max(...[...byDay.values()].map((list) => list.reduce((s, d) => s + valueOf(d), 0)), 0);
  if (days.length === 0 || max === 0) return <p className="muted">No AI calls in this period. Preview a template personalized (Email › Templates) or turn on personalization on a campaign's email node, and each call shows here.</p>;
  const width = 640;
  const height = 160;
  const slot = width / byDay.size;
  return (
    <figure className="stack">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`${useCost ? 'Spend' : 'Calls'} per day by model`} style={{ width: '100%', maxWidth: width }}>
        {[...byDay.entries()].map(([day, list], i) => {
          let y = height;
          return (
            <g key={day}>
              {list.map((d) => {
                const h = (valueOf(d) / max) * height;
                y -= h;
                return (
                  <rect key={`${d.provider}/${d.model}`} x={i * slot + slot * 0.15} y={y} width={slot * 0.7} height={h} fill={COLORS[models.indexOf(`${d.provider}/${d.model}`) % COLORS.length]}>
                    <title>{`${day} ${d.provider}/${d.model}: ${d.calls} calls, ${money(d.cost)}`}</title>
                  </rect>
                );
              })}
              <text x={i * slot + slot / 2} y={height + 14} fontSize="10" textAnchor="middle">
                {day.slice(5)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="row wrap small">
        {useCost ? 'Spend' : 'Calls'} per day:{' '}
        {models.map((m, i) => (
          <span key={m}>
            <span aria-hidden="true" style={{ color: COLORS[i % COLORS.length] }}>
              ■
            </span>{' '}
            {m}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

function Usage() {
  const [outcome, setOutcome] = useState('');
  const [operation, setOperation] = useState('');
  const [sinceDays, setSinceDays] = useState(30);
  const from = new Date(Date.now() - sinceDays * 86_400_000).toISOString();
  const params = { ...(outcome ? { outcome } : {}), ...(operation ? { operation } : {}), from };
  const [loaded] = useLoad(async () => ({ ...(await api.ai.usage(params)), ...(await api.ai.calls({ ...params, limit: 100 })) }), [outcome, operation, sinceDays]);
  return (
    <section className="panel stack" aria-labelledby="ai-usage-title">
      <h2 id="ai-usage-title">Usage</h2>
      <div className="row wrap align-end">
        <label className="field">
          Outcome
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">All</option>
            {['ok', 'fallback', 'refused', 'error'].map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Operation
          <select value={operation} onChange={(e) => setOperation(e.target.value)}>
            <option value="">All</option>
            <option value="personalize">personalize</option>
            <option value="subject_variants">subject variants</option>
          </select>
        </label>
        <label className="field">
          Period
          <select value={sinceDays} onChange={(e) => setSinceDays(Number(e.target.value))}>
            <option value={7}>Last 7 days</option>
            <option value={30}>Last 30 days</option>
            <option value={90}>Last 90 days</option>
          </select>
        </label>
      </div>
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        <>
          <SpendChart days={loaded.data.days} />
          {loaded.data.calls.length > 0 ? (
            <div className="table-wrap">
              <table className="table" aria-label="AI calls">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Operation</th>
                    <th scope="col">Model</th>
                    <th scope="col">Outcome</th>
                    <th scope="col" className="hide-narrow">Tokens in / out</th>
                    <th scope="col">Cost</th>
                    <th scope="col" className="hide-narrow">Latency</th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.data.calls.map((call) => (
                    <tr key={call.id}>
                      <td>{formatDate(call.createdAt)}</td>
                      <td>{call.operation}</td>
                      <td>
                        {call.provider}/{call.model}
                      </td>
                      <td>
                        <Badge tone={OUTCOME_TONE[call.outcome] ?? 'draft'}>{call.outcome}</Badge> {call.reasonCode ? <span className="small muted" title={call.reason ?? ''}>{call.reasonCode}</span> : null}
                      </td>
                      <td className="hide-narrow">
                        {call.tokensIn} / {call.tokensOut}
                      </td>
                      <td>{money(call.cost)}</td>
                      <td className="hide-narrow">{call.latencyMs} ms</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function Reviews({ canWrite }: { canWrite: boolean }) {
  const [loaded, reload] = useLoad(() => api.ai.reviews(), []);
  const [error, setError] = useState<string>();
  const decide = async (variantId: string, decision: 'approve' | 'reject') => {
    setError(undefined);
    try {
      await api.ai.review(variantId, decision);
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  return (
    <section className="panel stack" aria-labelledby="ai-reviews-title">
      <h2 id="ai-reviews-title">Review queue</h2>
      <p className="muted small">When the policy requires approval, generated emails wait here and the original is sent; once approved, later sends of that email to that contact use the variant.</p>
      {error ? <Alert>{error}</Alert> : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' && loaded.data.variants.length === 0 ? <p className="muted">Nothing waits for review.</p> : null}
      {loaded.status === 'ready'
        ? loaded.data.variants.map((v) => (
            <article key={v.id} className="stack" aria-label={`Variant ${v.subject}`}>
              <div className="row wrap">
                <div className="stack" style={{ flex: 1, minWidth: 240 }}>
                  <h3 className="small muted">Original</h3>
                  <strong>{v.original.subject}</strong>
                  <iframe title={`Original of ${v.subject}`} sandbox="" srcDoc={v.original.html} style={{ width: '100%', height: 180, border: '1px solid #ddd' }} />
                </div>
                <div className="stack" style={{ flex: 1, minWidth: 240 }}>
                  <h3 className="small muted">Generated ({v.generator})</h3>
                  <strong>{v.subject}</strong>
                  <iframe title={`Generated ${v.subject}`} sandbox="" srcDoc={v.html} style={{ width: '100%', height: 180, border: '1px solid #ddd' }} />
                </div>
              </div>
              <p className="small">Changes: {v.changes.join('; ') || 'none listed'}</p>
              {canWrite ? (
                <div className="row">
                  <button type="button" className="button primary small" onClick={() => void decide(v.id, 'approve')}>
                    Approve
                  </button>
                  <button type="button" className="button danger small" onClick={() => void decide(v.id, 'reject')}>
                    Reject
                  </button>
                </div>
              ) : null}
            </article>
          ))
        : null}
    </section>
  );
}

function list(value: FormDataEntryValue | null): string[] {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function Governance({ canAdmin }: { canAdmin: boolean }) {
  const [loaded, reload] = useLoad(async () => ({ settings: await api.ai.settings(), policy: await api.ai.policy(), budget: await api.ai.budget() }), []);
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string }>();
  const run = async (action: () => Promise<unknown>, done: string) => {
    setMessage(undefined);
    try {
      await action();
      setMessage({ kind: 'success', text: done });
      await reload();
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
    }
  };
  if (loaded.status === 'loading') return <Spinner />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  const { settings, policy, budget } = loaded.data;
  const saveSettings = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const provider = String(form.get('provider')) as AiProviderKind;
    const apiKey = String(form.get('apiKey') ?? '');
    const baseUrl = String(form.get('baseUrl') ?? '').trim();
    void run(() => api.ai.saveSettings({ provider, ...(provider === 'offline' ? {} : { model: String(form.get('model') ?? '').trim(), baseUrl: baseUrl === '' ? null : baseUrl }), ...(apiKey ? { apiKey } : {}) }), 'Provider saved.');
  };
  const savePolicy = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next: AiPolicy = {
      allowedProviders: (['offline', 'openai', 'anthropic'] as const).filter((p) => form.get(`allow-${p}`) === 'on'),
      allowedModels: list(form.get('allowedModels')),
      maxTokens: Number(form.get('maxTokens')),
      redactPii: form.get('redactPii') === 'on',
      personalFields: list(form.get('personalFields')),
      requireApproval: form.get('requireApproval') === 'on',
    };
    void run(() => api.ai.savePolicy(next), 'Policy saved.');
  };
  const saveBudget = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const limit = String(form.get('monthlyLimit') ?? '').trim();
    void run(() => api.ai.saveBudget({ monthlyLimit: limit === '' ? null : Number(limit), warnRatio: Number(form.get('warnPercent')) / 100 }), 'Budget saved.');
  };
  return (
    <section className="panel stack" aria-labelledby="ai-governance-title">
      <h2 id="ai-governance-title">Provider, policy and budget</h2>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      <p>
        This month ({budget.month.slice(0, 7)}): spent <strong>{money(budget.spent)}</strong>
        {budget.monthlyLimit !== null ? ` of ${money(budget.monthlyLimit)}` : ' (no limit)'}
        {budget.reserved > 0 ? `, ${money(budget.reserved)} reserved by calls in flight` : ''}.
        {budget.alerts.map((a) => (
          <Badge key={`${a.month}-${a.kind}`} tone={a.kind === 'exceeded' ? 'failed' : 'paused'}>
            {a.kind} {a.month.slice(0, 7)}
          </Badge>
        ))}
      </p>
      {!canAdmin ? <p className="muted small">Provider {settings.provider}{settings.provider !== 'offline' ? ` (${settings.model})` : ''}. Only admins change these settings.</p> : null}
      <fieldset disabled={!canAdmin} className="stack">
        <form className="stack" onSubmit={saveSettings} aria-label="AI provider">
          <div className="row wrap align-start">
            <div className="field">
              <label htmlFor="ai-provider">Provider</label>
              <select id="ai-provider" name="provider" defaultValue={settings.provider}>
                <option value="offline">Offline rules</option>
                <option value="openai">OpenAI-compatible</option>
                <option value="anthropic">Anthropic</option>
              </select>
            </div>
            <Field label="Model" name="model" id="ai-model" defaultValue={settings.provider === 'offline' ? '' : settings.model} />
            <Field label="Base URL" name="baseUrl" id="ai-base-url" defaultValue={settings.baseUrl ?? ''} hint="e.g. http://localhost:11434/v1 for Ollama" />
            <Field label={settings.hasApiKey ? 'API key (stored; type to replace)' : 'API key'} name="apiKey" id="ai-api-key" type="password" autoComplete="off" />
          </div>
          <div className="row">
            <button type="submit" className="button primary">
              Save provider
            </button>
            <button type="button" className="button" onClick={() => void run(async () => {
              const result = await api.ai.test();
              if (!result.ok) throw new Error(result.detail);
            }, 'The provider answered.')}>
              Test connection
            </button>
          </div>
        </form>
        <form className="stack" onSubmit={savePolicy} aria-label="AI policy">
          <div className="row wrap">
            {([['offline', 'offline rules'], ['openai', 'OpenAI-compatible'], ['anthropic', 'Anthropic']] as const).map(([p, label]) => (
              <label key={p} className="checkbox">
                <input type="checkbox" name={`allow-${p}`} defaultChecked={policy.allowedProviders.includes(p)} /> Allow {label}
              </label>
            ))}
          </div>
          <div className="row wrap align-start">
            <Field label="Allowed models (comma-separated; empty: any priced)" name="allowedModels" id="ai-models" defaultValue={policy.allowedModels.join(', ')} />
            <Field label="Max tokens" name="maxTokens" id="ai-max-tokens" type="number" min={16} max={32000} defaultValue={policy.maxTokens} />
            <Field label="Personal custom fields" name="personalFields" id="ai-personal" defaultValue={policy.personalFields.join(', ')} />
          </div>
          <div className="row wrap">
            <label className="checkbox">
              <input type="checkbox" name="redactPii" defaultChecked={policy.redactPii} /> Redact personal data
            </label>
            <label className="checkbox">
              <input type="checkbox" name="requireApproval" defaultChecked={policy.requireApproval} /> Require approval
            </label>
          </div>
          <div className="row">
            <button type="submit" className="button primary">
              Save policy
            </button>
          </div>
        </form>
        <form className="row wrap align-end" onSubmit={saveBudget} aria-label="AI budget">
          <Field label="Monthly limit (empty: none)" name="monthlyLimit" id="ai-limit" type="number" step="any" min={0} defaultValue={budget.monthlyLimit ?? ''} />
          <Field label="Warn at (%)" name="warnPercent" id="ai-warn" type="number" min={1} max={100} defaultValue={Math.round(budget.warnRatio * 100)} />
          <button type="submit" className="button primary">
            Save budget
          </button>
        </form>
      </fieldset>
    </section>
  );
}

export function AiPage() {
  const me = useMe();
  return (
    <div className="stack">
      <PageHeader title="AI" />
      <Usage />
      <Reviews canWrite={me.permissions.includes('ai:write')} />
      <Governance canAdmin={me.permissions.includes('settings:write')} />
      <AiPrices canAdmin={me.permissions.includes('settings:write')} />
    </div>
  );
}
