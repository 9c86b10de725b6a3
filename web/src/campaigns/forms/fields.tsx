/**
 * The building blocks of the node forms: labelled text and choice inputs, the conversions between
 * inputs and config values, and `Draft<T>` — a node config while it is being filled in (every
 * field optional but its `kind`), typed from the server's TypeBox schemas.
 */
import type { ReactNode } from 'react';

/** A config being edited: the schema type with every field optional except the union's `kind`. */
export type Draft<T> = T extends unknown ? { [K in keyof T]?: T[K] } & ('kind' extends keyof T ? Pick<T, 'kind' & keyof T> : unknown) : never;

export const str = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
export const num = (text: string): number | undefined => (text.trim() === '' || !Number.isFinite(Number(text)) ? undefined : Number(text));
export const optional = (text: string): string | undefined => (text === '' ? undefined : text);

/** The config with `key` set, or removed when `value` is undefined (so the API names what is missing). */
export function withField<T extends object, K extends keyof T>(config: T, key: K, value: T[K] | undefined): T {
  const next = { ...config };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

/** A labelled input; `error` (a sentence) marks it invalid and is announced with it. */
export function Text({ label, id, value, onChange, multiline, type = 'text', example, hint, min, max, step, error }: { label: string; id: string; value: string; onChange: (text: string) => void; multiline?: boolean; type?: string; example?: string; hint?: ReactNode; min?: number; max?: number; step?: number; error?: string | null }) {
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea id={id} rows={6} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} aria-invalid={error ? true : undefined} aria-describedby={describedBy} />
      ) : (
        <input id={id} type={type} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} min={min} max={max} step={step} aria-invalid={error ? true : undefined} aria-describedby={describedBy} />
      )}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function Choice<V extends string>({ label, id, value, options, onChange, hint }: { label: string; id: string; value: V | ''; options: ReadonlyArray<readonly [V | '', string]>; onChange: (value: V) => void; hint?: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as V)} aria-describedby={hint ? `${id}-hint` : undefined}>
        {options.map(([optionValue, optionLabel]) => (
          <option key={optionValue} value={optionValue}>
            {optionLabel}
          </option>
        ))}
      </select>
      {hint ? (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
