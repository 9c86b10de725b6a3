/**
 * The palette of step kinds: drag one onto the canvas (or onto an arrow, to insert it there), or
 * click it (or press Enter on it) to add it after the selected step.
 */
import type { DragEvent } from 'react';
import type { NodeType } from '../api';
import { NODE_TYPE_LIST } from './builder';
import { TYPE_LABEL } from './edit';

export const STEP_MIME = 'application/x-unitehub-step';

const HINT: Record<NodeType, string> = {
  trigger: 'How contacts enter',
  email: 'Send an email',
  wait: 'Pause for a time or an event',
  condition: 'Branch on who they are or what they did',
  split: 'Send a share of contacts each way',
  action: 'Tag, score, update or notify',
  exit: 'Leave the campaign',
};

export function Palette({ onAdd, hasTrigger }: { onAdd: (type: NodeType) => void; hasTrigger: boolean }) {
  const start = (type: NodeType) => (event: DragEvent<HTMLButtonElement>) => {
    event.dataTransfer.setData(STEP_MIME, type);
    event.dataTransfer.setData('text/plain', type);
    event.dataTransfer.effectAllowed = 'copy';
  };
  return (
    <div className="palette" role="toolbar" aria-label="Steps: drag onto the canvas or an arrow, or click to add after the selected step" aria-orientation="vertical">
      <h2 className="palette-title">Steps</h2>
      {NODE_TYPE_LIST.map((type) => {
        const disabled = type === 'trigger' && hasTrigger;
        return (
          <button
            key={type}
            type="button"
            className={`palette-item palette-${type}`}
            draggable={!disabled}
            onDragStart={start(type)}
            onClick={() => onAdd(type)}
            disabled={disabled}
            title={disabled ? 'A campaign has one trigger' : `${HINT[type]}. Drag onto the canvas or an arrow, or click to add after the selected step.`}
            data-testid={`palette-${type}`}
          >
            <span className="palette-name">{TYPE_LABEL[type]}</span>
            <span className="palette-hint">{HINT[type]}</span>
          </button>
        );
      })}
    </div>
  );
}
