/**
 * Undo/redo for the builder: the present graph, the states before it and the states undone. A
 * change is recorded as a step unless it is a passing one (selection, a drag in progress); typing
 * in one field is one step (changes with the same `coalesce` key within a second merge).
 */
import { useCallback, useRef, useState } from 'react';

const LIMIT = 100;
const COALESCE_MS = 1000;

export interface History<T> {
  present: T;
  /** Sets the present; `record: false` for passing changes, `coalesce` merges a run of edits. */
  set: (next: T | ((previous: T) => T), options?: { record?: boolean; coalesce?: string }) => void;
  /** Records the present as an undo step before a passing change begins (a drag). */
  checkpoint: () => void;
  undo: () => void;
  redo: () => void;
  canUndo: boolean;
  canRedo: boolean;
  /** Replaces everything (another version loaded). */
  reset: (value: T) => void;
}

interface State<T> {
  past: T[];
  present: T;
  future: T[];
}

export function useHistory<T>(initial: T): History<T> {
  const [state, setState] = useState<State<T>>({ past: [], present: initial, future: [] });
  const last = useRef<{ key: string; at: number } | null>(null);

  const set = useCallback<History<T>['set']>(
    (next, options = {}) => {
      setState((s) => {
        const value = typeof next === 'function' ? (next as (previous: T) => T)(s.present) : next;
        if (value === s.present) return s;
        const now = Date.now();
        const merge = options.coalesce !== undefined && last.current?.key === options.coalesce && now - last.current.at < COALESCE_MS;
        last.current = options.coalesce === undefined ? null : { key: options.coalesce, at: now };
        if (options.record === false || merge) return { ...s, present: value };
        return { past: [...s.past, s.present].slice(-LIMIT), present: value, future: [] };
      });
    },
    [],
  );
  const checkpoint = useCallback(() => {
    last.current = null;
    setState((s) => ({ ...s, past: [...s.past, s.present].slice(-LIMIT), future: [] }));
  }, []);
  const undo = useCallback(() => {
    last.current = null;
    setState((s) => (s.past.length === 0 ? s : { past: s.past.slice(0, -1), present: s.past[s.past.length - 1]!, future: [s.present, ...s.future] }));
  }, []);
  const redo = useCallback(() => {
    last.current = null;
    setState((s) => (s.future.length === 0 ? s : { past: [...s.past, s.present], present: s.future[0]!, future: s.future.slice(1) }));
  }, []);
  const reset = useCallback((value: T) => {
    last.current = null;
    setState({ past: [], present: value, future: [] });
  }, []);
  return { present: state.present, set, checkpoint, undo, redo, canUndo: state.past.length > 0, canRedo: state.future.length > 0, reset };
}
