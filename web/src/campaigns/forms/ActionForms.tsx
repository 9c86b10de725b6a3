/**
 * The forms of the simpler steps: an action (tags, score, a field, a webhook, notifying a member)
 * and an exit (its reason). The A/B split's form is SplitForm.tsx.
 */
import type { ActionNodeConfig, ExitNodeConfig } from '@server/campaigns/definition.schemas.js';
import { useMembers } from '../ops/ops-api';
import { Choice, num, optional, str, Text, withField, type Draft } from './fields';

type Action = Draft<ActionNodeConfig>;
type ActionKind = ActionNodeConfig['kind'];
const ACTION_KINDS: ReadonlyArray<readonly [ActionKind, string]> = [
  ['tag_add', 'Add a tag'],
  ['tag_remove', 'Remove a tag'],
  ['score_change', 'Change the score'],
  ['field_update', 'Update a field'],
  ['webhook', 'Call a webhook'],
  ['notify', 'Notify a team member'],
];

function startOf(kind: ActionKind): Action {
  switch (kind) {
    case 'tag_add':
    case 'tag_remove':
      return { kind, tag: '' };
    case 'score_change':
      return { kind, delta: 10 };
    case 'field_update':
      return { kind, field: '', value: '' };
    case 'webhook':
      return { kind, url: '', secret: '' };
    case 'notify':
      return { kind, userId: '', subject: '', text: '' };
  }
}

export function ActionForm({ config, onChange }: { config: Action; onChange: (config: Action) => void }) {
  const members = useMembers();
  return (
    <div className="stack">
      <Choice label="Action" id="action-kind" field="config.kind" value={config.kind} options={ACTION_KINDS} onChange={(kind) => onChange(startOf(kind))} />
      {config.kind === 'tag_add' || config.kind === 'tag_remove' ? <Text label="Tag" id="action-tag" field="config.tag" value={str(config.tag)} onChange={(tag) => onChange({ ...config, tag })} /> : null}
      {config.kind === 'score_change' ? <Text label="Change by (−100 to 100)" id="action-delta" field="config.delta" type="number" min={-100} max={100} value={str(config.delta)} onChange={(text) => onChange(withField(config, 'delta', num(text)))} /> : null}
      {config.kind === 'field_update' ? (
        <>
          <Text label="Field" id="action-field" field="config.field" value={str(config.field)} onChange={(field) => onChange({ ...config, field })} example="status or a custom field" />
          <Text label="Value" id="action-value" field="config.value" value={str(config.value)} onChange={(value) => onChange({ ...config, value })} />
        </>
      ) : null}
      {config.kind === 'webhook' ? (
        <>
          <Text label="URL" id="action-url" field="config.url" value={str(config.url)} onChange={(url) => onChange({ ...config, url })} example="https://example.com/hooks/unitehub" />
          <Text label="Signing secret (16+ characters)" id="action-secret" field="config.secret" value={str(config.secret)} onChange={(secret) => onChange({ ...config, secret })} hint="Each call is signed with it (x-unitehub-signature)." />
        </>
      ) : null}
      {config.kind === 'notify' ? (
        <>
          <Choice label="Notify" id="action-user" field="config.userId" value={config.userId ?? ''} options={[['', 'Choose a member'], ...(members.data ?? []).map((m) => [m.userId, `${m.name} (${m.email})`] as const)]} onChange={(userId) => onChange({ ...config, userId })} />
          <Text label="Subject" id="action-subject" field="config.subject" value={str(config.subject)} onChange={(subject) => onChange({ ...config, subject })} />
          <Text label="Message" id="action-text" field="config.text" multiline value={str(config.text)} onChange={(text) => onChange({ ...config, text })} />
        </>
      ) : null}
    </div>
  );
}

export function ExitForm({ config, onChange }: { config: Draft<ExitNodeConfig>; onChange: (config: Draft<ExitNodeConfig>) => void }) {
  return <Text label="Reason (optional)" id="exit-reason" field="config.reason" value={str(config.reason)} onChange={(text) => onChange(withField(config, 'reason', optional(text)))} hint="Stored on the enrollment when a contact leaves here." />;
}
