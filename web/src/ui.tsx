/** Small building blocks shared by the pages: fields with their error, alerts, badges, dates. */
import { useCallback, useEffect, useRef, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { errorMessage } from './api';

export function Alert({ kind = 'error', children }: { kind?: 'error' | 'success' | 'info'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

type FieldProps = InputHTMLAttributes<HTMLInputElement> & { label: string; name: string; error?: string | undefined; hint?: string };

/** A labelled input whose error is announced and tied to it with aria-describedby. */
export function Field({ label, name, error, hint, id, ...input }: FieldProps) {
  const inputId = id ?? `field-${name}`;
  const describedBy = error ? `${inputId}-error` : hint ? `${inputId}-hint` : undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <input id={inputId} name={name} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {error ? (
        <p className="field-error" id={`${inputId}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={`${inputId}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function Badge({ tone, children }: { tone: string; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** What loads draws as shimmering lines where it will appear; its label is announced, not shown. */
export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="skeleton skeleton-line" aria-hidden="true" />
      <span className="skeleton skeleton-line skeleton-line-short" aria-hidden="true" />
      <span className="visually-hidden">{label}</span>
    </div>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}

export type Loadable<T> = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; data: T };

/** A loaded list's four states: spinner, error, the empty message, or `children` with the data. */
export function LoadedList<T>({ state, items, loadingLabel, empty, children }: { state: Loadable<T>; items: (data: T) => readonly unknown[]; loadingLabel?: string; empty: ReactNode; children: (data: T) => ReactNode }) {
  if (state.status === 'loading') return <Spinner label={loadingLabel} />;
  if (state.status === 'error') return <Alert>{state.message}</Alert>;
  if (items(state.data).length === 0) return <div className="empty">{empty}</div>;
  return <>{children(state.data)}</>;
}

/**
 * Loads data for a page and reloads it on demand (and every `pollMs` when given). A slower,
 * older response never overwrites a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs?: number): [Loadable<T>, () => Promise<void>] {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const sequence = useRef(0);
  // Callers pass the inputs of `load` as deps, as with useEffect.
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    sequence.current += 1;
    const mine = sequence.current;
    try {
      const data = await run();
      if (mine === sequence.current) setState({ status: 'ready', data });
    } catch (error) {
      if (mine === sequence.current) setState((previous) => (previous.status === 'ready' && pollMs ? previous : { status: 'error', message: errorMessage(error) }));
    }
  }, [run, pollMs]);

  useEffect(() => {
    setState({ status: 'loading' });
    void reload();
    if (!pollMs) return () => { sequence.current += 1; };
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, pollMs);
    return () => {
      sequence.current += 1;
      window.clearInterval(timer);
    };
  }, [reload, pollMs]);

  return [state, reload];
}
