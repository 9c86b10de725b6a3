/**
 * The CSV import's row mapping: which field each column goes to (explicit mapping or header
 * aliases), and one CSV record turned into a validated row to upsert — or the reason it is refused
 * (a bad row is reported, never fatal); two rows of one email in a chunk merge into one.
 */
import type { ContactStatus, SubscriptionState } from '../core/contact.schemas.js';
import { CONTACT_STATUSES } from '../core/contact.schemas.js';
import { fillProfile, isValidTimezone, normalizeTags, parseEmail } from './contact-model.js';
import { coerceCustomValue, MAX_CUSTOM_TEXT, type FieldTypes } from './custom-fields.js';

export const FIELD_TARGETS = ['email', 'firstName', 'lastName', 'name', 'company', 'jobTitle', 'phone', 'status', 'tags', 'timezone', 'subscriptionState', 'ignore'] as const;
/** A column goes to a field, to a custom field (`custom:<key>`), or nowhere (`ignore`). */
export type ImportTarget = (typeof FIELD_TARGETS)[number] | `custom:${string}`;

const HEADER_ALIASES: Record<string, ImportTarget> = {
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

export function parseTarget(raw: string): ImportTarget | null {
  if ((FIELD_TARGETS as readonly string[]).includes(raw)) return raw as ImportTarget;
  const custom = /^(?:custom[:.])(.{1,64})$/.exec(raw);
  return custom ? `custom:${custom[1]}` : null;
}

/** Maps each header to a target: explicit mapping first, then well-known names, else a custom field. */
export function resolveMapping(header: string[], explicit: Record<string, ImportTarget>): ImportTarget[] {
  return header.map((column) => {
    const given = explicit[column];
    if (given) return given;
    const alias = HEADER_ALIASES[column.toLowerCase().replace(/[^a-z0-9]/g, '')];
    if (alias) return alias;
    const key = column.trim().slice(0, 64);
    return key ? (`custom:${key}` as const) : 'ignore';
  });
}

export interface ImportRowError {
  row: number;
  code: 'INVALID_EMAIL' | 'INVALID_VALUE' | 'INVALID_ENCODING';
  message: string;
}

export interface ImportRow {
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  status: ContactStatus | null;
  tags: string[];
  custom_fields: Record<string, string | number | boolean>;
  timezone: string | null;
  subscription_state: SubscriptionState | null;
}

const LIMITS: Partial<Record<ImportTarget, number>> = { firstName: 200, lastName: 200, name: 400, company: 200, jobTitle: 200, phone: 50, timezone: 64 };

/**
 * Whether a decoded CSV cell is text: bytes that are not UTF-8 were decoded as U+FFFD, and a NUL
 * byte means UTF-16 without its byte order mark or a binary file. (Decoding never yields an
 * unpaired surrogate, the other text PostgreSQL cannot store.)
 */
export function isDecodedText(value: string): boolean {
  return !value.includes('\ufffd') && !value.includes('\u0000');
}

/** One CSV record → a row to upsert, or the reason it is refused. */
export function mapRecord(record: string[], targets: ImportTarget[], rowNumber: number, types: FieldTypes): ImportRow | ImportRowError {
  const row: ImportRow = { email: '', first_name: null, last_name: null, company: null, job_title: null, phone: null, status: null, tags: [], custom_fields: {}, timezone: null, subscription_state: null };
  let rawEmail = '';
  for (let i = 0; i < targets.length; i += 1) {
    const target = targets[i]!;
    const value = (record[i] ?? '').trim();
    if (!value || target === 'ignore') continue;
    if (!isDecodedText(value)) return { row: rowNumber, code: 'INVALID_ENCODING', message: `${target} is not UTF-8 text (it holds a NUL byte or bytes that are not UTF-8): save the file as UTF-8 CSV` };
    const limit = LIMITS[target];
    if (limit && value.length > limit) return { row: rowNumber, code: 'INVALID_VALUE', message: `${target} is longer than ${limit} characters` };
    switch (target) {
      case 'email':
        rawEmail = value;
        break;
      case 'firstName':
        row.first_name = value;
        break;
      case 'lastName':
        row.last_name = value;
        break;
      case 'name': {
        const space = value.indexOf(' ');
        row.first_name ??= (space < 0 ? value : value.slice(0, space)).slice(0, 200);
        if (space > 0) row.last_name ??= value.slice(space + 1).trim().slice(0, 200);
        break;
      }
      case 'company':
        row.company = value;
        break;
      case 'jobTitle':
        row.job_title = value;
        break;
      case 'phone':
        row.phone = value;
        break;
      case 'status': {
        const status = value.toLowerCase();
        if (!(CONTACT_STATUSES as readonly string[]).includes(status)) return { row: rowNumber, code: 'INVALID_VALUE', message: `status must be one of ${CONTACT_STATUSES.join(', ')}, got "${value.slice(0, 50)}"` };
        row.status = status as ContactStatus;
        break;
      }
      case 'tags':
        row.tags = normalizeTags(value.split(/[;|]/)).filter((t) => t.length <= 64);
        break;
      case 'timezone':
        if (!isValidTimezone(value)) return { row: rowNumber, code: 'INVALID_VALUE', message: `"${value.slice(0, 64)}" is not an IANA time zone` };
        row.timezone = value;
        break;
      case 'subscriptionState': {
        const v = value.toLowerCase();
        if (['subscribed', 'true', 'yes', '1'].includes(v)) row.subscription_state = 'subscribed';
        else if (['unsubscribed', 'false', 'no', '0'].includes(v)) row.subscription_state = 'unsubscribed';
        else return { row: rowNumber, code: 'INVALID_VALUE', message: `subscriptionState must be subscribed or unsubscribed, got "${value.slice(0, 50)}"` };
        break;
      }
      default: {
        const key = target.slice('custom:'.length);
        const type = types.get(key);
        if (!type) {
          row.custom_fields[key] = value.slice(0, MAX_CUSTOM_TEXT);
          break;
        }
        // A declared field: the cell converted to its type ("42" → 42, "yes" → true), or the row refused.
        const coerced = coerceCustomValue(type, value);
        if (!coerced.ok) return { row: rowNumber, code: 'INVALID_VALUE', message: `${key} ${coerced.message} (a ${type} field), got "${value.slice(0, 50)}"` };
        row.custom_fields[key] = coerced.value;
      }
    }
  }
  const email = parseEmail(rawEmail);
  if (!email) return { row: rowNumber, code: 'INVALID_EMAIL', message: rawEmail ? `"${rawEmail.slice(0, 100)}" is not a valid email address` : 'the email is missing' };
  row.email = email;
  return row;
}

export function mergeRows(a: ImportRow, b: ImportRow): ImportRow {
  return {
    email: a.email,
    ...fillProfile(b, a),
    status: b.status ?? a.status,
    tags: normalizeTags([...a.tags, ...b.tags]),
    custom_fields: { ...a.custom_fields, ...b.custom_fields },
    subscription_state: b.subscription_state ?? a.subscription_state,
  };
}
