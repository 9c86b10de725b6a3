/**
 * The builder's draft: the graph being edited (with undo history), autosaved a moment after each
 * change whether valid or not, the problems the server found at the last save, and edit conflicts
 * — a save answered 409 CAMPAIGN_EDIT_CONFLICT because another member saved meanwhile — resolved
 * by reloading their version or overwriting it with ours.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, ApiError, errorMessage, type CampaignDefinition, type CampaignDetail, type DefinitionProblem } from '../api';
import { definitionToFlow, flowToDefinition, problemsOf, pruneEdges, type Problem } from './builder';
import { openedGraph, type Graph } from './edit';
import { campaignKey } from './campaign-query';
import { useHistory } from './history';

export const AUTOSAVE_MS = 1200;

export type SaveState = { kind: 'saved'; at?: Date } | { kind: 'pending' } | { kind: 'saving' } | { kind: 'error'; message: string } | { kind: 'conflict'; theirRevision: number };

export { campaignKey } from './campaign-query';

export function toProblems(list: readonly DefinitionProblem[]): Problem[] {
  return list.map((p) => ({ message: p.message, ...(p.nodeId ? { nodeId: p.nodeId } : {}), ...(p.field ? { field: p.field } : {}) }));
}

export function useDraft(detail: CampaignDetail, editable: boolean) {
  const campaignId = detail.campaign.id;
  const queryClient = useQueryClient();
  const initial = useMemo(() => definitionToFlow(detail.definition), [detail.definition]);
  const history = useHistory<Graph>(openedGraph(initial));
  const [settings, setSettings] = useState<CampaignDefinition['settings']>(detail.definition.settings);
  const [problems, setProblems] = useState<Problem[]>(() => toProblems(detail.problems));
  const [state, setState] = useState<SaveState>({ kind: 'saved' });
  const saved = useRef(JSON.stringify(flowToDefinition(initial.nodes, pruneEdges(initial.nodes, initial.edges), detail.definition.settings)));
  const revision = useRef(detail.campaign.draftRevision);
  const inFlight = useRef<Promise<boolean> | null>(null);
  const savedAt = useRef<Date | undefined>(undefined);

  const { nodes, edges } = history.present;
  const liveEdges = useMemo(() => pruneEdges(nodes, edges), [nodes, edges]);
  const definition = useMemo(() => flowToDefinition(nodes, liveEdges, settings), [nodes, liveEdges, settings]);
  const json = useMemo(() => JSON.stringify(definition), [definition]);
  const dirty = json !== saved.current;

  const save = useCallback(
    async (overwriteRevision?: number): Promise<boolean> => {
      if (inFlight.current) await inFlight.current;
      const body = json;
      if (body === saved.current && overwriteRevision === undefined) return true;
      setState({ kind: 'saving' });
      const run = (async () => {
        try {
          const answer = await api.campaigns.update(campaignId, { definition: JSON.parse(body) as CampaignDefinition, draftRevision: overwriteRevision ?? revision.current });
          saved.current = body;
          revision.current = answer.campaign.draftRevision;
          setProblems(toProblems(answer.problems));
          savedAt.current = new Date();
          setState({ kind: 'saved', at: savedAt.current });
          queryClient.setQueryData<CampaignDetail>(campaignKey(campaignId), (old) => (old ? { ...old, campaign: answer.campaign, definition: JSON.parse(body) as CampaignDefinition, problems: answer.problems } : old));
          return true;
        } catch (error) {
          if (error instanceof ApiError && error.code === 'CAMPAIGN_EDIT_CONFLICT') {
            const theirs = (error.details as { draftRevision?: unknown } | undefined)?.draftRevision;
            setState({ kind: 'conflict', theirRevision: typeof theirs === 'number' ? theirs : revision.current });
          } else {
            const listed = problemsOf(error);
            if (listed.length > 0) setProblems(listed);
            setState({ kind: 'error', message: errorMessage(error) });
          }
          return false;
        } finally {
          inFlight.current = null;
        }
      })();
      inFlight.current = run;
      return run;
    },
    [campaignId, json, queryClient],
  );

  // Autosave: a moment after the last change, unless a conflict waits for a choice.
  useEffect(() => {
    // Back to what is saved before the autosave ran (an undo, a redo): nothing is pending any more.
    if (!dirty && state.kind === 'pending') {
      setState({ kind: 'saved', ...(savedAt.current ? { at: savedAt.current } : {}) });
      return;
    }
    if (!editable || !dirty || state.kind === 'conflict' || state.kind === 'saving') return;
    if (state.kind !== 'pending' && state.kind !== 'error') setState({ kind: 'pending' });
    const timer = window.setTimeout(() => void save(), AUTOSAVE_MS);
    return () => window.clearTimeout(timer);
  }, [editable, dirty, json, state.kind, save]);

  /** Drops our edits for the version stored now (another member's). */
  const reloadTheirs = useCallback(async () => {
    const fresh = await queryClient.fetchQuery({ queryKey: campaignKey(campaignId), queryFn: () => api.campaigns.get(campaignId), staleTime: 0 });
    const flow = definitionToFlow(fresh.definition);
    saved.current = JSON.stringify(flowToDefinition(flow.nodes, pruneEdges(flow.nodes, flow.edges), fresh.definition.settings));
    revision.current = fresh.campaign.draftRevision;
    setSettings(fresh.definition.settings);
    setProblems(toProblems(fresh.problems));
    history.reset(openedGraph(flow));
    setState({ kind: 'saved' });
  }, [campaignId, history, queryClient]);

  /** Saves ours over theirs. */
  const keepMine = useCallback(async () => {
    if (state.kind === 'conflict') await save(state.theirRevision);
  }, [save, state]);

  return { history, definition, liveEdges, settings, setSettings, problems, setProblems, state, dirty, save, reloadTheirs, keepMine };
}
