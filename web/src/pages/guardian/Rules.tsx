/**
 * Guardian → Rules: the workspace's alert rules (the defaults and its own), and the editor —
 * signal, condition, window, minimum volume, severity, cooldown — with the server's validation
 * shown beside each field. Guardian admins edit; everyone else reads.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { errorMessage, fieldErrors } from '../../api';
import { Link, navigate } from '../../router';
import { Alert, Field, LoadedList, Spinner, useLoad } from '../../ui';
import { SeverityBadge } from './Alerts';
import { formatValue, formatWindow, guardianApi, type RuleInput, type RuleView, type SignalInfo } from './guardian-api';
import { GuardianLayout } from './GuardianLayout';
import { guardianApi as notifyApi, type GuardianChannel } from '../../guardian-api';

const UNITS: Array<[string, number]> = [
  ['minutes', 60],
  ['hours', 3600],
  ['days', 86_400],
];

function useCanConfigure(): boolean {
  const [me] = useLoad(() => guardianApi.me(), []);
  return me.status === 'ready' && me.data.capabilities.includes('config:write');
}

export function GuardianRulesPage() {
  const [loaded, reload] = useLoad(() => Promise.all([guardianApi.rules(), guardianApi.signals()]), []);
  const canConfigure = useCanConfigure();
  const [error, setError] = useState<string>();
  const toggle = async (rule: RuleView) => {
    setError(undefined);
    try {
      await guardianApi.updateRule(rule.id, { enabled: !rule.enabled });
      await reload();
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };
  return (
    <GuardianLayout
      active="rules"
      actions={
        canConfigure ? (
          <button type="button" className="button primary" onClick={() => navigate('/guardian/rules/new')}>
            New rule
          </button>
        ) : null
      }
    >
      {error ? <Alert>{error}</Alert> : null}
      <LoadedList state={loaded} items={([data]) => data.rules} loadingLabel="Loading rules…" empty={<p>No rules. Create one with “New rule” to be alerted when a signal crosses a threshold.</p>}>
        {([data, catalog]) => {
          const signals = new Map(catalog.signals.map((s) => [s.key, s]));
          return (
            <div className="table-wrap">
              <table className="table" aria-label="Alert rules">
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Condition</th>
                    <th scope="col">Severity</th>
                    <th scope="col">Latest value</th>
                    <th scope="col">On</th>
                  </tr>
                </thead>
                <tbody>
                  {data.rules.map((rule) => {
                    const signal = signals.get(rule.signal);
                    return (
                      <tr key={rule.id}>
                        <td>
                          <Link to={`/guardian/rules/${rule.id}`}>{rule.name}</Link>
                        </td>
                        <td>
                          {signal?.label ?? rule.signal} {rule.comparison} {formatValue(rule.threshold, signal?.unit)}
                          {signal?.windowed ? ` over ${formatWindow(rule.windowSeconds)}` : ''}
                          {rule.minVolume > 0 ? `, at least ${rule.minVolume.toLocaleString()} ${signal?.volume ?? ''}` : ''}
                        </td>
                        <td>
                          <SeverityBadge severity={rule.severity} />
                        </td>
                        <td>{formatValue(rule.lastValue, signal?.unit)}</td>
                        <td>
                          <input type="checkbox" checked={rule.enabled} disabled={!canConfigure} aria-label={`${rule.name} enabled`} onChange={() => void toggle(rule)} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          );
        }}
      </LoadedList>
    </GuardianLayout>
  );
}

function splitWindow(seconds: number): [number, number] {
  for (const [, size] of [...UNITS].reverse()) if (seconds % size === 0) return [seconds / size, size];
  return [seconds / 60, 60];
}

function RuleForm({ rule, signals, channels, canConfigure }: { rule: RuleView | undefined; signals: SignalInfo[]; channels: GuardianChannel[]; canConfigure: boolean }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [signal, setSignal] = useState(rule?.signal ?? 'bounce_rate');
  const [comparison, setComparison] = useState<RuleInput['comparison']>(rule?.comparison ?? '>');
  const [threshold, setThreshold] = useState(String(rule?.threshold ?? 5));
  const initialWindow = splitWindow(rule?.windowSeconds ?? 3600);
  const [windowValue, setWindowValue] = useState(String(initialWindow[0]));
  const [windowUnit, setWindowUnit] = useState(initialWindow[1]);
  const [minVolume, setMinVolume] = useState(String(rule?.minVolume ?? 0));
  const [severity, setSeverity] = useState<RuleInput['severity']>(rule?.severity ?? 'high');
  const [cooldown, setCooldown] = useState(String((rule?.cooldownSeconds ?? 3600) / 60));
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [channelIds, setChannelIds] = useState<string[]>(rule?.channelIds ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);
  const info = signals.find((s) => s.key === signal);
  useEffect(() => {
    if (info && info.volume === null) setMinVolume('0');
  }, [info]);

  const number = (field: string, text: string, label: string): number | null => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      setErrors((e) => ({ ...e, [field]: `${label} must be a number` }));
      return null;
    }
    return value;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setMessage(undefined);
    const t = number('threshold', threshold, 'The threshold');
    const w = number('windowSeconds', windowValue, 'The window');
    const v = number('minVolume', minVolume, 'The minimum volume');
    const c = number('cooldownSeconds', cooldown, 'The cooldown');
    if (t === null || w === null || v === null || c === null) return;
    const input: RuleInput = { name, signal, comparison, threshold: t, windowSeconds: Math.round(w * windowUnit), minVolume: Math.round(v), severity, cooldownSeconds: Math.round(c * 60), enabled, channelIds };
    setBusy(true);
    try {
      if (rule) {
        await guardianApi.updateRule(rule.id, input);
        setMessage({ kind: 'success', text: 'Rule saved. It is evaluated at the next check.' });
      } else {
        const created = await guardianApi.createRule(input);
        navigate(`/guardian/rules/${created.id}`, { replace: true });
      }
    } catch (caught) {
      const fields = fieldErrors(caught);
      setErrors(fields);
      setMessage({ kind: 'error', text: Object.keys(fields).length > 0 ? 'Please correct the fields marked below.' : errorMessage(caught) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!rule || !window.confirm(`Delete the rule “${rule.name}”? Its past alerts stay.`)) return;
    try {
      await guardianApi.deleteRule(rule.id);
      navigate('/guardian/rules');
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} noValidate aria-label="Rule">
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {!canConfigure ? <p className="muted">Your Guardian role can read rules but not change them.</p> : null}
      <fieldset disabled={!canConfigure || busy}>
        <Field label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} required maxLength={200} />
        <div className={`field${errors.signal ? ' field-invalid' : ''}`}>
          <label htmlFor="field-signal">Signal</label>
          <select id="field-signal" value={signal} onChange={(e) => setSignal(e.target.value)} aria-describedby="field-signal-hint">
            {signals.map((s) => (
              <option key={s.key} value={s.key}>
                {s.label}
              </option>
            ))}
          </select>
          <p className="field-hint" id="field-signal-hint">
            {errors.signal ?? info?.description}
          </p>
        </div>
        <div className="field">
          <label htmlFor="field-comparison">Alert when the value is</label>
          <select id="field-comparison" value={comparison} onChange={(e) => setComparison(e.target.value as RuleInput['comparison'])}>
            <option value=">">above</option>
            <option value=">=">at or above</option>
            <option value="<">below</option>
            <option value="<=">at or below</option>
          </select>
        </div>
        <Field label={`Threshold (${info?.unit === 'percent' ? '%' : (info?.unit ?? '')})`} name="threshold" inputMode="decimal" value={threshold} onChange={(e) => setThreshold(e.target.value)} error={errors.threshold} />
        {info?.windowed !== false ? (
          <div className={`field${errors.windowSeconds ? ' field-invalid' : ''}`}>
            <label htmlFor="field-windowSeconds">Over the last</label>
            <input id="field-windowSeconds" inputMode="decimal" value={windowValue} onChange={(e) => setWindowValue(e.target.value)} aria-invalid={errors.windowSeconds ? true : undefined} aria-describedby={errors.windowSeconds ? 'field-windowSeconds-error' : undefined} />{' '}
            <select aria-label="Window unit" value={windowUnit} onChange={(e) => setWindowUnit(Number(e.target.value))}>
              {UNITS.map(([label, size]) => (
                <option key={size} value={size}>
                  {label}
                </option>
              ))}
            </select>
            {errors.windowSeconds ? (
              <p className="field-error" id="field-windowSeconds-error">
                {errors.windowSeconds}
              </p>
            ) : null}
          </div>
        ) : null}
        {info?.volume ? (
          <Field label={`Only with at least this many ${info.volume}`} name="minVolume" inputMode="numeric" value={minVolume} onChange={(e) => setMinVolume(e.target.value)} error={errors.minVolume} hint="Below it the rule stays quiet, so one bounce in three sends pages nobody." />
        ) : null}
        <div className="field">
          <label htmlFor="field-severity">Severity</label>
          <select id="field-severity" value={severity} onChange={(e) => setSeverity(e.target.value as RuleInput['severity'])}>
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
            <option value="critical">Critical</option>
          </select>
        </div>
        <Field label="Cooldown between notifications (minutes)" name="cooldownSeconds" inputMode="numeric" value={cooldown} onChange={(e) => setCooldown(e.target.value)} error={errors.cooldownSeconds} hint="While an alert stays open, repeated firings within the cooldown are added to its timeline without notifying again." />
        <fieldset className="field">
          <legend>Notify</legend>
          {channels.length === 0 ? (
            <p className="muted">
              No channels yet: this rule's alerts will show in Guardian only. <Link to="/guardian/channels">Add a channel</Link> (email, Slack, webhook or in-app) to be told.
            </p>
          ) : (
            channels.map((channel) => (
              <label key={channel.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={channelIds.includes(channel.id)}
                  onChange={(e) => setChannelIds((ids) => (e.target.checked ? [...ids, channel.id] : ids.filter((x) => x !== channel.id)))}
                />{' '}
                {channel.name} <span className="muted">({channel.kind === 'in_app' ? 'in-app' : channel.kind})</span>
              </label>
            ))
          )}
          {errors.channelIds ? <p className="field-error">{errors.channelIds}</p> : null}
        </fieldset>
        <div className="field">
          <label>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          </label>
        </div>
        <div className="page-actions">
          <button type="submit" className="button primary">
            {rule ? 'Save rule' : 'Create rule'}
          </button>
          {rule ? (
            <button type="button" className="button" onClick={() => void remove()}>
              Delete
            </button>
          ) : null}
        </div>
      </fieldset>
    </form>
  );
}

export function GuardianRulePage({ ruleId }: { ruleId: string | undefined }) {
  const [loaded] = useLoad(() => Promise.all([ruleId ? guardianApi.rule(ruleId) : Promise.resolve(undefined), guardianApi.signals(), notifyApi.channels.list()]), [ruleId]);
  const canConfigure = useCanConfigure();
  return (
    <GuardianLayout active="rules">
      <p>
        <Link to="/guardian/rules">← All rules</Link>
      </p>
      <h2>{ruleId ? 'Edit rule' : 'New rule'}</h2>
      {loaded.status === 'loading' ? <Spinner label="Loading the rule…" /> : loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : <RuleForm rule={loaded.data[0]} signals={loaded.data[1].signals} channels={loaded.data[2].channels} canConfigure={canConfigure} />}
    </GuardianLayout>
  );
}
