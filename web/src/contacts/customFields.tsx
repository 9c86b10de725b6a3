/** Declared custom fields in forms: typed inputs and reading them back. */
import { api, type Contact, type CustomFieldDefinition, type CustomFieldType } from '../api';
import { useLoad } from '../ui';

export const TYPE_LABELS: Record<CustomFieldType, string> = { text: 'Text', number: 'Number', boolean: 'Yes / no', date: 'Date' };

/** The workspace's declared custom fields (none while loading or when they cannot be read). */
export function useCustomFields(): CustomFieldDefinition[] {
  const [loaded] = useLoad(() => api.customFields.list(), []);
  return loaded.status === 'ready' ? loaded.data.fields : [];
}

/** The input a field's values are typed into (a yes/no field takes a select of YesNoOptions). */
export const inputTypeOf = (type: CustomFieldType): string => (type === 'number' ? 'number' : type === 'date' ? 'date' : 'text');

export function YesNoOptions() {
  return (
    <>
      <option value="">—</option>
      <option value="true">Yes</option>
      <option value="false">No</option>
    </>
  );
}

/** The form control's name for a declared field. */
export const inputName = (key: string): string => `cf:${key}`;
/** Where the API puts a refused value (`details.field` of INVALID_CUSTOM_FIELD). */
export const errorKey = (key: string): string => `customFields.${key}`;

function initialText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One typed control per declared field (number, date, yes/no select or text). */
export function CustomFieldInputs({ fields, errors, initial }: { fields: CustomFieldDefinition[]; errors: Record<string, string>; initial?: Contact }) {
  return (
    <>
      {fields.map((field) => {
        const id = `field-cf-${field.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        const error = errors[errorKey(field.key)];
        const value = initialText(initial?.customFields[field.key]);
        return (
          <div key={field.key} className={`field${error ? ' field-invalid' : ''}`}>
            <label htmlFor={id}>{field.label}</label>
            {field.type === 'boolean' ? (
              <select id={id} name={inputName(field.key)} defaultValue={value} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined}>
                <YesNoOptions />
              </select>
            ) : (
              <input
                id={id}
                name={inputName(field.key)}
                type={inputTypeOf(field.type)}
                step={field.type === 'number' ? 'any' : undefined}
                defaultValue={value}
                autoComplete="off"
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? `${id}-error` : undefined}
              />
            )}
            {error ? (
              <p className="field-error" id={`${id}-error`}>
                {error}
              </p>
            ) : null}
          </div>
        );
      })}
    </>
  );
}

/**
 * The declared fields' values from a form: numbers and yes/no as JSON numbers and booleans. An
 * empty control is left out of a new contact and clears the key of an existing one (when it had one).
 */
export function customFieldsFromForm(form: FormData, fields: CustomFieldDefinition[], before?: Contact): Record<string, string | number | boolean | null> | undefined {
  const out: Record<string, string | number | boolean | null> = {};
  for (const field of fields) {
    const raw = String(form.get(inputName(field.key)) ?? '').trim();
    if (raw === '') {
      if (before && before.customFields[field.key] !== undefined) out[field.key] = null;
      continue;
    }
    // Sent as typed where the control guarantees it; the server converts or refuses the rest.
    out[field.key] = field.type === 'boolean' ? raw === 'true' : field.type === 'number' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
