/**
 * The builder's side panel form of the selected node: one form per node type (forms/*.tsx), each
 * typed by the server's schema of that config (definition.schemas.ts via `@server/…`), plus the
 * node's notes. Empty inputs leave a field out, so the API names what is missing.
 */
import type { ActionNodeConfig, EmailNodeConfig, ExitNodeConfig, TriggerNodeConfig, WaitNodeConfig } from '@server/campaigns/definition.schemas.js';
import type { CampaignNode } from '../../api';
import { ActionForm, ExitForm } from './ActionForms';
import { ConditionForm, type ConditionDraft } from './ConditionForm';
import { EmailForm } from './EmailForm';
import type { Draft } from './fields';
import { SplitForm, type SplitDraft } from './SplitForm';
import { TriggerForm } from './TriggerForm';
import { WaitForm } from './WaitForm';

export interface NodeConfigFormProps {
  node: CampaignNode;
  onChange: (config: Record<string, unknown>) => void;
  /** A branch or variant id renamed: edges leaving that handle follow it. */
  onRenameHandle: (from: string, to: string) => void;
  /** Every node of the campaign, for choices between them (the email an engagement rule reads). */
  nodes: CampaignNode[];
  /** The page to come back to from the template editor, e.g. `/campaigns/<id>`. */
  returnTo?: string;
}

/**
 * The stored config is JSON the API validated (or a draft being filled in), so it is read as the
 * draft of its node type's schema: the one place an unknown config meets its type.
 */
function draftOf<T>(config: unknown): Draft<T> {
  return (typeof config === 'object' && config !== null ? config : {}) as Draft<T>;
}

export function NodeConfigForm({ node, onChange, onRenameHandle, nodes, returnTo }: NodeConfigFormProps) {
  const set = (config: object) => onChange(config as Record<string, unknown>);
  switch (node.type) {
    case 'trigger':
      return <TriggerForm config={draftOf<TriggerNodeConfig>(node.config)} onChange={set} />;
    case 'email':
      return <EmailForm config={draftOf<EmailNodeConfig>(node.config)} onChange={set} {...(returnTo ? { returnTo } : {})} />;
    case 'wait':
      return <WaitForm config={draftOf<WaitNodeConfig>(node.config)} onChange={set} />;
    case 'condition':
      return <ConditionForm config={(node.config ?? {}) as ConditionDraft} onChange={set} onRenameHandle={onRenameHandle} nodes={nodes.filter((n) => n.id !== node.id)} />;
    case 'split':
      return <SplitForm config={(node.config ?? {}) as SplitDraft} onChange={set} onRenameHandle={onRenameHandle} />;
    case 'action':
      return <ActionForm config={draftOf<ActionNodeConfig>(node.config)} onChange={set} />;
    case 'exit':
      return <ExitForm config={draftOf<ExitNodeConfig>(node.config)} onChange={set} />;
    default: {
      const unknown: never = node.type;
      return <p>{String(unknown)}</p>;
    }
  }
}

/** The node's notes for the team (the engine ignores them). */
export function NodeNotes({ node, onChange }: { node: CampaignNode; onChange: (notes: string | undefined) => void }) {
  return (
    <div className="field">
      <label htmlFor="node-notes">Notes</label>
      <textarea id="node-notes" rows={3} value={node.notes ?? ''} onChange={(event) => onChange(event.target.value === '' ? undefined : event.target.value)} placeholder="Why this step exists, what to test next…" />
    </div>
  );
}
