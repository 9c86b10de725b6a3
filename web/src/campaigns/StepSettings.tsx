/**
 * The builder's side panel for the selected step: its name, its settings form (NodeConfigForm),
 * notes, connections and delete. Each problem the API found on the step shows under the input of
 * its setting (FieldProblems: aria-describedby, aria-invalid); problems no input shows (a
 * missing connection, a step nobody reaches…) are listed at the top of the panel.
 */
import { useCallback, useMemo, useState } from 'react';
import { fieldLabel } from '@server/campaigns/problem-wording.js';
import type { CampaignNode } from '../api';
import { connectEdge, renameHandle, sourceHandles, type FlowStep, type Problem } from './builder';
import { entryOf, TYPE_LABEL, type Graph } from './edit';
import { FieldError, FieldProblems, useFieldProblems, type FieldProblemsValue } from './forms/fields';
import { NodeConfigForm, NodeNotes } from './forms/NodeConfigForm';

export interface StepSettingsProps {
  step: FlowStep;
  graph: Graph;
  problems: Problem[];
  onGraph: (next: (graph: Graph) => Graph, options?: { coalesce?: string }) => void;
  campaignId: string;
}

/** Where a handle's connection goes, with the problem of an unconnected path under it. */
function Connection({ step, handle, graph, onConnect }: { step: FlowStep; handle: string; graph: Graph; onConnect: (handle: string, target: string) => void }) {
  const id = `connect-${handle}`;
  const problems = useFieldProblems(id, `edges.${handle}`);
  const entryId = entryOf(graph.nodes);
  return (
    <div className={`field${problems.messages.length > 0 ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>Then ({handle === 'default' ? 'everyone else' : handle === 'timeout' ? 'timed out' : handle})</label>
      <select id={id} value={graph.edges.find((e) => e.source === step.id && e.sourceHandle === handle)?.target ?? ''} onChange={(event) => onConnect(handle, event.target.value)} {...problems.inputProps}>
        <option value="">Not connected</option>
        {graph.nodes
          .filter((n) => n.id !== step.id && n.id !== entryId)
          .map((n) => (
            <option key={n.id} value={n.id}>
              {n.data.node.name || n.id}
            </option>
          ))}
      </select>
      <FieldError id={problems.errorId} messages={problems.messages} />
    </div>
  );
}

export function StepSettings({ step, graph, problems, onGraph, campaignId }: StepSettingsProps) {
  const node = step.data.node;
  const mine = useMemo(() => problems.filter((p) => p.nodeId === step.id), [problems, step.id]);
  // The settings paths an input shows now, counted (two inputs may show one path).
  const [shown, setShown] = useState<ReadonlyMap<string, number>>(new Map());
  const register = useCallback((field: string) => {
    const bump = (delta: number) =>
      setShown((previous) => {
        const next = new Map(previous);
        const count = (next.get(field) ?? 0) + delta;
        if (count > 0) next.set(field, count);
        else next.delete(field);
        return next;
      });
    bump(1);
    return () => bump(-1);
  }, []);
  const fieldProblems = useMemo<FieldProblemsValue>(() => ({ messages: (field) => mine.filter((p) => p.field === field).map((p) => p.message), register }), [mine, register]);
  const unplaced = mine.filter((p) => p.field === undefined || !shown.has(p.field));
  const update = (change: Partial<CampaignNode>, field: string) =>
    onGraph((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === step.id ? { ...n, data: { node: { ...n.data.node, ...change } } } : n)) }), { coalesce: `${step.id}:${field}` });
  const connect = (handle: string, target: string) =>
    onGraph((g) => ({ ...g, edges: target === '' ? g.edges.filter((e) => !(e.source === step.id && e.sourceHandle === handle)) : connectEdge(g.edges, { source: step.id, sourceHandle: handle, target }) }));
  return (
    <FieldProblems.Provider value={fieldProblems}>
      <div className="stack" data-testid="step-settings">
        <h2 tabIndex={-1} id="step-settings-title">
          {TYPE_LABEL[node.type]}: {node.name || step.id}
        </h2>
        {mine.length > 0 ? (
          <div className="alert alert-error" role="status" data-testid="step-problems">
            <p>
              {mine.length} problem{mine.length === 1 ? '' : 's'} to fix in this step{unplaced.length < mine.length ? ' (shown under the settings concerned)' : ''}.
            </p>
            {unplaced.length > 0 ? (
              <ul>
                {unplaced.map((problem, index) => (
                  <li key={index}>
                    {problem.field?.startsWith('config.') ? <strong>{fieldLabel(problem.field)}: </strong> : null}
                    {problem.message}
                  </li>
                ))}
              </ul>
            ) : null}
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
          nodes={graph.nodes.map((n) => n.data.node)}
          returnTo={`/campaigns/${campaignId}?step=${encodeURIComponent(step.id)}`}
        />
        <NodeNotes node={node} onChange={(notes) => update({ notes }, 'notes')} />
        {sourceHandles(node).length > 0 ? (
          <fieldset>
            <legend>Connections</legend>
            {sourceHandles(node).map((handle) => (
              <Connection key={handle} step={step} handle={handle} graph={graph} onConnect={connect} />
            ))}
          </fieldset>
        ) : null}
        <button type="button" className="button danger" onClick={() => onGraph((g) => ({ nodes: g.nodes.filter((n) => n.id !== step.id), edges: g.edges.filter((e) => e.source !== step.id && e.target !== step.id) }))}>
          Delete step
        </button>
      </div>
    </FieldProblems.Provider>
  );
}
