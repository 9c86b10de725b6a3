/**
 * The builder's side panel forms: one per node type and kind, following the TypeBox schema of
 * src/campaigns/definition.ts. Empty inputs leave a field out, so the API names what is missing.
 */
import type { ReactNode } from 'react';
import type { CampaignNode, Member } from '../api';
import { defaultConfig } from '../campaigns/builder';

type Config = Record<string, unknown>;

interface FormProps {
  node: CampaignNode;
  onChange: (config: Config) => void;
  /** A branch or variant id renamed: edges leaving that handle follow it. */
  onRenameHandle: (from: string, to: string) => void;
  segments: Array<{ id: string; name: string }>;
  members: Member[];
  /** The workspace's subscription topics, for email nodes. */
  topics: Array<{ id: string; name: string; isDefault: boolean }>;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
const num = (text: string): number | undefined => (text.trim() === '' || !Number.isFinite(Number(text)) ? undefined : Number(text));

function without(config: Config, key: string, value: unknown): Config {
  const next = { ...config };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

function Text({ label, id, value, onChange, multiline, type = 'text', example }: { label: string; id: string; value: string; onChange: (text: string) => void; multiline?: boolean; type?: string; example?: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea id={id} rows={6} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} />
      ) : (
        <input id={id} type={type} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} />
      )}
    </div>
  );
}

function Choice({ label, id, value, options, onChange }: { label: string; id: string; value: string; options: Array<[string, string]>; onChange: (value: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
        {options.map(([optionValue, optionLabel]) => (
          <option key={optionValue} value={optionValue}>
            {optionLabel}
          </option>
        ))}
      </select>
    </div>
  );
}

const TRIGGER_KINDS: Array<[string, string]> = [
  ['manual', 'Manual enrollment'],
  ['contact_created', 'New contact'],
  ['tag_added', 'Tag added'],
  ['score_threshold', 'Score threshold crossed'],
  ['event', 'Event received'],
  ['email_event', 'Email event'],
  ['segment_entered', 'Segment entered'],
];
const WAIT_KINDS: Array<[string, string]> = [
  ['duration', 'A duration'],
  ['until_time', 'Until a local time'],
  ['event', 'Until an event (with timeout)'],
];
const ACTION_KINDS: Array<[string, string]> = [
  ['tag_add', 'Add a tag'],
  ['tag_remove', 'Remove a tag'],
  ['score_change', 'Change the score'],
  ['field_update', 'Update a field'],
  ['notify', 'Notify a user'],
];
const OPERATORS: Array<[string, string]> = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'not_exists'].map((o) => [o, o.replace('_', ' ')]);
const RULE_KINDS: Array<[string, string]> = [
  ['tag', 'Tag'],
  ['field', 'Field'],
  ['score', 'Score'],
  ['event', 'Event'],
  ['email', 'Email engagement'],
];
const ENGAGEMENTS: Array<[string, string]> = ['delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'].map((e) => [e, e]);
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function defaultRule(kind: string): Config {
  switch (kind) {
    case 'field':
      return { kind: 'field', field: '', op: 'eq', value: '' };
    case 'score':
      return { kind: 'score', op: 'gte', value: 60 };
    case 'event':
      return { kind: 'event', name: '', present: true };
    case 'email':
      return { kind: 'email', nodeId: '', event: 'opened', present: true };
    default:
      return { kind: 'tag', tag: '', present: true };
  }
}

