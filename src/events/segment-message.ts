/**
 * One Segment message (identify, track, page, screen, group, alias) parsed and validated against
 * Segment's limits — a bad one is refused with a code, never fatal to its batch — and an identify's
 * traits turned into the contact fields it upserts.
 */
import { isValidTimezone, parseEmail } from '../contacts/contact-model.js';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '../http/text.js';
import { isStorableTime } from '../http/validation.js';

/** Segment's limits. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Per-message refusal codes (documented in docs/events.md). */
export type MessageErrorCode = 'MESSAGE_TOO_LARGE' | 'MESSAGE_INVALID' | 'INVALID_EMAIL';

export interface MessageError {
  index: number;
  messageId: string | null;
  code: MessageErrorCode;
  message: string;
}

export interface ParsedMessage {
  index: number;
  type: MessageType;
  messageId: string | null;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  name: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown> | null;
  email: string | null;
  occurredAt: Date;
}

export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | null | undefined {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length <= 200) return value;
  return undefined;
}

function parseTime(value: unknown): Date | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || !isStorableTime(ms) ? undefined : new Date(ms);
}

export class Refused extends Error {
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Validates one message. `sentAt` (message or batch) corrects the sender's clock skew the way
 * Segment does: timestamp + (receivedAt − sentAt).
 */
export function parseMessage(raw: unknown, index: number, implied: MessageType | null, batchSentAt: unknown, now: Date): ParsedMessage {
  if (!isObject(raw)) throw new Refused('MESSAGE_INVALID', 'A message must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_MESSAGE_BYTES) throw new Refused('MESSAGE_TOO_LARGE', `A message may be at most ${MAX_MESSAGE_BYTES} bytes`);
  const unstorable = findUnstorableText(raw);
  if (unstorable) throw new Refused('MESSAGE_INVALID', `${unstorable} ${UNSTORABLE_TEXT_MESSAGE}`);
  const type = (implied ?? raw.type) as MessageType;
  if (!MESSAGE_TYPES.includes(type)) throw new Refused('MESSAGE_INVALID', `type must be one of ${MESSAGE_TYPES.join(', ')}`);
  if (implied && raw.type !== undefined && raw.type !== implied) throw new Refused('MESSAGE_INVALID', `type must be "${implied}" on /v1/${implied}`);
  const userId = idOf(raw.userId);
  const anonymousId = idOf(raw.anonymousId);
  if (userId === undefined || anonymousId === undefined) throw new Refused('MESSAGE_INVALID', 'userId and anonymousId must be strings of at most 200 characters');
  if (!userId && !anonymousId) throw new Refused('MESSAGE_INVALID', 'Send a userId or an anonymousId');
  const messageId = idOf(raw.messageId);
  if (messageId === undefined) throw new Refused('MESSAGE_INVALID', 'messageId must be a string of at most 200 characters');
  for (const field of ['properties', 'traits', 'context', 'integrations'] as const) {
    if (raw[field] !== undefined && raw[field] !== null && !isObject(raw[field])) throw new Refused('MESSAGE_INVALID', `${field} must be an object`);
  }
  const timestamp = parseTime(raw.timestamp ?? raw.originalTimestamp);
  const sentAt = parseTime(raw.sentAt ?? batchSentAt);
  if (timestamp === undefined || sentAt === undefined) throw new Refused('MESSAGE_INVALID', 'timestamp and sentAt must be ISO-8601 dates in the years 1 to 9999');
  const occurredAt = timestamp ? (sentAt ? new Date(timestamp.getTime() + (now.getTime() - sentAt.getTime())) : timestamp) : now;
  if (!isStorableTime(occurredAt.getTime())) throw new Refused('MESSAGE_INVALID', 'timestamp corrected by sentAt falls outside the years 1 to 9999');

  const properties = (raw.properties as Obj | undefined) ?? {};
  const traits = (raw.traits as Obj | undefined) ?? {};
  const context = (raw.context as Obj | undefined) ?? null;
  let name: string = type;
  let previousId: string | null = null;
  let email: string | null = null;
  switch (type) {
    case 'track': {
      if (typeof raw.event !== 'string' || raw.event.trim() === '' || raw.event.length > 200) throw new Refused('MESSAGE_INVALID', 'track needs an event name (1–200 characters)');
      name = raw.event.trim();
      break;
    }
    case 'page':
    case 'screen': {
      if (raw.name !== undefined && raw.name !== null && (typeof raw.name !== 'string' || raw.name.length > 200)) throw new Refused('MESSAGE_INVALID', 'name must be a string of at most 200 characters');
      if (typeof raw.name === 'string' && raw.name) properties.name = raw.name;
      if (typeof raw.category === 'string') properties.category = raw.category;
      break;
    }
    case 'group': {
      const groupId = idOf(raw.groupId);
      if (!groupId) throw new Refused('MESSAGE_INVALID', 'group needs a groupId');
      properties.groupId = groupId;
      properties.traits = traits;
      break;
    }
    case 'alias': {
      const previous = idOf(raw.previousId);
      if (!previous || !userId) throw new Refused('MESSAGE_INVALID', 'alias needs a userId and a previousId');
      previousId = previous;
      properties.previousId = previous;
      break;
    }
    case 'identify': {
      if (traits.email !== undefined && traits.email !== null) {
        if (typeof traits.email !== 'string' || !parseEmail(traits.email)) throw new Refused('INVALID_EMAIL', 'traits.email is not a valid email address');
        email = parseEmail(traits.email);
      }
      break;
    }
  }
  return { index, type, messageId, userId, anonymousId, previousId, name, properties: type === 'identify' ? traits : properties, traits, context, email, occurredAt };
}

/* ---------- traits → contact fields ---------- */

function text(value: unknown, max: number): string | null {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed ? trimmed.slice(0, max) : null;
}

export const KNOWN_TRAITS = new Set(['email', 'firstName', 'first_name', 'lastName', 'last_name', 'name', 'company', 'title', 'jobTitle', 'job_title', 'phone', 'timezone']);

export interface ContactUpsertRow {
  email: string;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  phone: string | null;
  timezone: string | null;
  custom_fields: Obj;
}

export function contactFromTraits(email: string, traits: Obj, context: Obj | null): ContactUpsertRow {
  let first = text(traits.firstName ?? traits.first_name, 200);
  let last = text(traits.lastName ?? traits.last_name, 200);
  const full = text(traits.name, 400);
  if (full && !first && !last) {
    const space = full.indexOf(' ');
    first = (space < 0 ? full : full.slice(0, space)).slice(0, 200);
    last = space < 0 ? null : full.slice(space + 1).trim().slice(0, 200) || null;
  }
  const company = isObject(traits.company) ? text(traits.company.name, 200) : text(traits.company, 200);
  const zone = text(traits.timezone ?? context?.timezone, 64);
  const custom: Obj = {};
  for (const [key, value] of Object.entries(traits)) {
    if (!KNOWN_TRAITS.has(key) && key.length <= 64 && value !== undefined) custom[key] = value;
  }
  return {
    email,
    first_name: first,
    last_name: last,
    company,
    job_title: text(traits.title ?? traits.jobTitle ?? traits.job_title, 200),
    phone: text(traits.phone, 50),
    timezone: zone && isValidTimezone(zone) ? zone : null,
    custom_fields: custom,
  };
}

