/**
 * Settings → Custom fields: declare a key with a label and a type, rename it, change its type
 * (the server converts stored values or names the contacts in the way), or remove the declaration.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError, CUSTOM_FIELD_TYPES, errorMessage, fieldErrors, type CustomFieldDefinition, type CustomFieldType } from '../api';
import { TYPE_LABELS } from '../contacts/customFields';
import { Alert, Field, LoadedList, useLoad } from '../ui';

/** A refusal, with the contacts in the way when stored values cannot take the type. */
function describe(caught: unknown): string {
  if (caught instanceof ApiError && caught.code === 'CUSTOM_FIELD_VALUES_MISMATCH') {
    const examples = ((caught.details as { examples?: Array<{ email: string; value: unknown }> } | undefined)?.examples ?? []).map((e) => `${e.email}: ${JSON.stringify(e.value)}`);
    return examples.length > 0 ? `${caught.message} For example ${examples.join('; ')}.` : caught.message;
  }
  return errorMessage(caught);
}

function TypeOptions() {
  return (
    <>
      {CUSTOM_FIELD_TYPES.map((type) => (
        <option key={type} value={type}>
          {TYPE_LABELS[type]}
        </option>
      ))}
    </>
  );
}

export function CustomFields({ canWrite }: { canWrite: boolean }) {
  const [loaded, reload] = useLoad(() => api.customFields.list(), []);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const converted = (label: string, n: number) => (n > 0 ? `${label}: ${n} stored value${n === 1 ? ' was' : 's were'} converted.` : `${label} saved.`);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const key = String(form.get('key') ?? '').trim();
    const label = String(form.get('label') ?? '').trim();
    if (key === '') {
      setErrors({ key: 'Name the key the values are stored under' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    setErrors({});
    try {
      const result = await api.customFields.create({ key, label: label || undefined, type: String(form.get('type')) as CustomFieldType });
      setNotice(converted(result.label, result.converted));
      formElement.reset();
      await reload();
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  const change = async (field: CustomFieldDefinition, patch: { label?: string; type?: CustomFieldType }) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const result = await api.customFields.update(field.key, patch);
      setNotice(converted(result.label, result.converted));
    } catch (caught) {
      setError(describe(caught));
    }
    await reload();
  };

  const remove = async (field: CustomFieldDefinition) => {
    if (!window.confirm(`Remove the field “${field.label}”? Contacts keep their values, untyped.`)) return;
    setError(undefined);
    setNotice(undefined);
    try {
      await api.customFields.remove(field.key);
    } catch (caught) {
      setError(errorMessage(caught));
    }
    await reload();
  };

  return (
    <section className="panel stack" aria-labelledby="custom-fields-title">
      <h2 id="custom-fields-title">Custom fields</h2>
      <p className="muted small">
        A declared field has a label and a type: contact forms show it, imports and the API convert its values (“42” → 42, “yes” → yes) or refuse them, and segments compare numbers and
        dates. Other custom fields stay free-form.
      </p>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      <LoadedList state={loaded} items={(data) => data.fields} empty="No declared fields yet.">
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-label="Custom fields">
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Key</th>
                  <th scope="col">Type</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.fields.map((field) => (
                  <tr key={field.key}>
                    <td>{field.label}</td>
                    <td className="mono break">{field.key}</td>
                    <td>
                      {canWrite ? (
                        <select aria-label={`Type of ${field.label}`} value={field.type} onChange={(event) => void change(field, { type: event.target.value as CustomFieldType })}>
                          <TypeOptions />
                        </select>
                      ) : (
                        TYPE_LABELS[field.type]
                      )}
                    </td>
                    <td className="actions">
                      {canWrite ? (
                        <button type="button" className="button danger small" onClick={() => void remove(field)} aria-label={`Remove ${field.label}`}>
                          Remove
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadedList>
      {canWrite ? (
        <form className="row align-end wrap" onSubmit={create} aria-label="New custom field" noValidate>
          <Field label="Key" name="key" id="custom-field-key" error={errors.key} hint="As stored and imported, e.g. seats" autoComplete="off" />
          <Field label="Label" name="label" id="custom-field-label" error={errors.label} autoComplete="off" />
          <div className="field">
            <label htmlFor="custom-field-type">Type</label>
            <select id="custom-field-type" name="type" defaultValue="text">
              <TypeOptions />
            </select>
          </div>
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add field'}
          </button>
        </form>
      ) : null}
    </section>
  );
}
