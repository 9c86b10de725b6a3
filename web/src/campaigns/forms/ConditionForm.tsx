/**
 * The condition form: branches tried in order, each a group of rules (all or any) on a tag, a
 * field, the score, an event, or engagement with an email this journey sent — chosen from the
 * campaign's email steps by name, not typed as an id.
 */
import type { ReactNode } from 'react';
import type { ConditionRuleValue, RuleGroup } from '@server/campaigns/definition.schemas.js';
import type { CampaignNode } from '../../api';
import { Choice, num, str, Text, withField, type Draft } from './fields';

type Rule = Draft<ConditionRuleValue>;
type Group = { operator: RuleGroup['operator']; rules: Array<Rule | RuleGroup> };
type Branch = { id: string; name?: string; match: Group };
export type ConditionDraft = { branches?: Branch[] };
type RuleKind = ConditionRuleValue['kind'];
type Operator = Extract<ConditionRuleValue, { kind: 'field' }>['op'];
type Engagement = Extract<ConditionRuleValue, { kind: 'email' }>['event'];

const OPERATORS: ReadonlyArray<readonly [Operator, string]> = [
  ['eq', 'is'],
  ['neq', 'is not'],
  ['gt', 'is more than'],
  ['gte', 'is at least'],
  ['lt', 'is less than'],
  ['lte', 'is at most'],
  ['contains', 'contains'],
  ['exists', 'is set'],
  ['not_exists', 'is not set'],
];
const RULE_KINDS: ReadonlyArray<readonly [RuleKind, string]> = [
  ['tag', 'Tag'],
  ['field', 'Field'],
  ['score', 'Score'],
  ['event', 'Event'],
  ['email', 'Email engagement'],
];
const ENGAGEMENTS: ReadonlyArray<readonly [Engagement, string]> = [
  ['delivered', 'was delivered'],
  ['opened', 'was opened'],
  ['clicked', 'was clicked'],
  ['replied', 'got a reply'],
  ['bounced', 'bounced'],
  ['unsubscribed', 'led to unsubscribe'],
];

export function defaultRule(kind: RuleKind): Rule {
  switch (kind) {
    case 'field':
      return { kind, field: '', op: 'eq', value: '' };
    case 'score':
      return { kind, op: 'gte', value: 60 };
    case 'event':
      return { kind, name: '', present: true };
    case 'email':
      return { kind, nodeId: '', event: 'opened', present: true };
    default:
      return { kind: 'tag', tag: '', present: true };
  }
}

const isGroup = (rule: Rule | RuleGroup): rule is RuleGroup => 'operator' in rule;

function RuleEditor({ rule, id, path, emailNodes, onChange, onRemove }: { rule: Rule; id: string; path: string; emailNodes: CampaignNode[]; onChange: (rule: Rule) => void; onRemove: () => void }) {
  const present = (value: boolean | undefined, set: (present: boolean) => void) => (
    <Choice label="Is" id={`${id}-present`} field={`${path}.present`} value={value === false ? 'no' : 'yes'} options={[['yes', 'true'], ['no', 'not true']]} onChange={(v) => set(v === 'yes')} />
  );
  let fields: ReactNode;
  switch (rule.kind) {
    case 'tag':
      fields = (
        <>
          <Text label="Has tag" id={`${id}-tag`} field={`${path}.tag`} value={str(rule.tag)} onChange={(tag) => onChange({ ...rule, tag })} />
          {present(rule.present, (p) => onChange({ ...rule, present: p }))}
        </>
      );
      break;
    case 'field':
      fields = (
        <>
          <Text label="Field" id={`${id}-field`} field={`${path}.field`} value={str(rule.field)} onChange={(field) => onChange({ ...rule, field })} example="company" />
          <Choice label="Operator" id={`${id}-op`} field={`${path}.op`} value={rule.op ?? 'eq'} options={OPERATORS} onChange={(op) => onChange({ ...rule, op })} />
          {rule.op === 'exists' || rule.op === 'not_exists' ? null : <Text label="Value" id={`${id}-value`} field={`${path}.value`} value={str(rule.value)} onChange={(value) => onChange({ ...rule, value })} />}
        </>
      );
      break;
    case 'score':
      fields = (
        <>
          <Choice label="Score" id={`${id}-op`} field={`${path}.op`} value={rule.op ?? 'gte'} options={OPERATORS.slice(0, 6)} onChange={(op) => onChange({ ...rule, op })} />
          <Text label="Value" id={`${id}-value`} field={`${path}.value`} type="number" value={str(rule.value)} onChange={(text) => onChange(withField(rule, 'value', num(text)))} />
        </>
      );
      break;
    case 'event':
      fields = (
        <>
          <Text label="Event name" id={`${id}-name`} field={`${path}.name`} value={str(rule.name)} onChange={(name) => onChange({ ...rule, name })} />
          <Text label="Within the last (seconds, optional)" id={`${id}-within`} field={`${path}.withinSeconds`} type="number" value={str(rule.withinSeconds)} onChange={(text) => onChange(withField(rule, 'withinSeconds', num(text)))} />
          {present(rule.present, (p) => onChange({ ...rule, present: p }))}
        </>
      );
      break;
    case 'email':
      fields = (
        <>
          <Choice
            label="Email"
            id={`${id}-node`} field={`${path}.nodeId`}
            value={rule.nodeId ?? ''}
            options={[['', emailNodes.length === 0 ? 'Add an email step first' : 'Choose an email step'], ...emailNodes.map((n) => [n.id, n.name || n.id] as const)]}
            onChange={(nodeId) => onChange({ ...rule, nodeId })}
          />
          <Choice label="Engagement" id={`${id}-event`} field={`${path}.event`} value={rule.event ?? 'opened'} options={ENGAGEMENTS} onChange={(event) => onChange({ ...rule, event })} />
          {present(rule.present, (p) => onChange({ ...rule, present: p }))}
        </>
      );
      break;
  }
  return (
    <div className="rule">
      <Choice label="Rule" id={`${id}-kind`} field={`${path}.kind`} value={rule.kind} options={RULE_KINDS} onChange={(kind) => onChange(defaultRule(kind))} />
      {fields}
      <button type="button" className="button small ghost" onClick={onRemove}>
        Remove rule
      </button>
    </div>
  );
}

