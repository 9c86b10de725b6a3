/**
 * The contact's shape shared by every domain (the lower layer: imports nothing from a domain):
 * its persisted status and subscription strings, the stored row (contacts table) and its column
 * list, the API's camelCase answer, and the stored score inputs (contacts.score_inputs) with the
 * explained parts of a score. The rules that fill these live in src/contacts and src/scoring.
 */
import { utcTextColumn } from '../platform/utc-text.js';
import type { ContactStatus, SubscriptionState } from './contact.schemas.js';

/** The engagement counters a score is computed from (contact_engagement, summed by src/scoring). */
export interface Engagement {
  opens: number;
  clicks: number;
  replies: number;
  activity: number;
  sentimentSum: number;
  sentimentCount: number;
  maxIntent: number;
  intentReason: string | null;
}

/**
 * What a score is computed from, stored with it (contacts.score_inputs): the engagement counters
 * and the contact's job title, status and campaign adjustment at that moment.
 */
export interface ScoreInputs extends Engagement {
  jobTitle: string | null;
  status: ContactStatus;
  scoreAdjustment: number;
}

export interface ContactRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  status: ContactStatus;
  tags: string[];
  custom_fields: Record<string, unknown>;
  timezone: string | null;
  subscription_state: SubscriptionState;
  score: number;
  score_inputs: ScoreInputs | null;
  last_activity_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CONTACT_COLUMNS = `id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields,
  timezone, subscription_state, score, score_inputs, last_activity_at, created_at, updated_at`;

/**
 * A contacts row whose times were read as UTC text (`(t AT TIME ZONE 'UTC')::text`,
 * src/platform/utc-text.ts) instead of Dates: what hot lists select (`contactTextColumns`).
 */
export interface ContactTextRow extends Omit<ContactRow, 'last_activity_at' | 'created_at' | 'updated_at'> {
  last_activity_utc: string | null;
  created_utc: string;
  updated_utc: string;
}

/**
 * The columns of a ContactTextRow, each qualified by `alias` (the table's alias in the query), in
 * the order contactTextRowOf reads them from a row of values.
 */
export function contactTextColumns(alias: string): string {
  const plain = ['id', 'email', 'first_name', 'last_name', 'company', 'job_title', 'phone', 'status', 'tags', 'custom_fields', 'timezone', 'subscription_state', 'score', 'score_inputs'];
  const times = [['last_activity_at', 'last_activity_utc'], ['created_at', 'created_utc'], ['updated_at', 'updated_utc']];
  return [...plain.map((column) => `${alias}.${column}`), ...times.map(([column, as]) => utcTextColumn(`${alias}.${column}`, as!))].join(', ');
}

/** The ContactTextRow of a row read as an array of values (`arrayRows`) selecting contactTextColumns first. */
export function contactTextRowOf(v: readonly unknown[]): ContactTextRow {
  return {
    id: v[0] as string,
    email: v[1] as string,
    first_name: v[2] as string | null,
    last_name: v[3] as string | null,
    company: v[4] as string | null,
    job_title: v[5] as string | null,
    phone: v[6] as string | null,
    status: v[7] as ContactStatus,
    tags: v[8] as string[],
    custom_fields: v[9] as Record<string, unknown>,
    timezone: v[10] as string | null,
    subscription_state: v[11] as SubscriptionState,
    score: v[12] as number,
    score_inputs: v[13] as ScoreInputs | null,
    last_activity_utc: v[14] as string | null,
    created_utc: v[15] as string,
    updated_utc: v[16] as string,
  };
}

