/**
 * The contact's field rules, shared by the API, the CSV import, Segment identify and merges: the
 * answer built from a stored row (with its score explained), plausible emails, IANA time zones,
 * tag normalization, status progression, and filling one profile from another (in JS and SQL).
 */
import { AppError } from '../http/errors.js';
import { normalizeEmail } from '../identity/tokens.js';
import { explainScore } from '../scoring/scoring.js';
import type { ContactRow, ContactTextRow } from '../core/contact.js';
import { isoFromUtcText } from '../platform/utc-text.js';
import { CONTACT_STATUSES, type Contact, type ContactStatus } from '../core/contact.schemas.js';

/** The free-text profile columns that merges fill from one record into another. */
export const PROFILE_FIELDS = ['first_name', 'last_name', 'company', 'job_title', 'phone', 'timezone'] as const;
export type Profile = Record<(typeof PROFILE_FIELDS)[number], string | null>;

/** Each profile field from `preferred`, or from `fallback` where `preferred` has none. */
export function fillProfile(preferred: Profile, fallback: Profile): Profile {
  return Object.fromEntries(PROFILE_FIELDS.map((field) => [field, preferred[field] ?? fallback[field]])) as Profile;
}

/**
 * fillProfile in SQL, for `INSERT INTO contacts AS c … ON CONFLICT … DO UPDATE SET`: each profile
 * column from the incoming row (EXCLUDED), or the stored value where the incoming one is NULL.
 */
export const FILL_PROFILE_ON_CONFLICT = PROFILE_FIELDS.map((field) => `${field} = COALESCE(EXCLUDED.${field}, c.${field})`).join(',\n       ');

export function toContact(row: ContactRow): Contact {
  return contactAnswer(row, row.last_activity_at ? new Date(row.last_activity_at).toISOString() : null, new Date(row.created_at).toISOString(), new Date(row.updated_at).toISOString());
}

/** toContact of a row whose times were read as UTC text (the contact list): the same answer, without Dates. */
export function toContactFromText(row: ContactTextRow): Contact {
  return contactAnswer(row, row.last_activity_utc === null ? null : isoFromUtcText(row.last_activity_utc), isoFromUtcText(row.created_utc), isoFromUtcText(row.updated_utc));
}

function contactAnswer(row: Omit<ContactRow, 'last_activity_at' | 'created_at' | 'updated_at'>, lastActivityAt: string | null, createdAt: string, updatedAt: string): Contact {
  const contact: Contact = {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    company: row.company,
    jobTitle: row.job_title,
    phone: row.phone,
    status: row.status,
    tags: row.tags,
    customFields: row.custom_fields,
    timezone: row.timezone,
    subscriptionState: row.subscription_state,
    score: row.score,
    lastActivityAt,
    createdAt,
    updatedAt,
  };
  if (row.score_inputs) contact.scoreBreakdown = explainScore(row.score_inputs, { jobTitle: row.job_title, status: row.status });
  return contact;
}

// Pragmatic address check (the HTML living standard's): a local part, an @, a dotted domain.
const EMAIL_PATTERN = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The normalized email, or null when it is not a plausible address. */
export function parseEmail(raw: string): string | null {
  const email = normalizeEmail(raw);
  return email.length <= 254 && EMAIL_PATTERN.test(email) ? email : null;
}

export function requireEmail(raw: string): string {
  const email = parseEmail(raw);
  if (!email) throw new AppError('INVALID_EMAIL', `"${raw.slice(0, 100)}" is not a valid email address`, { field: 'email' });
  return email;
}

export function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function requireTimezone(zone: string | null | undefined): void {
  if (zone && !isValidTimezone(zone)) throw new AppError('VALIDATION_FAILED', `"${zone}" is not an IANA time zone`, { field: 'timezone' });
}

/** Tags are trimmed; blanks dropped, duplicates removed, first spelling kept. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

export function statusRank(status: ContactStatus): number {
  return CONTACT_STATUSES.indexOf(status);
}

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
