/**
 * The AI price table on the AI page: every priced model (built-in list prices and the workspace's
 * own), per million tokens in the workspace's currency units; admins add a model or change a price.
 * A model needs a price before it can be chosen as the provider's model (docs/ai.md, "Prices").
 */
import { useState, type FormEvent } from 'react';
import { api, errorMessage, type AiPrice } from '../api';
import { Alert, Badge, Field, Spinner, useLoad } from '../ui';

const PROVIDER_NAMES: Record<AiPrice['provider'], string> = { openai: 'OpenAI-compatible', anthropic: 'Anthropic' };
const MAX_PRICE = 1_000_000;

type Errors = Partial<Record<'model' | 'inputPerMTok' | 'outputPerMTok', string>>;

/** The form's values, or what is wrong with them in words for people. */
export function readPrice(form: FormData): { price: Omit<AiPrice, 'source'> } | { errors: Errors } {
  const provider = String(form.get('provider')) === 'anthropic' ? 'anthropic' : 'openai';
  const model = String(form.get('model') ?? '').trim();
  const errors: Errors = {};
  if (model === '') errors.model = 'Enter the model’s name exactly as the provider spells it, for example gpt-4o-mini or llama3.1.';
  else if (model.length > 200) errors.model = 'A model name has at most 200 characters.';
  const amount = (name: 'inputPerMTok' | 'outputPerMTok', what: string): number => {
    const raw = String(form.get(name) ?? '').trim().replace(',', '.');
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) errors[name] = `Enter the ${what} price per million tokens as a number; use 0 for a local model such as Ollama.`;
    else if (value < 0) errors[name] = `The ${what} price cannot be negative; use 0 for a model that costs nothing.`;
    else if (value > MAX_PRICE) errors[name] = `The ${what} price is per million tokens and at most 1,000,000; check the unit.`;
    return value;
  };
  const inputPerMTok = amount('inputPerMTok', 'input');
  const outputPerMTok = amount('outputPerMTok', 'output');
  if (Object.keys(errors).length > 0) return { errors };
  return { price: { provider, model, inputPerMTok, outputPerMTok } };
}

export function AiPrices({ canAdmin }: { canAdmin: boolean }) {
  const [loaded, reload] = useLoad(() => api.ai.prices(), []);
  const [editing, setEditing] = useState<Omit<AiPrice, 'source'>>();
  const [errors, setErrors] = useState<Errors>({});
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string }>();
  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    setMessage(undefined);
    const read = readPrice(new FormData(form));
    if ('errors' in read) {
      setErrors(read.errors);
      return;
    }
    setErrors({});
    try {
      const saved = await api.ai.savePrice(read.price);
      setMessage({ kind: 'success', text: `Price saved for ${saved.model}.` });
      setEditing(undefined);
      form.reset();
      await reload();
    } catch (caught) {
      setMessage({ kind: 'error', text: errorMessage(caught) });
    }
  };
  return (
    <section className="panel stack" aria-labelledby="ai-prices-title">
      <h2 id="ai-prices-title">Prices</h2>
      <p className="muted small">Per million tokens, in your workspace’s currency. Calls are priced from this table and counted against the budget.</p>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        <table className="table" aria-label="AI prices">
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Model</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
              <th scope="col">Source</th>
              {canAdmin ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {loaded.data.prices.map((p) => (
              <tr key={`${p.provider}:${p.model}`}>
                <td>{PROVIDER_NAMES[p.provider]}</td>
                <td>{p.model}</td>
                <td>{p.inputPerMTok}</td>
                <td>{p.outputPerMTok}</td>
                <td>
                  <Badge tone={p.source === 'workspace' ? 'active' : 'draft'}>{p.source === 'workspace' ? 'yours' : 'list price'}</Badge>
                </td>
                {canAdmin ? (
                  <td>
                    <button type="button" className="button small" aria-label={`Edit the price of ${p.model}`} onClick={() => setEditing({ provider: p.provider, model: p.model, inputPerMTok: p.inputPerMTok, outputPerMTok: p.outputPerMTok })}>
                      Edit
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {canAdmin ? (
        <form key={editing ? `${editing.provider}:${editing.model}` : 'new'} className="row wrap align-start" onSubmit={(e) => void save(e)} aria-label="AI price" noValidate>
          <label className="field">
            Provider
            <select name="provider" defaultValue={editing?.provider ?? 'openai'}>
              <option value="openai">OpenAI-compatible</option>
              <option value="anthropic">Anthropic</option>
            </select>
          </label>
          <Field label="Model name" name="model" id="ai-price-model" defaultValue={editing?.model ?? ''} error={errors.model} />
          <Field label="Input per million tokens" name="inputPerMTok" id="ai-price-input" inputMode="decimal" defaultValue={editing?.inputPerMTok ?? ''} error={errors.inputPerMTok} />
          <Field label="Output per million tokens" name="outputPerMTok" id="ai-price-output" inputMode="decimal" defaultValue={editing?.outputPerMTok ?? ''} error={errors.outputPerMTok} />
          <button type="submit" className="button primary">
            Save price
          </button>
        </form>
      ) : (
        <p className="muted small">Only admins change prices.</p>
      )}
    </section>
  );
}
