/**
 * The builder's problems panel: every problem of the draft in plain words (the API's sentences,
 * problem-wording.ts), grouped by step, each a button that selects and centres its step. Also the
 * loading skeleton of the builder page and the resizable side panel's splitter.
 */
import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { fieldLabel } from '@server/campaigns/problem-wording.js';
import type { Problem } from './builder';
import type { FlowStep } from './builder';

export function ProblemsPanel({ problems, nodes, onShow }: { problems: Problem[]; nodes: FlowStep[]; onShow: (nodeId: string) => void }) {
  const names = new Map(nodes.map((n) => [n.id, n.data.node.name || n.id]));
  if (problems.length === 0) {
    return (
      <section className="problems problems-none" aria-labelledby="problems-title">
        <h2 id="problems-title">Problems</h2>
        <p className="small">No problems: this draft can be published.</p>
      </section>
    );
  }
  return (
    <section className="problems" aria-labelledby="problems-title">
      <h2 id="problems-title">
        {problems.length} problem{problems.length === 1 ? '' : 's'} to fix before publishing
      </h2>
      <ul>
        {problems.map((problem, index) => {
          const name = problem.nodeId ? names.get(problem.nodeId) : undefined;
          return (
            <li key={index}>
              {problem.nodeId && name ? (
                <button type="button" className="problem-link" onClick={() => onShow(problem.nodeId!)} data-testid="problem">
                  <span className="problem-node">{name}</span>
                  {problem.field && problem.field.startsWith('config.') ? <span className="problem-field"> · {fieldLabel(problem.field)}</span> : null}
                  <span className="problem-text">{problem.message}</span>
                </button>
              ) : (
                <p className="problem-general" data-testid="problem">
                  <span className="problem-node">Campaign</span>
                  <span className="problem-text">{problem.message}</span>
                </p>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The shape of the builder while it loads: grey blocks where the header, palette, canvas and panel will be. */
export function BuilderSkeleton() {
  return (
    <div className="builder-skeleton" aria-busy="true" aria-label="Loading the campaign">
      <div className="skeleton skeleton-title" />
      <div className="builder-skeleton-body">
        <div className="skeleton skeleton-palette" />
        <div className="skeleton skeleton-canvas" />
        <div className="skeleton skeleton-panel" />
      </div>
      <span className="visually-hidden" role="status">
        Loading the campaign…
      </span>
    </div>
  );
}

const WIDTH_KEY = 'uh:builder-panel-width';
const MIN_WIDTH = 280;
const MAX_WIDTH = 720;

/** A side panel whose width the person sets by dragging (or with the arrow keys on) its splitter. */
export function ResizablePanel({ children, label }: { children: ReactNode; label: string }) {
  const [width, setWidth] = useState(() => {
    const stored = Number(window.localStorage.getItem(WIDTH_KEY));
    return Number.isFinite(stored) && stored >= MIN_WIDTH && stored <= MAX_WIDTH ? stored : 360;
  });
  const drag = useRef<{ x: number; width: number } | null>(null);
  useEffect(() => window.localStorage.setItem(WIDTH_KEY, String(width)), [width]);
  const clamp = (value: number) => Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.round(value)));
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    drag.current = { x: event.clientX, width };
    event.currentTarget.setPointerCapture(event.pointerId);
  };
  const onPointerMove = useCallback((event: PointerEvent<HTMLDivElement>) => {
    if (drag.current) setWidth(clamp(drag.current.width + drag.current.x - event.clientX));
  }, []);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'ArrowLeft') setWidth((w) => clamp(w + 24));
    else if (event.key === 'ArrowRight') setWidth((w) => clamp(w - 24));
    else return;
    event.preventDefault();
  };
  return (
    <>
      <div
        className="splitter"
        role="separator"
        aria-orientation="vertical"
        aria-label={`Resize the ${label}`}
        aria-valuemin={MIN_WIDTH}
        aria-valuemax={MAX_WIDTH}
        aria-valuenow={width}
        tabIndex={0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={() => (drag.current = null)}
        onKeyDown={onKeyDown}
      />
      <aside className="side-panel" aria-label={label} style={{ width }}>
        {children}
      </aside>
    </>
  );
}
