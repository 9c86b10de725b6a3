/**
 * One campaign in the visual builder: a full-width page with the palette, the canvas
 * (web/src/campaigns/Canvas.tsx) and a resizable side panel holding the selected step's settings
 * and the problems panel. The draft autosaves (useDraft.ts) valid or not; publishing requires no
 * problems. Leaving with unsaved work asks first; an edit conflict offers their version or ours.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type CampaignDetail, type NodeMetrics, type NodeType } from '../api';
import { problemsOf } from '../campaigns/builder';
import { Canvas } from '../campaigns/Canvas';
import { SplitResults } from '../campaigns/SplitResults';
import { addAfter, type Graph } from '../campaigns/edit';
import type { CanvasOverlay } from '../campaigns/overlay';
import { Palette } from '../campaigns/Palette';
import { BuilderSkeleton, ProblemsPanel, ResizablePanel } from '../campaigns/ProblemsPanel';
import { campaignKey, useDraft, type SaveState } from '../campaigns/useDraft';
import { campaignQuery } from '../campaigns/campaign-query';
import { Link, navigate, useLeaveGuard } from '../router';
import { useCan } from '../session';
import { Alert, Badge } from '../ui';
import { STATUS_LABEL } from './Campaigns';
import { StepSettings } from '../campaigns/StepSettings';
import { CampaignOps } from '../campaigns/ops/CampaignOps';
import { EnrollPanel } from '../campaigns/ops/EnrollPanel';
import { LifecycleActions, PublishDialog } from '../campaigns/ops/Lifecycle';

const POLL_MS = 4000;

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

function Builder({ detail, metrics, editable }: { detail: CampaignDetail; metrics: Record<string, NodeMetrics>; editable: boolean }) {
  const { campaign } = detail;
  const queryClient = useQueryClient();
  const can = useCan();
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

  const reload = () => void queryClient.invalidateQueries({ queryKey: campaignKey(campaign.id) });
  const publishFailed = (error: unknown) => {
    const listed = problemsOf(error);
    if (listed.length > 0) draft.setProblems(listed);
    setPublishing(false);
    setMessage({ kind: 'error', text: listed.length > 0 ? `Fix the ${listed.length} problem${listed.length === 1 ? '' : 's'} listed in the panel, then publish again.` : errorMessage(error) });
  };
  // Publishing saves the draft first, then opens the dialog that shows what changes against the
  // running version; a draft with problems is refused there and the problems are listed in the panel.
  const publish = async () => {
    setMessage(undefined);
    if (!(await draft.save())) return;
    setPublishing(true);
  };

  const show = (nodeId: string) => setFocus((previous) => ({ nodeId, seq: (previous?.seq ?? 0) + 1 }));
  // Back from the template editor (`?step=<node id>`): the step the person came from is selected again.
  const returned = useRef(false);
  useEffect(() => {
    if (returned.current) return;
    returned.current = true;
    const stepId = new URLSearchParams(window.location.search).get('step');
    if (!stepId) return;
    if (history.present.nodes.some((n) => n.id === stepId)) setFocus({ nodeId: stepId, seq: 1 });
    navigate(`/campaigns/${campaign.id}`, { replace: true, force: true });
  }, [campaign.id, history.present.nodes]);
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
              {campaign.status === 'draft' ? 'Publish…' : 'Publish changes…'}
            </button>
          ) : null}
          {can('campaigns:write') ? <LifecycleActions campaign={campaign} onChanged={reload} onMessage={setMessage} /> : null}
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
      {publishing ? (
        <PublishDialog
          campaignId={campaign.id}
          onClose={() => setPublishing(false)}
          onPublished={(text) => {
            setPublishing(false);
            draft.setProblems([]);
            setMessage({ kind: 'success', text });
            reload();
          }}
          onError={publishFailed}
        />
      ) : null}
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
            <StepSettings step={selected[0]!} graph={{ nodes: graph.nodes, edges: draft.liveEdges }} problems={problems} onGraph={onGraph} campaignId={campaign.id} />
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
      <CampaignOps campaign={campaign} definition={draft.definition} editable={editable} onSettingsChange={draft.setSettings} onOverlay={setOverlay} onChanged={reload} />
    </>
  );
}

export function CampaignPage({ campaignId }: { campaignId: string }) {
  const can = useCan();
  // The definition is loaded once into the builder (later saves keep it in the cache); polling refreshes only the counts.
  const detail = useQuery(campaignQuery(campaignId));

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
      <LiveBuilder key={data.campaign.id} detail={data} loadedAt={detail.dataUpdatedAt} editable={editable} />
      <SplitResults campaignId={campaignId} />
    </section>
  );
}

/** The builder with its live counts: they start as the loaded campaign's and are polled from then on. */
function LiveBuilder({ detail, loadedAt, editable }: { detail: CampaignDetail; loadedAt: number; editable: boolean }) {
  const campaignId = detail.campaign.id;
  const counts = useQuery({
    queryKey: [...campaignKey(campaignId), 'counts'],
    queryFn: () => api.campaigns.get(campaignId).then((d) => d.metrics.nodes),
    refetchInterval: POLL_MS,
    initialData: detail.metrics.nodes,
    initialDataUpdatedAt: loadedAt,
    staleTime: POLL_MS,
  });
  return <Builder detail={detail} metrics={counts.data} editable={editable} />;
}
