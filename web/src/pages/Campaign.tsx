/**
 * One campaign: its graph drawn read-only with React Flow, live per-node counts (polled), and the
 * publish and enroll actions. Validation problems returned by the API are shown on their nodes.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, ApiError, errorMessage, type CampaignDetail, type CampaignNode, type Contact, type NodeMetrics } from '../api';
import { describeNode, layoutDefinition, NODE_WIDTH } from '../campaigns/graph';
import { Link } from '../router';
import { useCan } from '../session';
import { Alert, Badge, PageHeader, Spinner, useLoad } from '../ui';
import { STATUS_LABEL } from './Campaigns';
import { contactName } from '../format';

const POLL_MS = 4000;

interface Problem {
  nodeId?: string;
  field?: string;
  message: string;
}

type StepData = { node: CampaignNode; metrics: NodeMetrics | undefined; problems: Problem[]; isEntry: boolean };
type StepNode = Node<StepData, 'step'>;

/** Reads `details: [{ nodeId, field, message }]` of a CAMPAIGN_INVALID answer. */
function problemsOf(error: unknown): Problem[] {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return [];
  return (error.details as unknown[]).flatMap((detail) => {
    if (typeof detail !== 'object' || detail === null) return [];
    const { nodeId, field, message } = detail as Record<string, unknown>;
    if (typeof message !== 'string') return [];
    return [{ message, ...(typeof nodeId === 'string' ? { nodeId } : {}), ...(typeof field === 'string' ? { field } : {}) }];
  });
}

function StepNodeView({ data }: NodeProps<StepNode>) {
  const { node, metrics, problems, isEntry } = data;
  return (
    <div className={`flow-node flow-node-${node.type}${problems.length > 0 ? ' flow-node-invalid' : ''}`} style={{ width: NODE_WIDTH }}>
      {isEntry ? null : <Handle type="target" position={Position.Top} isConnectable={false} />}
      <div className="flow-node-head">
        <span className="flow-node-type">{node.type}</span>
        <span className="flow-node-name">{node.name ?? node.id}</span>
      </div>
      <div className="flow-node-summary">{describeNode(node)}</div>
      <dl className="flow-node-metrics" aria-label={`Counts for ${node.name ?? node.id}`}>
        <div>
          <dt>entered</dt>
          <dd>{metrics?.entered ?? 0}</dd>
        </div>
        <div>
          <dt>waiting</dt>
          <dd>{metrics?.waiting ?? 0}</dd>
        </div>
        <div>
          <dt>done</dt>
          <dd>{metrics?.completed ?? 0}</dd>
        </div>
        <div className={metrics?.failed ? 'failed' : undefined}>
          <dt>failed</dt>
          <dd>{metrics?.failed ?? 0}</dd>
        </div>
      </dl>
      {problems.map((problem, index) => (
        <p key={index} className="flow-node-problem">
          {problem.field ? `${problem.field}: ` : ''}
          {problem.message}
        </p>
      ))}
      {node.type === 'exit' ? null : <Handle type="source" position={Position.Bottom} isConnectable={false} />}
    </div>
  );
}

const NODE_TYPES = { step: StepNodeView };

function CampaignGraph({ detail, problems }: { detail: CampaignDetail; problems: Problem[] }) {
  const { definition, metrics } = detail;
  const layout = useMemo(() => layoutDefinition(definition), [definition]);
  const nodes: StepNode[] = layout.map(({ node, x, y }) => ({
    id: node.id,
    type: 'step',
    position: { x, y },
    data: { node, metrics: metrics.nodes[node.id], problems: problems.filter((p) => p.nodeId === node.id), isEntry: node.id === definition.entryNodeId },
    draggable: false,
    connectable: false,
    selectable: false,
  }));
  const edges: Edge[] = definition.edges.map((edge, index) => ({
    id: `${edge.from}->${edge.to}:${edge.handle ?? ''}:${index}`,
    source: edge.from,
    target: edge.to,
    ...(edge.handle ? { label: edge.handle } : {}),
    markerEnd: { type: MarkerType.ArrowClosed },
    selectable: false,
  }));
  return (
    <div className="flow-canvas" aria-label="Campaign flow" role="region">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        fitView
        fitViewOptions={{ padding: 0.2 }}
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function EnrollPanel({ campaignId, onDone, onCancel }: { campaignId: string; onDone: (message: string) => void; onCancel: () => void }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  const [contacts] = useLoad(() => api.contacts.list({ limit: 50, search: query }), [query]);

  const toggle = (id: string) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (selected.size === 0) {
      setError('Choose at least one contact');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api.campaigns.enroll(campaignId, [...selected]);
      onDone(`Enrolled ${selected.size} contact${selected.size === 1 ? '' : 's'}.`);
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  };

  const list: Contact[] = contacts.status === 'ready' ? contacts.data.contacts : [];
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby="enroll-title">
      <h2 id="enroll-title">Enroll contacts</h2>
      {error ? <Alert>{error}</Alert> : null}
      <div className="field">
        <label htmlFor="enroll-search">Find contacts</label>
        <input id="enroll-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="Name, email or company" />
      </div>
      {contacts.status === 'loading' ? <Spinner /> : null}
      {contacts.status === 'error' ? <Alert>{contacts.message}</Alert> : null}
      {contacts.status === 'ready' && list.length === 0 ? <p className="muted">No contact matches.</p> : null}
      {list.length > 0 ? (
        <ul className="checklist">
          {list.map((contact) => (
            <li key={contact.id}>
              <label>
                <input type="checkbox" checked={selected.has(contact.id)} onChange={() => toggle(contact.id)} /> {contactName(contact)}{' '}
                <span className="muted small">{contact.email}</span>
              </label>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Enrolling…' : `Enroll ${selected.size || ''}`.trim()}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function CampaignPage({ campaignId }: { campaignId: string }) {
  const can = useCan();
  const [loaded, reload] = useLoad(() => api.campaigns.get(campaignId), [campaignId], POLL_MS);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);
  const [enrolling, setEnrolling] = useState(false);

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
  const { campaign } = detail;

  const publish = async () => {
    setBusy(true);
    setMessage(undefined);
    try {
      await api.campaigns.publish(campaign.id);
      setProblems([]);
      setMessage({ kind: 'success', text: 'Published: new enrollments follow this version.' });
      await reload();
    } catch (error) {
      setProblems(problemsOf(error));
      setMessage({ kind: 'error', text: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };

  const generalProblems = problems.filter((p) => !p.nodeId || !detail.definition.nodes.some((n) => n.id === p.nodeId));
  const writable = can('campaigns:write');

  return (
    <section>
      <p className="crumbs">
        <Link to="/campaigns">← Campaigns</Link>
      </p>
      <PageHeader title={campaign.name}>
        <Badge tone={campaign.status}>{STATUS_LABEL[campaign.status] ?? campaign.status}</Badge>
        <span className="muted small">v{campaign.currentVersion}</span>
        {writable && campaign.status !== 'archived' ? (
          <button type="button" className="button primary" disabled={busy} onClick={() => void publish()}>
            {busy ? 'Publishing…' : campaign.status === 'draft' ? 'Publish' : 'Publish changes'}
          </button>
        ) : null}
        {writable && campaign.status === 'active' && !enrolling ? (
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
              <li key={index}>{problem.message}</li>
            ))}
          </ul>
        </Alert>
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
      {campaign.status === 'draft' ? <p className="muted small">Publish the campaign to enroll contacts.</p> : null}
      <CampaignGraph detail={detail} problems={problems} />
      <p className="muted small">Counts refresh every few seconds.</p>
    </section>
  );
}
