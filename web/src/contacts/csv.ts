/**
 * Pure helpers of the CSV import page: the header row of a file (RFC 4180 quoting), a first guess
 * of each column's field (the same aliases the server applies), the `map` query pairs, and the
 * progress of a running import from the bytes the server has read.
 */

export const IMPORT_FIELDS = ['email', 'firstName', 'lastName', 'name', 'company', 'jobTitle', 'phone', 'status', 'tags', 'timezone', 'subscriptionState'] as const;
export const CUSTOM = 'custom';
export const IGNORE = 'ignore';

const ALIASES: Record<string, string> = {
  email: 'email', emailaddress: 'email', mail: 'email',
  firstname: 'firstName', first: 'firstName', givenname: 'firstName',
  lastname: 'lastName', last: 'lastName', surname: 'lastName', familyname: 'lastName',
  name: 'name', fullname: 'name',
  company: 'company', companyname: 'company', organization: 'company', organisation: 'company', account: 'company',
  jobtitle: 'jobTitle', title: 'jobTitle', position: 'jobTitle', role: 'jobTitle',
  phone: 'phone', phonenumber: 'phone', mobile: 'phone', telephone: 'phone',
  status: 'status', lifecyclestage: 'status', stage: 'status',
  tags: 'tags', tag: 'tags', labels: 'tags',
  timezone: 'timezone', tz: 'timezone',
  subscriptionstate: 'subscriptionState', subscription: 'subscriptionState', subscribed: 'subscriptionState',
};

/** The first record of a CSV text: fields split on commas, quotes honoured ("" is a quote). */
export function parseHeader(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else if (ch === '\n' || ch === '\r') break;
    else field += ch;
  }
  fields.push(field.trim());
  return fields.length === 1 && fields[0] === '' ? [] : fields;
}

/**
 * A known field for a well-known header name, else the declared custom field whose key or label
 * the header names (ignoring case, spaces and punctuation), else a custom field of the same name.
 */
const normalized = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

export function guessTarget(column: string, declared: ReadonlyArray<{ key: string; label: string }> = []): string {
  const name = normalized(column);
  const known = ALIASES[name];
  if (known) return known;
  const field = name === '' ? undefined : declared.find((f) => normalized(f.key) === name || normalized(f.label) === name);
  if (field) return `${CUSTOM}:${field.key}`;
  return column.trim() === '' ? IGNORE : `${CUSTOM}:${column.trim().slice(0, 64)}`;
}

/** `column=field` pairs for `POST /api/imports?map=…`. */
export function mappingPairs(mapping: Record<string, string>): string[] {
  return Object.entries(mapping)
    .filter(([column]) => column !== '' && !column.includes('='))
    .map(([column, target]) => `${column}=${target}`);
}

/** 0–100: the share of the file the server has read (the server streams it in order). */
export function progressPercent(bytesRead: number, size: number): number {
  if (size <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round((bytesRead / size) * 100)));
}
