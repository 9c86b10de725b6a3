/**
 * One step on the builder's canvas: a card of a fixed size (layout.ts lays cards out at that size)
 * with its kind, name, a one-line summary, the live counts or the problem count, and — when an
 * overlay (a simulated or real contact's path) is shown — the overlay's note and time, lit up or
 * dimmed. Its handles: one target on top (not on the trigger), one source per outgoing path.
 */
import { createContext, memo, useContext } from 'react';
import { Handle, Position, type Node, type NodeHandle, type NodeProps } from '@xyflow/react';
import type { NodeMetrics } from '../api';
import { sourceHandles, type FlowStep, type StepData } from './builder';
import { TYPE_LABEL } from './edit';
import { describeNode } from './graph';
import { CARD_HEIGHT, CARD_WIDTH } from './layout';
import type { CanvasOverlay, OverlayStep } from './overlay';

export type StepNode = Node<StepData, 'step'>;

export interface CardInfo {
  metrics: Record<string, NodeMetrics>;
  problemCount: ReadonlyMap<string, number>;
  entryId: string | undefined;
  editable: boolean;
  overlay: CanvasOverlay | null;
  /** The overlay's steps by node id (a node reached twice keeps its last visit). */
  overlaySteps: ReadonlyMap<string, OverlayStep>;
}

export const CardContext = createContext<CardInfo>({ metrics: {}, problemCount: new Map(), entryId: undefined, editable: false, overlay: null, overlaySteps: new Map() });

/** The size of a handle (styles.css `.canvas .react-flow__handle`). */
const HANDLE_SIZE = 12;

/** Where a card's source handles sit along its bottom, from its left side. */
const handleLeft = (index: number, count: number) => (CARD_WIDTH * (index + 1)) / (count + 1);

/**
 * The handles of a card where NodeCard draws them. Handed to React Flow with the card's size, a
 * card needs no measuring before it is placed: a large campaign opens drawing only the cards in
 * view, not every card once to measure it.
 */
export function cardHandles(node: StepData['node'], isEntry: boolean): NodeHandle[] {
  const sources = sourceHandles(node);
  const half = HANDLE_SIZE / 2;
  return [
    ...(isEntry ? [] : [{ type: 'target' as const, position: Position.Top, x: CARD_WIDTH / 2 - half, y: -half, width: HANDLE_SIZE, height: HANDLE_SIZE }]),
    ...sources.map((id, index) => ({ id, type: 'source' as const, position: Position.Bottom, x: handleLeft(index, sources.length) - half, y: CARD_HEIGHT - half, width: HANDLE_SIZE, height: HANDLE_SIZE })),
  ];
}

const views = new WeakMap<FlowStep, { isEntry: boolean; view: StepNode }>();

/** The React Flow node of a step: its size and handles known up front; the same object while the step is unchanged. */
export function stepView(step: FlowStep, isEntry: boolean): StepNode {
  const cached = views.get(step);
  if (cached && cached.isEntry === isEntry) return cached.view;
  const view: StepNode = { ...step, width: CARD_WIDTH, height: CARD_HEIGHT, measured: { width: CARD_WIDTH, height: CARD_HEIGHT }, handles: cardHandles(step.data.node, isEntry) };
  views.set(step, { isEntry, view });
  return view;
}

const HANDLE_WORDS: Record<string, string> = { next: 'next', default: 'everyone else', timeout: 'timed out' };

function timeOf(at: string | undefined): string {
  if (!at) return '';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function NodeCardView({ id, data, selected }: NodeProps<StepNode>) {
  const { metrics, problemCount, entryId, editable, overlay, overlaySteps } = useContext(CardContext);
  const { node } = data;
  const problems = problemCount.get(id) ?? 0;
  const counts = metrics[id];
  const handles = sourceHandles(node);
  const step = overlaySteps.get(id);
  const lit = overlay ? (step ? ' card-lit' : ' card-dimmed') : '';
  const current = overlay?.currentNodeId === id ? ' card-current' : '';
  const name = node.name || id;
  return (
    <div
      className={`card card-${node.type}${problems > 0 ? ' card-invalid' : ''}${selected ? ' card-selected' : ''}${lit}${current}`}
      style={{ width: CARD_WIDTH, height: CARD_HEIGHT }}
      data-testid={`node-${id}`}
      aria-label={`${TYPE_LABEL[node.type]} step ${name}${problems > 0 ? `, ${problems} problem${problems === 1 ? '' : 's'}` : ''}`}
    >
      {id === entryId ? null : <Handle type="target" position={Position.Top} isConnectable={editable} />}
      <div className="card-head">
        <span className="card-type">{TYPE_LABEL[node.type]}</span>
        {problems > 0 ? (
          <span className="card-problems" title="Open the step to see what to fix">
            ⚠ {problems} to fix
          </span>
        ) : null}
      </div>
      <div className="card-name">{name}</div>
      {step ? (
        <div className="card-note" title={step.note}>
          {step.note}
          {step.at ? <time dateTime={step.at}> · {timeOf(step.at)}</time> : null}
        </div>
      ) : (
        <div className="card-summary">{describeNode(node)}</div>
      )}
      <div className="card-counts" aria-label={`Counts for ${name}`}>
        <span title="Contacts who reached this step">
          <b>{counts?.entered ?? 0}</b> in
        </span>
        <span title="Contacts waiting here now">
          <b>{counts?.waiting ?? 0}</b> waiting
        </span>
        <span title="Contacts who went on">
          <b>{counts?.completed ?? 0}</b> done
        </span>
        {counts?.failed ? (
          <span className="card-failed" title="Contacts whose step failed">
            <b>{counts.failed}</b> failed
          </span>
        ) : null}
      </div>
      {handles.length > 1 ? (
        <div className="card-handles" aria-hidden="true">
          {handles.map((handle) => (
            <span key={handle}>{HANDLE_WORDS[handle] ?? handle}</span>
          ))}
        </div>
      ) : null}
      {handles.map((handle, index) => (
        <Handle
          key={handle}
          id={handle}
          type="source"
          position={Position.Bottom}
          isConnectable={editable}
          style={{ left: handleLeft(index, handles.length) }}
          data-testid={`handle-${id}-${handle}`}
          title={`Drag to connect the “${HANDLE_WORDS[handle] ?? handle}” path`}
        />
      ))}
    </div>
  );
}

export const NodeCard = memo(NodeCardView);