function RuleEditor({ rule, id, onChange, onRemove }: { rule: Config; id: string; onChange: (rule: Config) => void; onRemove: () => void }) {
  const kind = str(rule.kind);
  const set = (key: string, value: unknown) => onChange(without(rule, key, value));
  const present = (
    <Choice label="Is" id={`${id}-present`} value={rule.present === false ? 'no' : 'yes'} options={[['yes', 'present'], ['no', 'absent']]} onChange={(value) => set('present', value === 'yes')} />
  );
  let fields: ReactNode;
  switch (kind) {
    case 'tag':
      fields = (
        <>
          <Text label="Tag" id={`${id}-tag`} value={str(rule.tag)} onChange={(text) => set('tag', text)} />
          {present}
        </>
      );
      break;
    case 'field':
      fields = (
        <>
          <Text label="Field" id={`${id}-field`} value={str(rule.field)} onChange={(text) => set('field', text)} example="company" />
          <Choice label="Operator" id={`${id}-op`} value={str(rule.op)} options={OPERATORS} onChange={(value) => set('op', value)} />
          <Text label="Value" id={`${id}-value`} value={str(rule.value)} onChange={(text) => set('value', text)} />
        </>
      );
      break;
    case 'score':
      fields = (
        <>
          <Choice label="Operator" id={`${id}-op`} value={str(rule.op)} options={OPERATORS.slice(0, 6)} onChange={(value) => set('op', value)} />
          <Text label="Score" id={`${id}-value`} type="number" value={str(rule.value)} onChange={(text) => set('value', num(text))} />
        </>
      );
      break;
    case 'event':
      fields = (
        <>
          <Text label="Event name" id={`${id}-name`} value={str(rule.name)} onChange={(text) => set('name', text)} />
          <Text label="Within seconds (optional)" id={`${id}-within`} type="number" value={str(rule.withinSeconds)} onChange={(text) => set('withinSeconds', num(text))} />
          {present}
        </>
      );
      break;
    case 'email':
      fields = (
        <>
          <Text label="Email node id" id={`${id}-node`} value={str(rule.nodeId)} onChange={(text) => set('nodeId', text)} />
          <Choice label="Engagement" id={`${id}-event`} value={str(rule.event)} options={ENGAGEMENTS} onChange={(value) => set('event', value)} />
          {present}
        </>
      );
      break;
    default:
      fields = <p className="muted small">A nested group, kept as it is.</p>;
  }
  return (
    <div className="rule">
      {'operator' in rule ? null : <Choice label="Rule" id={`${id}-kind`} value={kind} options={RULE_KINDS} onChange={(value) => onChange(defaultRule(value))} />}
      {fields}
      <button type="button" className="button small ghost" onClick={onRemove}>
        Remove rule
      </button>
    </div>
  );
}

function ConditionForm({ config, onChange, onRenameHandle }: { config: Config; onChange: (config: Config) => void; onRenameHandle: (from: string, to: string) => void }) {
  const branches = (Array.isArray(config.branches) ? config.branches : []) as Config[];
  const setBranch = (index: number, branch: Config) => onChange({ ...config, branches: branches.map((b, i) => (i === index ? branch : b)) });
  const freeId = () => {
    for (let n = branches.length + 1; ; n += 1) if (!branches.some((b) => b.id === `branch-${n}`)) return `branch-${n}`;
  };
  return (
    <div className="stack">
      <p className="muted small">Branches are tried in order; the first match wins, the default branch otherwise.</p>
      {branches.map((branch, index) => {
        const match = (typeof branch.match === 'object' && branch.match !== null ? branch.match : { operator: 'and', rules: [] }) as Config;
        const rules = (Array.isArray(match.rules) ? match.rules : []) as Config[];
        const setRules = (next: Config[]) => setBranch(index, { ...branch, match: { ...match, rules: next } });
        const prefix = `branch-${index}`;
        return (
          <fieldset key={index}>
            <legend>Branch {index + 1}</legend>
            <Text
              label="Branch id"
              id={`${prefix}-id`}
              value={str(branch.id)}
              onChange={(text) => {
                onRenameHandle(str(branch.id), text);
                setBranch(index, { ...branch, id: text });
              }}
            />
            <Text label="Branch name" id={`${prefix}-name`} value={str(branch.name)} onChange={(text) => setBranch(index, without(branch, 'name', text === '' ? undefined : text))} />
            <Choice label="Match" id={`${prefix}-operator`} value={str(match.operator)} options={[['and', 'all rules (AND)'], ['or', 'any rule (OR)']]} onChange={(value) => setBranch(index, { ...branch, match: { ...match, operator: value } })} />
            {rules.map((rule, r) => (
              <RuleEditor key={r} id={`${prefix}-rule-${r}`} rule={rule} onChange={(next) => setRules(rules.map((x, i) => (i === r ? next : x)))} onRemove={() => setRules(rules.filter((_, i) => i !== r))} />
            ))}
            <div className="row">
              <button type="button" className="button small" onClick={() => setRules([...rules, defaultRule('tag')])}>
                Add rule
              </button>
              <button type="button" className="button small danger" onClick={() => onChange({ ...config, branches: branches.filter((_, i) => i !== index) })}>
                Remove branch
              </button>
            </div>
          </fieldset>
        );
      })}
      <button type="button" className="button small" onClick={() => onChange({ ...config, branches: [...branches, { id: freeId(), match: { operator: 'and', rules: [defaultRule('tag')] } }] })}>
        Add branch
      </button>
    </div>
  );
}

