/**
 * The building blocks of the node forms: labelled text and choice inputs, the conversions between
 * inputs and config values, and `Draft<T>` — a node config while it is being filled in (every
 * field optional but its `kind`), typed from the server's TypeBox schemas. An input given the
 * `field` path of its setting (`config.subject`) shows that setting's problems under it, tied to
 * it by aria-describedby and aria-invalid (FieldProblems, provided by the step's settings panel).
 */
import { createContext, useContext, useEffect, type ReactNode } from 'react';

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

export interface FieldProblemsValue {
  /** The problem sentences of a settings path of the selected step (`config.subject`, `edges.next`). */
  messages: (field: string) => string[];
  /** An input showing a path's problems says so (so the panel's summary does not list them twice); returns its undoing. */
  register: (field: string) => () => void;
}

export const FieldProblems = createContext<FieldProblemsValue>({ messages: () => [], register: () => () => undefined });

/** The problems of one input's setting and the attributes that tie them (and its hint) to the input. */
export function useFieldProblems(id: string, field: string | undefined, hasHint = false) {
  const { messages, register } = useContext(FieldProblems);
  useEffect(() => (field ? register(field) : undefined), [field, register]);
  const list = field ? messages(field) : [];
  const errorId = `${id}-error`;
  const describedBy = [hasHint ? `${id}-hint` : '', list.length > 0 ? errorId : ''].filter(Boolean).join(' ');
  return { messages: list, errorId, inputProps: { 'aria-invalid': list.length > 0 ? true : undefined, 'aria-describedby': describedBy === '' ? undefined : describedBy } };
}

/** A setting's problems, under its input. */
export function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <p id={id} className="field-error" data-testid="field-error">
      {messages.join(' ')}
    </p>
  );
}

/**
 * A labelled input; the problems of its setting (`field`, from the draft's validation) and a
 * local `error` (a sentence, from the form's own checks) mark it invalid and are announced with it.
 */
export function Text({ label, id, value, onChange, multiline, type = 'text', example, hint, min, max, step, field, error }: { label: string; id: string; value: string; onChange: (text: string) => void; multiline?: boolean; type?: string; example?: string; hint?: ReactNode; min?: number; max?: number; step?: number; field?: string; error?: string | null }) {
  const found = useFieldProblems(id, field, Boolean(hint));
  const messages = error ? [error] : found.messages;
  const describedBy = [hint ? `${id}-hint` : '', messages.length > 0 ? found.errorId : ''].filter(Boolean).join(' ');
  const problems = { messages, errorId: found.errorId, inputProps: { 'aria-invalid': messages.length > 0 ? true : undefined, 'aria-describedby': describedBy === '' ? undefined : describedBy } };
  return (
    <div className={`field${problems.messages.length > 0 ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea id={id} rows={6} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} {...problems.inputProps} />
      ) : (
        <input id={id} type={type} value={value} onChange={(event) => onChange(event.target.value)} placeholder={example} min={min} max={max} step={step} {...problems.inputProps} />
      )}
      <FieldError id={problems.errorId} messages={problems.messages} />
      {hint ? (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function Choice<V extends string>({ label, id, value, options, onChange, hint, field }: { label: string; id: string; value: V | ''; options: ReadonlyArray<readonly [V | '', string]>; onChange: (value: V) => void; hint?: ReactNode; field?: string }) {
  const problems = useFieldProblems(id, field, Boolean(hint));
  return (
    <div className={`field${problems.messages.length > 0 ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as V)} {...problems.inputProps}>
        {options.map(([optionValue, optionLabel]) => (
          <option key={optionValue} value={optionValue}>
            {optionLabel}
          </option>
        ))}
      </select>
      <FieldError id={problems.errorId} messages={problems.messages} />
      {hint ? (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
