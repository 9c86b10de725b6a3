/**
 * A journey as an ordered list — each step's node, when it happened and why — the same overlay the
 * canvas lights up, readable on its own (and by screen readers).
 */
import type { CampaignDefinition } from '../../api';
import type { CanvasOverlay } from '../overlay';

export function PathList({ overlay, definition, label }: { overlay: CanvasOverlay; definition: CampaignDefinition; label: string }) {
  const nameOf = (id: string) => definition.nodes.find((n) => n.id === id)?.name || id;
  return (
    <ol className="journey-path" aria-label={label}>
      {overlay.steps.map((step, index) => (
        <li key={`${step.nodeId}-${index}`} data-testid="path-step">
          <strong>{nameOf(step.nodeId)}</strong>
          {step.at ? (
            <time className="muted small" dateTime={step.at}>
              {' '}
              {new Date(step.at).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}
            </time>
          ) : null}
          <div>{step.note}</div>
        </li>
      ))}
      {overlay.currentNodeId ? (
        <li data-testid="path-current">
          <strong>{nameOf(overlay.currentNodeId)}</strong> <span className="muted small">now here</span>
        </li>
      ) : null}
    </ol>
  );
}