function SplitForm({ config, onChange, onRenameHandle }: { config: Config; onChange: (config: Config) => void; onRenameHandle: (from: string, to: string) => void }) {
  const variants = (Array.isArray(config.variants) ? config.variants : []) as Config[];
  const setVariant = (index: number, variant: Config) => onChange({ ...config, variants: variants.map((v, i) => (i === index ? variant : v)) });
  const total = variants.reduce((sum, v) => sum + (typeof v.weight === 'number' ? v.weight : 0), 0);
  return (
    <div className="stack">
      <p className={`small ${total === 100 ? 'muted' : 'field-error'}`}>Weights add up to {total} (must be 100). A contact always lands in the same variant.</p>
      {variants.map((variant, index) => (
        <div className="row" key={index}>
          <Text
            label={`Variant ${index + 1} id`}
            id={`variant-${index}-id`}
            value={str(variant.id)}
            onChange={(text) => {
              onRenameHandle(str(variant.id), text);
              setVariant(index, { ...variant, id: text });
            }}
          />
          <Text label="Weight" id={`variant-${index}-weight`} type="number" value={str(variant.weight)} onChange={(text) => setVariant(index, without(variant, 'weight', num(text)))} />
          <button type="button" className="button small ghost" onClick={() => onChange({ ...config, variants: variants.filter((_, i) => i !== index) })}>
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="button small"
        onClick={() => {
          let n = variants.length;
          while (variants.some((v) => v.id === String.fromCharCode(97 + n))) n += 1;
          onChange({ ...config, variants: [...variants, { id: String.fromCharCode(97 + n), weight: 0 }] });
        }}
      >
        Add variant
      </button>
    </div>
  );
}

function WaitForm({ config, onChange }: { config: Config; onChange: (config: Config) => void }) {
  const set = (key: string, value: unknown) => onChange(without(config, key, value));
  const kind = str(config.kind);
  const kindChoice = <Choice label="Wait for" id="wait-kind" value={kind} options={WAIT_KINDS} onChange={(value) => onChange(defaultConfig('wait', value))} />;
  if (kind === 'until_time') {
    const weekdays = Array.isArray(config.weekdays) ? (config.weekdays as number[]) : [];
    const quiet = (typeof config.quietHours === 'object' && config.quietHours !== null ? config.quietHours : undefined) as { start?: number; end?: number } | undefined;
    return (
      <div className="stack">
        {kindChoice}
        <fieldset>
          <legend>Weekdays (none: any day)</legend>
          <div className="row">
            {WEEKDAYS.map((day, index) => (
              <label key={day} className="inline-check">
                <input
                  type="checkbox"
                  checked={weekdays.includes(index)}
                  onChange={(event) => {
                    const next = event.target.checked ? [...weekdays, index].sort() : weekdays.filter((d) => d !== index);
                    set('weekdays', next.length === 0 ? undefined : next);
                  }}
                />{' '}
                {day}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="row">
          <Text label="Hour (0–23)" id="wait-hour" type="number" value={str(config.hour)} onChange={(text) => set('hour', num(text))} />
          <Text label="Minute" id="wait-minute" type="number" value={str(config.minute)} onChange={(text) => set('minute', num(text))} />
        </div>
        <div className="row">
          <Text label="Quiet from" id="wait-quiet-start" type="number" value={str(quiet?.start)} onChange={(text) => set('quietHours', num(text) === undefined && quiet?.end === undefined ? undefined : { ...quiet, start: num(text) })} />
          <Text label="Quiet until" id="wait-quiet-end" type="number" value={str(quiet?.end)} onChange={(text) => set('quietHours', num(text) === undefined && quiet?.start === undefined ? undefined : { ...quiet, end: num(text) })} />
        </div>
        <Text label="Time zone for contacts without one" id="wait-zone" value={str(config.defaultTimezone)} onChange={(text) => set('defaultTimezone', text === '' ? undefined : text)} example="UTC" />
      </div>
    );
  }
  if (kind === 'event') {
    return (
      <div className="stack">
        {kindChoice}
        <Text label="Event name" id="wait-event" value={str(config.name)} onChange={(text) => set('name', text)} example="order_completed" />
        <Text label="Timeout (hours)" id="wait-timeout" type="number" value={typeof config.timeoutSeconds === 'number' ? String(config.timeoutSeconds / 3600) : ''} onChange={(text) => set('timeoutSeconds', num(text) === undefined ? undefined : Math.round(num(text)! * 3600))} />
        <Text label="Correlation key (optional)" id="wait-correlation" value={str(config.correlationKey)} onChange={(text) => set('correlationKey', text === '' ? undefined : text)} example="cart_id" />
        <p className="muted small">Leaves by “next” when the event arrives, by “timeout” otherwise.</p>
      </div>
    );
  }
  const seconds = typeof config.seconds === 'number' ? config.seconds : undefined;
  const unit = seconds !== undefined && seconds % 86_400 === 0 && seconds > 0 ? 86_400 : seconds !== undefined && seconds % 3_600 === 0 && seconds > 0 ? 3_600 : 60;
  return (
    <div className="stack">
      {kindChoice}
      <div className="row">
        <Text label="Amount" id="wait-amount" type="number" value={seconds === undefined ? '' : String(seconds / unit)} onChange={(text) => set('seconds', num(text) === undefined ? undefined : Math.round(num(text)! * unit))} />
        <Choice
          label="Unit"
          id="wait-unit"
          value={String(unit)}
          options={[
            ['60', 'minutes'],
            ['3600', 'hours'],
            ['86400', 'days'],
          ]}
          onChange={(value) => set('seconds', seconds === undefined ? undefined : (seconds / unit) * Number(value))}
        />
      </div>
    </div>
  );
}

/** The config form for the selected node. */
export function NodeConfigForm({ node, onChange, onRenameHandle, segments, members, topics }: FormProps) {
  const config = (node.config ?? {}) as Config;
  const set = (key: string, value: unknown) => onChange(without(config, key, value));
  const optional = (text: string) => (text === '' ? undefined : text);
  switch (node.type) {
    case 'trigger': {
      const kind = str(config.kind);
      return (
        <div className="stack">
          <Choice label="Contacts enter on" id="trigger-kind" value={kind} options={TRIGGER_KINDS} onChange={(value) => onChange(defaultConfig('trigger', value))} />
          {kind === 'tag_added' ? <Text label="Tag" id="trigger-tag" value={str(config.tag)} onChange={(text) => set('tag', text)} /> : null}
          {kind === 'score_threshold' ? <Text label="Score threshold (1–100)" id="trigger-threshold" type="number" value={str(config.threshold)} onChange={(text) => set('threshold', num(text))} /> : null}
          {kind === 'event' ? <Text label="Event name" id="trigger-event" value={str(config.name)} onChange={(text) => set('name', text)} example="signed_up" /> : null}
          {kind === 'email_event' ? (
            <Choice label="Email event" id="trigger-email-event" value={str(config.event)} options={['opened', 'clicked', 'replied', 'bounced', 'unsubscribed'].map((e) => [e, e])} onChange={(value) => onChange(without(without(config, 'event', value), 'topicId', value === 'unsubscribed' ? config.topicId : undefined))} />
          ) : null}
          {kind === 'email_event' && config.event === 'unsubscribed' ? (
            <Choice label="Topic" id="trigger-email-topic" value={str(config.topicId)} options={[['', 'Any topic'], ...topics.map((t): [string, string] => [t.id, t.name])]} onChange={(value) => set('topicId', optional(value))} />
          ) : null}
          {kind === 'segment_entered' ? (
            <Choice label="Segment" id="trigger-segment" value={str(config.segmentId)} options={[['', 'Choose a segment'], ...segments.map((s): [string, string] => [s.id, s.name])]} onChange={(value) => set('segmentId', value)} />
          ) : null}
        </div>
      );
    }
    case 'email':
      return (
        <div className="stack">
          <Text label="Subject" id="email-subject" value={str(config.subject)} onChange={(text) => set('subject', text)} />
          <Text label="Body (HTML or MJML, Liquid variables)" id="email-html" multiline value={str(config.html)} onChange={(text) => set('html', text)} example="<p>Hi {{ contact.first_name }}</p>" />
          <Text label="Text part (optional)" id="email-text" multiline value={str(config.text)} onChange={(text) => set('text', optional(text))} />
          <Text label="From (optional)" id="email-from" value={str(config.from)} onChange={(text) => set('from', optional(text))} />
          <Choice
            label="Subscription topic"
            id="email-topic"
            value={str(config.topicId)}
            options={[['', `Workspace default${topics.find((t) => t.isDefault) ? ` (${topics.find((t) => t.isDefault)!.name})` : ' (none: unsubscribe leaves all)'}`], ...topics.map((t): [string, string] => [t.id, t.name])]}
            onChange={(value) => set('topicId', optional(value))}
          />
          <Choice
            label="AI personalization"
            id="email-personalization"
            value={str(config.personalization) || 'off'}
            options={[
              ['off', 'Off'],
              ['offline', 'Offline rules (no provider, no cost)'],
              ['provider', "The workspace's AI provider"],
            ]}
            onChange={(value) => set('personalization', value === 'off' ? undefined : value)}
          />
        </div>
      );
    case 'wait':
      return <WaitForm config={config} onChange={onChange} />;
    case 'condition':
      return <ConditionForm config={config} onChange={onChange} onRenameHandle={onRenameHandle} />;
    case 'split':
      return <SplitForm config={config} onChange={onChange} onRenameHandle={onRenameHandle} />;
    case 'action': {
      const kind = str(config.kind);
      return (
        <div className="stack">
          <Choice label="Action" id="action-kind" value={kind} options={ACTION_KINDS} onChange={(value) => onChange(defaultConfig('action', value))} />
          {kind === 'tag_add' || kind === 'tag_remove' ? <Text label="Tag" id="action-tag" value={str(config.tag)} onChange={(text) => set('tag', text)} /> : null}
          {kind === 'score_change' ? <Text label="Change by (−100 to 100)" id="action-delta" type="number" value={str(config.delta)} onChange={(text) => set('delta', num(text))} /> : null}
          {kind === 'field_update' ? (
            <>
              <Text label="Field" id="action-field" value={str(config.field)} onChange={(text) => set('field', text)} example="status or a custom field" />
              <Text label="Value" id="action-value" value={str(config.value)} onChange={(text) => set('value', text)} />
            </>
          ) : null}
          {kind === 'notify' ? (
            <>
              <Choice label="Notify" id="action-user" value={str(config.userId)} options={[['', 'Choose a member'], ...members.map((m): [string, string] => [m.userId, `${m.name} (${m.email})`])]} onChange={(value) => set('userId', value)} />
              <Text label="Subject" id="action-subject" value={str(config.subject)} onChange={(text) => set('subject', text)} />
              <Text label="Message" id="action-text" multiline value={str(config.text)} onChange={(text) => set('text', text)} />
            </>
          ) : null}
        </div>
      );
    }
    case 'exit':
      return <Text label="Reason (optional)" id="exit-reason" value={str(config.reason)} onChange={(text) => set('reason', optional(text))} />;
    default: {
      const unknown: never = node.type;
      return <p>{String(unknown)}</p>;
    }
  }
}
