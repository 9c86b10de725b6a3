/**
 * The builder's canvas (React Flow): step cards, routed edges, a minimap, zoom controls and a
 * toolbar (undo, redo, tidy up, fit). Editing: drop a palette step on the canvas or on an arrow
 * (inserted there), connect handles, drag, multi-select (Shift-drag a box, Ctrl/⌘-click), Delete,
 * Ctrl+C / Ctrl+V, Ctrl+Z / Ctrl+Shift+Z. An optional overlay (overlay.ts) lights up a contact's
 * path with notes and times and dims the rest, with a legend that closes it.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import {
  applyNodeChanges,
  Background,
  Controls,
  MarkerType,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { NodeMetrics, NodeType } from '../api';
import { connectEdge, type FlowStep, type Problem } from './builder';
import { addAfter, addAt, copySelection, entryOf, insertOnEdge, paste, remove, tidy, type Clip, type Graph } from './edit';
import { CARD_HEIGHT, CARD_WIDTH } from './layout';
import { CardContext, NodeCard, stepView, type StepNode } from './NodeCard';
import type { CanvasOverlay, OverlayStep } from './overlay';
import { STEP_MIME } from './Palette';
import { RoutedEdge, type FlowEdgeView } from './RoutedEdge';

export interface CanvasProps {
  graph: Graph;
  /** Applies a change; `record: false` for passing ones (selection, a drag under way). */
  onGraph: (next: Graph | ((graph: Graph) => Graph), options?: { record?: boolean }) => void;
  /** Records an undo step before a drag. */
  onCheckpoint: () => void;
  onUndo: () => void;
  onRedo: () => void;
  canUndo: boolean;
  canRedo: boolean;
  metrics: Record<string, NodeMetrics>;
  problems: Problem[];
  editable: boolean;
  /** A contact's path to draw over the canvas (simulation or journey). */
  overlay?: CanvasOverlay | null;
  onCloseOverlay?: () => void;
  /** Centres the canvas on a node whenever `seq` changes (the problems panel's "show"). */
  focus?: { nodeId: string; seq: number };
}

const NODE_TYPES = { step: NodeCard };
const EDGE_TYPES = { routed: RoutedEdge };
export const MIN_ZOOM = 0.7;

// What Ctrl+C copied, kept for the session so it can be pasted into another campaign too.
let clipboard: Clip | null = null;

const isTyping = (target: EventTarget | null) => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

