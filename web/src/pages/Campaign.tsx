/**
 * One campaign in the visual builder: the graph on a React Flow canvas (drag nodes, draw edges
 * from a node's handles, delete with the Delete key or the panel), a palette of the seven node
 * types, a side panel editing the selected node, save (PUT) and publish. Validation problems
 * from the API are shown on their nodes; live per-node counts are polled.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, errorMessage, type CampaignDetail, type CampaignNode, type NodeMetrics, type NodeType } from '../api';
import { connectEdge, defaultConfig, definitionToFlow, flowToDefinition, nextNodeId, NODE_TYPE_LIST, problemsOf, pruneEdges, renameHandle, sourceHandles, type FlowEdge, type FlowStep, type Problem, type StepData } from '../campaigns/builder';
import { describeNode, NODE_WIDTH } from '../campaigns/graph';
import { Link } from '../router';
import { useCan } from '../session';
import { Alert, Badge, PageHeader, Spinner, useLoad } from '../ui';
import { CampaignOps } from '../campaigns/ops/CampaignOps';
import { EnrollPanel } from '../campaigns/ops/EnrollPanel';
import { LifecycleActions, PublishDialog } from '../campaigns/ops/Lifecycle';
import { overlayNodeIds, type CanvasOverlay } from '../campaigns/overlay';
import { STATUS_LABEL } from './Campaigns';
import { NodeConfigForm, NodeNotes } from '../campaigns/forms/NodeConfigForm';

const POLL_MS = 4000;

type StepNode = Node<StepData, 'step'>;

interface CanvasInfo {
  metrics: Record<string, NodeMetrics>;
  lit?: ReadonlySet<string>;
  problems: Problem[];
  entryId: string | undefined;
  editable: boolean;
}
const CanvasContext = createContext<CanvasInfo>({ metrics: {}, problems: [], entryId: undefined, editable: false });

const TYPE_LABEL: Record<NodeType, string> = { trigger: 'Trigger', email: 'Email', wait: 'Wait', condition: 'Condition', split: 'A/B split', action: 'Action', exit: 'Exit' };

function StepNodeView({ id, data, selected }: NodeProps<StepNode>) {
  const { metrics, problems, entryId, editable, lit } = useContext(CanvasContext);
  const { node } = data;
  const mine = problems.filter((p) => p.nodeId === id);
  const counts = metrics[id];
  const handles = sourceHandles(node);
  return (
    <div
      className={`flow-node flow-node-${node.type}${mine.length > 0 ? ' flow-node-invalid' : ''}${selected ? ' flow-node-selected' : ''}${lit?.has(id) ? ' flow-node-lit' : ''}`}
      style={{ width: NODE_WIDTH }}
      data-testid={`node-${id}`}
    >
      {id === entryId ? null : <Handle type="target" position={Position.Top} isConnectable={editable} />}
      <div className="flow-node-head">
        <span className="flow-node-type">{node.type}</span>
        <span className="flow-node-name">{node.name ?? id}</span>
      </div>
      <div className="flow-node-summary">{describeNode(node)}</div>
      <dl className="flow-node-metrics" aria-label={`Counts for ${node.name ?? id}`}>
        <div>
          <dt>entered</dt>
          <dd>{counts?.entered ?? 0}</dd>
        </div>
        <div>
          <dt>waiting</dt>
          <dd>{counts?.waiting ?? 0}</dd>
        </div>
        <div>
          <dt>done</dt>
          <dd>{counts?.completed ?? 0}</dd>
        </div>
        <div className={counts?.failed ? 'failed' : undefined}>
          <dt>failed</dt>
          <dd>{counts?.failed ?? 0}</dd>
        </div>
      </dl>
      {mine.map((problem, index) => (
        <p key={index} className="flow-node-problem">
          {problem.field ? `${problem.field}: ` : ''}
          {problem.message}
        </p>
      ))}
      {handles.length > 1 ? (
        <div className="flow-node-handles" aria-hidden="true">
          {handles.map((handle) => (
            <span key={handle}>{handle}</span>
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
          style={{ left: `${((index + 1) / (handles.length + 1)) * 100}%` }}
          data-testid={`handle-${id}-${handle}`}
          title={handle}
        />
      ))}
    </div>
  );
}

const NODE_TYPES = { step: StepNodeView };

function toFlowEdge(edge: FlowEdge): Edge {
  return { ...edge, markerEnd: { type: MarkerType.ArrowClosed } };
}

interface BuilderProps {
  detail: CampaignDetail;
  metrics: Record<string, NodeMetrics>;
  editable: boolean;
  reload: () => Promise<void>;
}

function Builder({ detail, metrics, editable, reload }: BuilderProps) {
  const { campaign } = detail;
  const initial = useMemo(() => definitionToFlow(detail.definition), [detail.definition]);
  const [nodes, setNodes] = useState<FlowStep[]>(initial.nodes);
  const [edges, setEdges] = useState<FlowEdge[]>(initial.edges);
  const [dirty, setDirty] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [busy, setBusy] = useState<'save'>();
  const can = useCan();
  const [enrolling, setEnrolling] = useState(false);
  const [settings, setSettings] = useState(detail.definition.settings);
  const [overlay, setOverlay] = useState<CanvasOverlay | null>(null);
  const [publishing, setPublishing] = useState(false);

  const selected = nodes.find((n) => n.selected);
  // Edges whose node or handle is gone (a deleted node, a removed branch) are not drawn or saved.
  const liveEdges = useMemo(() => pruneEdges(nodes, edges), [nodes, edges]);
  const entryId = (nodes.find((n) => n.data.node.type === 'trigger') ?? nodes[0])?.id;
  const hasTrigger = nodes.some((n) => n.data.node.type === 'trigger');

  // Leaving with unsaved edits asks first.
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const onNodesChange = useCallback(
    (changes: NodeChange<StepNode>[]) => {
      if (!editable) changes = changes.filter((c) => c.type !== 'remove' && c.type !== 'position');
      if (changes.some((c) => c.type === 'remove' || (c.type === 'position' && c.position))) setDirty(true);
      setNodes((previous) => applyNodeChanges(changes, previous as StepNode[]) as FlowStep[]);
    },
    [editable],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      if (!editable) changes = changes.filter((c) => c.type !== 'remove');
      if (changes.some((c) => c.type === 'remove')) setDirty(true);
      setEdges((previous) => applyEdgeChanges(changes, previous as Edge[]) as FlowEdge[]);
    },
    [editable],
  );
  const onConnect = useCallback((connection: Connection) => {
    setEdges((previous) => connectEdge(previous, connection));
    setDirty(true);
  }, []);

  const addNode = (type: NodeType) => {
    const id = nextNodeId(type, nodes.map((n) => n.id));
    const lowest = nodes.reduce((max, n) => Math.max(max, n.position.y), -150);
    const node: CampaignNode = { id, type, name: `${TYPE_LABEL[type]} ${id.split('-').pop()}`, config: defaultConfig(type) };
    setNodes((previous) => [...previous.map((n) => ({ ...n, selected: false })), { id, type: 'step', position: { x: selected ? selected.position.x : 0, y: (selected?.position.y ?? lowest) + 150 }, data: { node }, selected: true }]);
    setDirty(true);
  };

  const updateNode = (nodeId: string, change: Partial<CampaignNode>) => {
    setNodes((previous) => previous.map((n) => (n.id === nodeId ? { ...n, data: { node: { ...n.data.node, ...change } } } : n)));
    setDirty(true);
  };

  const removeNode = (nodeId: string) => {
    setNodes((previous) => previous.filter((n) => n.id !== nodeId));
    setDirty(true);
  };

  const connectFrom = (nodeId: string, handle: string, target: string) => {
    setEdges((previous) => (target === '' ? previous.filter((e) => !(e.source === nodeId && e.sourceHandle === handle)) : connectEdge(previous, { source: nodeId, sourceHandle: handle, target })));
    setDirty(true);
  };

  const save = async (): Promise<boolean> => {
    setBusy('save');
    setMessage(undefined);
    try {
      await api.campaigns.update(campaign.id, { definition: flowToDefinition(nodes, liveEdges, settings) });
      setProblems([]);
      setDirty(false);
      setMessage({ kind: 'success', text: 'Saved the draft.' });
      return true;
    } catch (error) {
      setProblems(problemsOf(error));
      setMessage({ kind: 'error', text: errorMessage(error) });
      return false;
    } finally {
      setBusy(undefined);
    }
  };

  const publish = async () => {
    if (dirty && !(await save())) return;
    setMessage(undefined);
    setPublishing(true);
  };

  const nodeIds = new Set(nodes.map((n) => n.id));
  const generalProblems = problems.filter((p) => !p.nodeId || !nodeIds.has(p.nodeId));
  const canvasInfo = useMemo(() => ({ metrics, problems, entryId, editable, lit: overlayNodeIds(overlay) }), [metrics, problems, entryId, editable, overlay]);
  const flowEdges = useMemo(() => liveEdges.map(toFlowEdge), [liveEdges]);
  const selectedProblems = selected ? problems.filter((p) => p.nodeId === selected.id) : [];

  return (
    <>
      <PageHeader title={campaign.name}>
        <Badge tone={campaign.status}>{STATUS_LABEL[campaign.status] ?? campaign.status}</Badge>
        <span className="muted small">{campaign.currentVersion ? `v${campaign.currentVersion}` : 'never published'}</span>
        {editable ? (
          <button type="button" className="button" disabled={busy !== undefined || !dirty} onClick={() => void save()}>
            {busy === 'save' ? 'Saving…' : dirty ? 'Save draft' : 'Saved'}
          </button>
        ) : null}
        {editable ? (
          <button type="button" className="button primary" disabled={busy !== undefined || publishing} onClick={() => void publish()}>
            {campaign.status === 'draft' ? 'Publish…' : 'Publish changes…'}
          </button>
        ) : null}
        {can('campaigns:write') ? <LifecycleActions campaign={campaign} onChanged={() => void reload()} onMessage={setMessage} /> : null}
        {editable && campaign.status === 'active' && !enrolling ? (
          <button type="button" className="button" onClick={() => setEnrolling(true)}>
            Enroll contacts
          </button>
        ) : null}
      </PageHeader>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {generalProblems.length > 0 ? (
        <Alert>
          <ul>
            {generalProblems.map((problem, index) => (
              <li key={index}>
                {problem.field ? `${problem.field}: ` : ''}
                {problem.message}
              </li>
            ))}
          </ul>
        </Alert>
      ) : null}
      {publishing ? (
        <PublishDialog
          campaignId={campaign.id}
          onClose={() => setPublishing(false)}
          onPublished={(text) => {
            setPublishing(false);
            setProblems([]);
            setMessage({ kind: 'success', text });
            void reload();
          }}
          onError={(error) => setProblems(problemsOf(error))}
        />
      ) : null}
      {enrolling ? (
        <EnrollPanel
          campaignId={campaign.id}
          onDone={(text) => {
            setEnrolling(false);
            setMessage({ kind: 'success', text });
            void reload();
          }}
          onCancel={() => setEnrolling(false)}
        />
      ) : null}
      {campaign.status === 'draft' ? <p className="muted small">Publish the campaign to enroll contacts. Drafts are saved only when valid; problems appear on their nodes.</p> : null}
      <div className={editable ? 'builder' : undefined}>
        {editable ? (
          <div className="builder-palette" role="toolbar" aria-label="Add a node">
            {NODE_TYPE_LIST.map((type) => (
              <button
                key={type}
                type="button"
                className={`button small palette-${type}`}
                onClick={() => addNode(type)}
                disabled={type === 'trigger' && hasTrigger}
                title={type === 'trigger' && hasTrigger ? 'A campaign has one trigger' : undefined}
              >
                + {TYPE_LABEL[type]}
              </button>
            ))}
          </div>
        ) : null}
        <CanvasContext.Provider value={canvasInfo}>
          <div className="flow-canvas" aria-label="Campaign flow" role="region">
            <ReactFlow
              nodes={nodes as StepNode[]}
              edges={flowEdges}
              nodeTypes={NODE_TYPES}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={editable ? onConnect : undefined}
              nodesDraggable={editable}
              nodesConnectable={editable}
              elementsSelectable
              deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
              fitView
              fitViewOptions={{ padding: 0.2 }}
              minZoom={0.2}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={24} />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
        </CanvasContext.Provider>
        {editable ? (
          <aside className="builder-panel panel" aria-label="Node settings">
            {selected ? (
              <div className="stack">
                <h2>
                  {TYPE_LABEL[selected.data.node.type]} <code className="muted">{selected.id}</code>
                </h2>
                {selectedProblems.length > 0 ? (
                  <Alert>
                    <ul>
                      {selectedProblems.map((problem, index) => (
                        <li key={index}>
                          {problem.field ? `${problem.field}: ` : ''}
                          {problem.message}
                        </li>
                      ))}
                    </ul>
                  </Alert>
                ) : null}
                <div className="field">
                  <label htmlFor="node-name">Name</label>
                  <input id="node-name" value={selected.data.node.name ?? ''} onChange={(event) => updateNode(selected.id, { name: event.target.value })} />
                </div>
                <NodeConfigForm
                  key={selected.id}
                  node={selected.data.node}
                  onChange={(config) => updateNode(selected.id, { config })}
                  onRenameHandle={(from, to) => setEdges((current) => renameHandle(current, selected.id, from, to))}
                  nodes={nodes.map((n) => n.data.node)}
                  returnTo={`/campaigns/${campaign.id}`}
                />
                <NodeNotes node={selected.data.node} onChange={(notes) => updateNode(selected.id, { notes })} />
                {sourceHandles(selected.data.node).length > 0 ? (
                  <fieldset>
                    <legend>Connections</legend>
                    {sourceHandles(selected.data.node).map((handle) => (
                      <div className="field" key={handle}>
                        <label htmlFor={`connect-${handle}`}>Then ({handle})</label>
                        <select id={`connect-${handle}`} value={liveEdges.find((e) => e.source === selected.id && e.sourceHandle === handle)?.target ?? ''} onChange={(event) => connectFrom(selected.id, handle, event.target.value)}>
                          <option value="">Not connected</option>
                          {nodes
                            .filter((n) => n.id !== selected.id && n.id !== entryId)
                            .map((n) => (
                              <option key={n.id} value={n.id}>
                                {n.data.node.name ?? n.id}
                              </option>
                            ))}
                        </select>
                      </div>
                    ))}
                  </fieldset>
                ) : null}
                <button type="button" className="button danger" onClick={() => removeNode(selected.id)}>
                  Delete node
                </button>
              </div>
            ) : (
              <p className="muted small">Select a node to edit it. Drag from a node’s bottom handle to another node to connect them; select an edge and press Delete to remove it.</p>
            )}
          </aside>
        ) : null}
      </div>
      <p className="muted small">Counts refresh every few seconds.</p>
      <CampaignOps
        campaign={campaign}
        definition={flowToDefinition(nodes, liveEdges, settings)}
        editable={editable}
        onSettingsChange={(next) => {
          setSettings(next);
          setDirty(true);
        }}
        onOverlay={setOverlay}
        onChanged={() => void reload()}
      />
    </>
  );
}

export function CampaignPage({ campaignId }: { campaignId: string }) {
  const can = useCan();
  // The definition is loaded once into the builder (reloads after publish refresh the status, not
  // the canvas, which already shows what was published); polling refreshes only the counts.
  const [loaded, reload] = useLoad(() => api.campaigns.get(campaignId), [campaignId]);
  const [counts] = useLoad(() => api.campaigns.get(campaignId).then((detail) => detail.metrics.nodes), [campaignId], POLL_MS);

  if (loaded.status === 'loading') return <Spinner />;
  if (loaded.status === 'error') {
    return (
      <section>
        <p className="crumbs">
          <Link to="/campaigns">← Campaigns</Link>
        </p>
        <Alert>{loaded.message}</Alert>
      </section>
    );
  }
  const detail = loaded.data;
  const editable = can('campaigns:write') && detail.campaign.status !== 'archived';
  return (
    <section>
      <p className="crumbs">
        <Link to="/campaigns">← Campaigns</Link>
      </p>
      <Builder key={detail.campaign.id} detail={detail} metrics={counts.status === 'ready' ? counts.data : detail.metrics.nodes} editable={editable} reload={reload} />
    </section>
  );
}