export function ConditionForm({ config, onChange, onRenameHandle, nodes }: { config: ConditionDraft; onChange: (config: ConditionDraft) => void; onRenameHandle: (from: string, to: string) => void; nodes: CampaignNode[] }) {
  const branches = config.branches ?? [];
  const emailNodes = nodes.filter((n) => n.type === 'email');
  const setBranch = (index: number, branch: Branch) => onChange({ ...config, branches: branches.map((b, i) => (i === index ? branch : b)) });
  const freeId = () => {
    for (let n = branches.length + 1; ; n += 1) if (!branches.some((b) => b.id === `branch-${n}`)) return `branch-${n}`;
  };
  return (
    <div className="stack">
      <p className="muted small">Branches are tried in order; the first match wins, the default branch otherwise.</p>
      {branches.map((branch, index) => {
        const match = branch.match ?? { operator: 'and', rules: [] };
        const setRules = (rules: Group['rules']) => setBranch(index, { ...branch, match: { ...match, rules } });
        const prefix = `branch-${index}`;
        return (
          <fieldset key={index}>
            <legend>Branch {index + 1}</legend>
            <Text
              label="Branch id"
              id={`${prefix}-id`}
              field={`config.branches.${index}.id`}
              value={branch.id}
              onChange={(text) => {
                onRenameHandle(branch.id, text);
                setBranch(index, { ...branch, id: text });
              }}
            />
            <Text label="Branch name" id={`${prefix}-name`} field={`config.branches.${index}.name`} value={str(branch.name)} onChange={(text) => setBranch(index, withField(branch, 'name', text === '' ? undefined : text))} />
            <Choice label="Match" id={`${prefix}-operator`} field={`config.branches.${index}.match.operator`} value={match.operator} options={[['and', 'all rules (AND)'], ['or', 'any rule (OR)']]} onChange={(operator) => setBranch(index, { ...branch, match: { ...match, operator } })} />
            {match.rules.map((rule, r) =>
              isGroup(rule) ? (
                <p key={r} className="muted small">
                  A nested group of {rule.rules.length} rules (kept as it is).
                </p>
              ) : (
                <RuleEditor key={r} id={`${prefix}-rule-${r}`} path={`config.branches.${index}.match.rules.${r}`} rule={rule} emailNodes={emailNodes} onChange={(next) => setRules(match.rules.map((x, i) => (i === r ? next : x)))} onRemove={() => setRules(match.rules.filter((_, i) => i !== r))} />
              ),
            )}
            <div className="row">
              <button type="button" className="button small" onClick={() => setRules([...match.rules, defaultRule('tag')])}>
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
