/**
 * One campaign in the visual builder: a full-width page with the palette, the canvas
 * (web/src/campaigns/Canvas.tsx) and a resizable side panel holding the selected step's settings
 * and the problems panel. The draft autosaves (useDraft.ts) valid or not; publishing requires no
 * problems. Leaving with unsaved work asks first; an edit conflict offers their version or ours.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type CampaignDetail, type CampaignNode, type Contact, type NodeMetrics, type NodeType } from '../api';
import { connectEdge, problemsOf, renameHandle, sourceHandles, type FlowStep } from '../campaigns/builder';
import { Canvas } from '../campaigns/Canvas';
import { SplitResults } from '../campaigns/SplitResults';
import { addAfter, entryOf, TYPE_LABEL, type Graph } from '../campaigns/edit';
import type { CanvasOverlay } from '../campaigns/overlay';
import { Palette } from '../campaigns/Palette';
import { BuilderSkeleton, ProblemsPanel, ResizablePanel } from '../campaigns/ProblemsPanel';
import { campaignKey, useDraft, type SaveState } from '../campaigns/useDraft';
import { fieldLabel } from '@server/campaigns/problem-wording.js';
import { Link, useLeaveGuard } from '../router';
import { useCan } from '../session';
import { Alert, Badge, Spinner, useLoad } from '../ui';
import { STATUS_LABEL } from './Campaigns';
import { NodeConfigForm } from './NodeConfigForm';
import { contactName } from '../format';

const POLL_MS = 4000;

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

function saveLabel(state: SaveState, dirty: boolean): string {
  switch (state.kind) {
    case 'saving':
      return 'Saving…';
    case 'pending':
      return 'Unsaved changes';
    case 'error':
      return 'Not saved';
    case 'conflict':
      return 'Edit conflict';
    case 'saved':
      return dirty ? 'Unsaved changes' : state.at ? `Draft saved ${state.at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}` : 'Draft saved';
  }
}

interface SettingsProps {
  step: FlowStep;
  graph: Graph;
  problems: Array<{ nodeId?: string; field?: string; message: string }>;
  onGraph: (next: (graph: Graph) => Graph, options?: { coalesce?: string }) => void;
}

/** The selected step's settings: name, its form (NodeConfigForm), its connections, delete. */
function StepSettings({ step, graph, problems, onGraph }: SettingsProps) {
  const lookups = useQuery({
    queryKey: ['builder-lookups'],
    queryFn: async () => {
      const [segments, members, topics] = await Promise.all([api.segments.list().catch(() => ({ segments: [] })), api.members.list().catch(() => ({ members: [] })), api.topics.list().catch(() => ({ topics: [] }))]);
      return { segments: segments.segments, members: members.members, topics: topics.topics };
    },
    // Fresh on each visit: segments and topics may have been added in another page meanwhile.
    staleTime: 0,
  });
  const node = step.data.node;
  const entryId = entryOf(graph.nodes);
  const mine = problems.filter((p) => p.nodeId === step.id);
  const update = (change: Partial<CampaignNode>, field: string) =>
    onGraph((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === step.id ? { ...n, data: { node: { ...n.data.node, ...change } } } : n)) }), { coalesce: `${step.id}:${field}` });
  const connect = (handle: string, target: string) =>
    onGraph((g) => ({ ...g, edges: target === '' ? g.edges.filter((e) => !(e.source === step.id && e.sourceHandle === handle)) : connectEdge(g.edges, { source: step.id, sourceHandle: handle, target }) }));
  return (
    <div className="stack" data-testid="step-settings">
      <h2 tabIndex={-1} id="step-settings-title">
        {TYPE_LABEL[node.type]}: {node.name || step.id}
      </h2>
      {mine.length > 0 ? (
        <div className="alert alert-error" role="status">
          <ul>
            {mine.map((problem, index) => (
              <li key={index}>
                {problem.field?.startsWith('config.') ? <strong>{fieldLabel(problem.field)}: </strong> : null}
                {problem.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="field">
        <label htmlFor="node-name">Name</label>
        <input id="node-name" value={node.name ?? ''} onChange={(event) => update({ name: event.target.value }, 'name')} />
      </div>
      <NodeConfigForm
        key={step.id}
        node={node}
        onChange={(config) => update({ config }, 'config')}
        onRenameHandle={(from, to) => onGraph((g) => ({ ...g, edges: renameHandle(g.edges, step.id, from, to) }))}
        segments={lookups.data?.segments ?? []}
        members={lookups.data?.members ?? []}
        topics={lookups.data?.topics ?? []}
      />
      {sourceHandles(node).length > 0 ? (
        <fieldset>
          <legend>Connections</legend>
          {sourceHandles(node).map((handle) => (
            <div className="field" key={handle}>
              <label htmlFor={`connect-${handle}`}>Then ({handle === 'default' ? 'everyone else' : handle === 'timeout' ? 'timed out' : handle})</label>
              <select id={`connect-${handle}`} value={graph.edges.find((e) => e.source === step.id && e.sourceHandle === handle)?.target ?? ''} onChange={(event) => connect(handle, event.target.value)}>
                <option value="">Not connected</option>
                {graph.nodes
                  .filter((n) => n.id !== step.id && n.id !== entryId)
                  .map((n) => (
                    <option key={n.id} value={n.id}>
                      {n.data.node.name || n.id}
                    </option>
                  ))}
              </select>
            </div>
          ))}
        </fieldset>
      ) : null}
      <button type="button" className="button danger" onClick={() => onGraph((g) => ({ nodes: g.nodes.filter((n) => n.id !== step.id), edges: g.edges.filter((e) => e.source !== step.id && e.target !== step.id) }))}>
        Delete step
      </button>
    </div>
  );
}

function Builder({ detail, metrics, editable }: { detail: CampaignDetail; metrics: Record<string, NodeMetrics>; editable: boolean }) {
  const { campaign } = detail;
  const queryClient = useQueryClient();
  const draft = useDraft(detail, editable);
  const { history, problems, state, dirty } = draft;
  const graph = history.present;
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [publishing, setPublishing] = useState(false);
  const [enrolling, setEnrolling] = useState(false);
  const [focus, setFocus] = useState<{ nodeId: string; seq: number }>();
  // Set by the simulation and journey panels: a contact's path drawn over the canvas.
  const [overlay, setOverlay] = useState<CanvasOverlay | null>(null);

  useLeaveGuard(editable && (dirty || state.kind === 'saving') ? 'This campaign has changes that are not saved yet. Leave anyway and lose them?' : null);

  const setGraph = history.set;
  const onGraph = useCallback((next: Graph | ((g: Graph) => Graph), options?: { record?: boolean; coalesce?: string }) => setGraph(next, options), [setGraph]);
  const selected = graph.nodes.filter((n) => n.selected);
  const hasTrigger = graph.nodes.some((n) => n.data.node.type === 'trigger');
  const onAdd = (type: NodeType) => history.set((g) => addAfter(g, type, selected.length === 1 ? selected[0]!.id : undefined));

  const publish = async () => {
    setMessage(undefined);
    setPublishing(true);
    try {
      if (!(await draft.save())) return;
      const answer = await api.campaigns.publish(campaign.id);
      draft.setProblems([]);
      queryClient.setQueryData<CampaignDetail>(campaignKey(campaign.id), (old) => (old ? { ...old, campaign: answer.campaign } : old));
      setMessage({ kind: 'success', text: `Published version ${answer.campaign.currentVersion ?? ''}: new enrollments follow it.` });
    } catch (error) {
      const listed = problemsOf(error);
      if (listed.length > 0) draft.setProblems(listed);
      setMessage({ kind: 'error', text: listed.length > 0 ? `Fix the ${listed.length} problem${listed.length === 1 ? '' : 's'} listed in the panel, then publish again.` : errorMessage(error) });
    } finally {
      setPublishing(false);
    }
  };

  const show = (nodeId: string) => setFocus((previous) => ({ nodeId, seq: (previous?.seq ?? 0) + 1 }));
  useEffect(() => {
    if (focus) document.getElementById('step-settings-title')?.focus();
  }, [focus]);

  return (
    <>
      <div className="builder-header">
        <div className="builder-title">
          <p className="crumbs">
            <Link to="/campaigns">← Campaigns</Link>
          </p>
          <h1>{campaign.name}</h1>
          <Badge tone={campaign.status}>{STATUS_LABEL[campaign.status] ?? campaign.status}</Badge>
          <span className="muted small">{campaign.currentVersion ? `live: version ${campaign.currentVersion}` : 'never published'}</span>
        </div>
        <div className="row">
          <Link to={`/campaigns/${campaign.id}/report`} className="button">
            Report
          </Link>
          {editable ? (
            <span className={`save-state save-${state.kind}`} role="status" data-testid="save-state">
              {saveLabel(state, dirty)}
            </span>
          ) : null}
          {editable && state.kind === 'error' ? (
            <button type="button" className="button small" onClick={() => void draft.save()}>
              Try again
            </button>
          ) : null}
          {editable ? (
            <button type="button" className="button primary" disabled={publishing || state.kind === 'conflict'} onClick={() => void publish()}>
              {publishing ? 'Publishing…' : campaign.status === 'draft' ? 'Publish' : 'Publish changes'}
            </button>
          ) : null}
          {editable && campaign.status === 'active' && !enrolling ? (
            <button type="button" className="button" onClick={() => setEnrolling(true)}>
              Enroll contacts
            </button>
          ) : null}
        </div>
      </div>
      {state.kind === 'conflict' ? (
        <div className="alert alert-error conflict" role="alert">
          <p>
            <strong>Someone else saved this campaign while you were editing.</strong> Your changes are not saved. Load their version (your changes are dropped), or keep yours and
            overwrite theirs.
          </p>
          <div className="row">
            <button type="button" className="button" onClick={() => void draft.reloadTheirs()}>
              Reload their version
            </button>
            <button type="button" className="button danger" onClick={() => void draft.keepMine()}>
              Keep mine (overwrite)
            </button>
          </div>
        </div>
      ) : null}
      {state.kind === 'error' ? <Alert>{`Your latest changes are not saved: ${state.message}`}</Alert> : null}
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {enrolling ? (
        <EnrollPanel
          campaignId={campaign.id}
          onDone={(text) => {
            setEnrolling(false);
            setMessage({ kind: 'success', text });
          }}
          onCancel={() => setEnrolling(false)}
        />
      ) : null}
      <div className="builder">
        {editable ? <Palette onAdd={onAdd} hasTrigger={hasTrigger} /> : null}
        <Canvas
          graph={graph}
          onGraph={onGraph}
          onCheckpoint={history.checkpoint}
          onUndo={history.undo}
          onRedo={history.redo}
          canUndo={history.canUndo}
          canRedo={history.canRedo}
          metrics={metrics}
          problems={problems}
          editable={editable}
          overlay={overlay}
          onCloseOverlay={() => setOverlay(null)}
          focus={focus}
        />
        <ResizablePanel label="Step settings and problems">
          {editable && selected.length === 1 ? (
            <StepSettings step={selected[0]!} graph={{ nodes: graph.nodes, edges: draft.liveEdges }} problems={problems} onGraph={onGraph} />
          ) : (
            <p className="muted small">
              {selected.length > 1
                ? `${selected.length} steps selected: press Delete to remove them, Ctrl+C to copy.`
                : editable
                  ? 'Select a step to edit it. Drag from a step’s bottom handle to another step to connect them; select an arrow and press Delete to remove it.'
                  : 'Counts refresh every few seconds.'}
            </p>
          )}
          {editable ? <ProblemsPanel problems={problems} nodes={graph.nodes} onShow={show} /> : null}
        </ResizablePanel>
      </div>
    </>
  );
}

export function CampaignPage({ campaignId }: { campaignId: string }) {
  const can = useCan();
  // The definition is loaded once into the builder (later saves keep it in the cache); polling refreshes only the counts.
  const detail = useQuery({ queryKey: campaignKey(campaignId), queryFn: () => api.campaigns.get(campaignId), staleTime: Infinity });
  const counts = useQuery({ queryKey: [...campaignKey(campaignId), 'counts'], queryFn: () => api.campaigns.get(campaignId).then((d) => d.metrics.nodes), refetchInterval: POLL_MS, enabled: detail.isSuccess });

  if (detail.isPending) return <BuilderSkeleton />;
  if (detail.isError) {
    return (
      <section>
        <p className="crumbs">
          <Link to="/campaigns">← Campaigns</Link>
        </p>
        <Alert>{errorMessage(detail.error)}</Alert>
      </section>
    );
  }
  const data = detail.data;
  const editable = can('campaigns:write') && data.campaign.status !== 'archived';
  return (
    <section className="page-wide builder-page">
      <Builder key={data.campaign.id} detail={data} metrics={counts.data ?? data.metrics.nodes} editable={editable} />
      <SplitResults campaignId={campaignId} />
    </section>
  );
}