function CanvasInner({ graph, onGraph, onCheckpoint, onUndo, onRedo, canUndo, canRedo, metrics, problems, editable, overlay = null, onCloseOverlay, focus }: CanvasProps) {
  const flow = useReactFlow<StepNode, FlowEdgeView>();
  const wrapper = useRef<HTMLDivElement>(null);
  const [dropEdge, setDropEdge] = useState<string | null>(null);
  const routes = graph.routes;
  const latest = useRef(graph);
  latest.current = graph;
  const onGraphRef = useRef(onGraph);
  onGraphRef.current = onGraph;

  const entryId = entryOf(graph.nodes);
  const problemCount = useMemo(() => {
    const counts = new Map<string, number>();
    for (const p of problems) if (p.nodeId) counts.set(p.nodeId, (counts.get(p.nodeId) ?? 0) + 1);
    return counts;
  }, [problems]);
  const overlaySteps = useMemo(() => new Map<string, OverlayStep>((overlay?.steps ?? []).map((s) => [s.nodeId, s])), [overlay]);
  const cardInfo = useMemo(() => ({ metrics, problemCount, entryId, editable, overlay, overlaySteps }), [metrics, problemCount, entryId, editable, overlay, overlaySteps]);

  const nodes = useMemo(() => graph.nodes.map((n) => stepView(n, n.id === entryId)), [graph.nodes, entryId]);
  const positions = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n.position])), [graph.nodes]);
  const taken = useMemo(() => new Set((overlay?.edges ?? []).map((e) => `${e.source}->${e.target}`)), [overlay]);
  const edges: FlowEdgeView[] = useMemo(
    () =>
      graph.edges.map((e) => {
        const from = positions.get(e.source);
        const to = positions.get(e.target);
        const route = routes?.get(e.id);
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          sourceHandle: e.sourceHandle,
          type: 'routed' as const,
          selected: e.selected,
          markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
          className: dropEdge === e.id ? 'edge-drop' : undefined,
          data: { ...(route ? { route } : {}), ...(from && to ? { at: { from, to } } : {}), ...(overlay ? { taken: taken.has(`${e.source}->${e.target}`) } : {}) },
        };
      }),
    [graph.edges, positions, routes, overlay, taken, dropEdge],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<StepNode>[]) => {
      const kept = changes.filter((c) => c.type !== 'remove' && (editable || c.type !== 'position'));
      if (kept.length === 0) return;
      onGraph((g) => ({ ...g, nodes: applyNodeChanges(kept, g.nodes as StepNode[]) as FlowStep[] }), { record: false });
    },
    [editable, onGraph],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<FlowEdgeView>[]) => {
      const selects = changes.filter((c) => c.type === 'select');
      if (selects.length === 0) return;
      const chosen = new Map(selects.map((c) => [c.id, c.selected]));
      onGraph((g) => ({ ...g, edges: g.edges.map((e) => (chosen.has(e.id) ? { ...e, selected: chosen.get(e.id) } : e)) }), { record: false });
    },
    [onGraph],
  );
  const onDelete = useCallback(
    ({ nodes, edges: gone }: { nodes: StepNode[]; edges: FlowEdgeView[] }) => {
      if (!editable) return;
      onGraph((g) => remove(g, new Set(nodes.map((n) => n.id)), new Set(gone.map((e) => e.id))));
    },
    [editable, onGraph],
  );
  const onConnect = useCallback((connection: Connection) => onGraph((g) => ({ ...g, edges: connectEdge(g.edges, connection) })), [onGraph]);

  const fit = useCallback(() => void flow.fitView({ padding: 0.15, minZoom: MIN_ZOOM, maxZoom: 1.2, duration: 200 }), [flow]);
  const tidyUp = useCallback(() => {
    onGraph((g) => tidy(g));
    window.setTimeout(fit, 50);
  }, [onGraph, fit]);

  // A step was added: bring it into view (the whole flow while it fits at a legible zoom).
  const count = graph.nodes.length;
  const previousCount = useRef(count);
  useEffect(() => {
    const grew = count > previousCount.current;
    previousCount.current = count;
    if (!grew) return;
    const timer = window.setTimeout(() => {
      const added = latest.current.nodes.filter((n) => n.selected).at(-1);
      const bounds = wrapper.current?.getBoundingClientRect();
      const ys = latest.current.nodes.map((n) => n.position.y);
      const tall = (Math.max(...ys) - Math.min(...ys) + CARD_HEIGHT) * MIN_ZOOM;
      if (!added || (bounds && tall < bounds.height - 40)) fit();
      else void flow.setCenter(added.position.x + CARD_WIDTH / 2, added.position.y + CARD_HEIGHT / 2, { zoom: flow.getZoom(), duration: 200 });
    }, 30);
    return () => window.clearTimeout(timer);
  }, [count, fit, flow]);

  // The problems panel asks to show a node: select it and centre on it.
  useEffect(() => {
    if (!focus) return;
    const node = latest.current.nodes.find((n) => n.id === focus.nodeId);
    if (!node) return;
    onGraphRef.current((g) => ({ ...g, nodes: g.nodes.map((n) => (n.selected === (n.id === focus.nodeId) ? n : { ...n, selected: n.id === focus.nodeId })) }), { record: false });
    void flow.setCenter(node.position.x + CARD_WIDTH / 2, node.position.y + CARD_HEIGHT / 2, { zoom: Math.max(flow.getZoom(), 1), duration: 250 });
  }, [focus, flow]);

  // Keyboard: undo/redo, copy/paste (Delete is React Flow's), while no field has the focus.
  useEffect(() => {
    if (!editable) return;
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target) || !(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === 'z' && !event.shiftKey) onUndo();
      else if ((key === 'z' && event.shiftKey) || key === 'y') onRedo();
      else if (key === 'c') {
        const clip = copySelection(latest.current);
        if (!clip) return;
        clipboard = clip;
      } else if (key === 'v' && clipboard) {
        const clip = clipboard;
        onGraph((g) => paste(g, clip));
      } else if (key === 'a' && wrapper.current?.contains(document.activeElement)) {
        onGraph((g) => ({ ...g, nodes: g.nodes.map((n) => ({ ...n, selected: true })) }), { record: false });
      } else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [editable, onUndo, onRedo, onGraph]);

  const edgeAt = (x: number, y: number): string | null => {
    for (const element of document.elementsFromPoint(x, y)) {
      const edge = element.closest('.react-flow__edge');
      if (edge instanceof SVGElement || edge instanceof HTMLElement) return edge.getAttribute('data-id');
    }
    return null;
  };
  const onDragOver = (event: DragEvent<HTMLDivElement>) => {
    if (!editable || !event.dataTransfer.types.includes(STEP_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    const over = edgeAt(event.clientX, event.clientY);
    if (over !== dropEdge) setDropEdge(over);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    const type = event.dataTransfer.getData(STEP_MIME) as NodeType;
    setDropEdge(null);
    if (!editable || !type) return;
    event.preventDefault();
    if (type === 'trigger' && graph.nodes.some((n) => n.data.node.type === 'trigger')) return;
    const edgeId = edgeAt(event.clientX, event.clientY);
    const edge = edgeId ? graph.edges.find((e) => e.id === edgeId) : undefined;
    if (edge) onGraph((g) => insertOnEdge(g, edge, type));
    else onGraph((g) => addAt(g, type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY })));
  };

  const empty = graph.nodes.length <= 2;
  return (
    <CardContext.Provider value={cardInfo}>
      <div ref={wrapper} className={`canvas${overlay ? ' canvas-overlay' : ''}`} role="region" aria-label="Campaign flow" onDragOver={onDragOver} onDragLeave={() => setDropEdge(null)} onDrop={onDrop}>
        <div className="canvas-toolbar" role="toolbar" aria-label="Canvas">
            {editable ? (
              <>
                <button type="button" className="button small" onClick={onUndo} disabled={!canUndo} title="Undo (Ctrl+Z)">
                  Undo
                </button>
                <button type="button" className="button small" onClick={onRedo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)">
                  Redo
                </button>
                <button type="button" className="button small" onClick={tidyUp} title="Lay every step out top to bottom">
                  Tidy up
                </button>
              </>
            ) : null}
            <button type="button" className="button small" onClick={fit} title="Show the whole campaign">
              Fit view
            </button>
        </div>
        {editable && empty ? (
          <div className="canvas-empty" data-testid="canvas-empty">
            <p>
              <strong>Build the flow.</strong> Drag a step from the palette onto an arrow to insert it there, or select a step and click one in the palette to add it after.
            </p>
            {graph.nodes.length === 0 ? (
              <button type="button" className="button primary small" onClick={() => onGraph((g) => addAfter(g, 'trigger', undefined))}>
                Add a trigger
              </button>
            ) : (
              <button type="button" className="button primary small" onClick={() => onGraph((g) => addAfter(g, 'email', entryId))}>
                Add an email after the trigger
              </button>
            )}
          </div>
        ) : null}
        <div className="canvas-flow">
        <ReactFlow<StepNode, FlowEdgeView>
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onDelete={onDelete}
          onConnect={editable ? onConnect : undefined}
          onNodeDragStart={editable ? onCheckpoint : undefined}
          nodesDraggable={editable}
          nodesConnectable={editable}
          elementsSelectable
          multiSelectionKeyCode={['Meta', 'Control']}
          selectionKeyCode="Shift"
          deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
          fitView
          fitViewOptions={{ padding: 0.15, minZoom: MIN_ZOOM, maxZoom: 1.2 }}
          minZoom={MIN_ZOOM}
          maxZoom={2}
          onlyRenderVisibleElements={graph.nodes.length > 60}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={24} />
          <Controls showInteractive={false} showFitView={false} aria-label="Zoom" />
          <MiniMap pannable zoomable ariaLabel="Overview of the campaign" nodeStrokeWidth={3} nodeColor={(n) => (problemCount.has(n.id) ? '#b42318' : overlay && !overlaySteps.has(n.id) ? '#d0d5dd' : '#2d5bd7')} />
          {overlay ? (
            <Panel position="top-right" className="canvas-legend" aria-label="Path shown on the canvas">
              <div className="legend-head">
                <strong>{overlay.title}</strong>
                <button type="button" className="button small ghost" onClick={onCloseOverlay} aria-label="Close the path view">
                  Close
                </button>
              </div>
              <p className="small">
                <span className="swatch swatch-lit" aria-hidden="true" /> on the path ({overlay.steps.length} step{overlay.steps.length === 1 ? '' : 's'}) · <span className="swatch swatch-dim" aria-hidden="true" /> not reached
                {overlay.currentNodeId ? ' · ringed: where the contact is now' : ''}
              </p>
            </Panel>
          ) : null}
        </ReactFlow>
        </div>
      </div>
    </CardContext.Provider>
  );
}

export function Canvas(props: CanvasProps) {
  return (
    <ReactFlowProvider>
      <CanvasInner {...props} />
    </ReactFlowProvider>
  );
}
