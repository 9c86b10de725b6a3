/**
 * The typed client of the Unite Hub API (same origin, cookie session). Every unsafe request echoes
 * the `uh_csrf` cookie in `x-csrf-token` (double submit); every failure becomes an `ApiError`
 * carrying the server's stable code and human message. Shapes the server defines in its leaf schema
 * modules are imported from there (`@server/…`, types only), not restated.
 */
import type { Contact as ServerContact } from '@server/core/contact.schemas.js';
import type { AuditLogEntry } from '@server/identity/audit.schemas.js';

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface User {
  id: string;
  email: string;
  name: string;
}
export interface Workspace {
  id: string;
  name: string;
  organizationId: string;
}
export interface Me {
  user: User | null;
  apiKeyId: string | null;
  workspace: Workspace;
  role: Role;
  permissions: string[];
  workspaces: Array<Workspace & { role: Role }>;
  csrfToken: string | null;
}

export type AiProviderKind = 'offline' | 'openai' | 'anthropic';
export interface AiSettings {
  provider: AiProviderKind;
  model: string;
  baseUrl: string | null;
  hasApiKey: boolean;
  timeoutMs: number;
  maxRetries: number;
  updatedAt: string | null;
}
export interface AiPolicy {
  allowedProviders: AiProviderKind[];
  allowedModels: string[];
  maxTokens: number;
  redactPii: boolean;
  personalFields: string[];
  requireApproval: boolean;
}
export interface AiBudget {
  month: string;
  monthlyLimit: number | null;
  warnRatio: number;
  spent: number;
  reserved: number;
  alerts: Array<{ month: string; kind: string; spent: number; monthlyLimit: number; at: string }>;
}
export interface AiPrice {
  provider: 'openai' | 'anthropic';
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  source: 'built-in' | 'workspace';
}
export interface AiCall {
  id: string;
  actorType: string;
  operation: string;
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number;
  outcome: 'ok' | 'fallback' | 'refused' | 'error';
  reasonCode: string | null;
  reason: string | null;
  campaignId: string | null;
  createdAt: string;
}
export interface AiSpendDay {
  day: string;
  provider: string;
  model: string;
  calls: number;
  cost: number;
}
export interface AiVariant {
  id: string;
  contactId: string;
  generator: string;
  status: 'pending' | 'approved' | 'rejected';
  original: { subject: string; html: string; text: string };
  subject: string;
  html: string;
  changes: string[];
  createdAt: string;
}
export interface AiDraft {
  subject: string;
  preheader: string;
  html: string;
}
export interface AiPersonalized {
  original: AiDraft;
  draft: AiDraft;
  outcome: AiCall['outcome'];
  reasonCode: string | null;
  reason: string | null;
  changes: string[];
  provider: string;
  model: string;
  cost: number;
  rendered: { original: RenderedEmail | null; personalized: RenderedEmail | null };
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

/** A pending invitation (`GET /api/invitations`); `expired` ones stay until resent or revoked. */
export interface Invitation {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'expired';
  invitedBy: { id: string; name: string } | null;
  createdAt: string;
  sentAt: string;
  expiresAt: string;
}
/** What a valid invitation link shows its holder (`GET /api/invitations/accept-info`). */
export interface InvitationPreview {
  email: string;
  role: Role;
  workspace: { id: string; name: string };
  invitedBy: { name: string } | null;
  expiresAt: string;
}

/** An entry of `GET /api/audit-log`: the server's schema (src/identity/audit.schemas.ts). */
export type AuditEntry = AuditLogEntry;

export const CONTACT_STATUSES = ['prospect', 'lead', 'customer'] as const;
/** A contact as the API answers it: the server's schema (src/core/contact.schemas.ts). */
export type Contact = ServerContact;
export interface ContactInput {
  email: string;
  firstName?: string;
  lastName?: string;
  company?: string;
  jobTitle?: string;
  phone?: string;
  status?: string;
  tags?: string[];
  /** Declared fields converted to their types; null removes a key (on update). */
  customFields?: Record<string, string | number | boolean | null>;
}
export const CUSTOM_FIELD_TYPES = ['text', 'number', 'boolean', 'date'] as const;
export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];
export interface CustomFieldDefinition {
  key: string;
  label: string;
  type: CustomFieldType;
  createdAt: string;
  updatedAt: string;
}
export interface ContactListParams {
  limit?: number;
  cursor?: string;
  search?: string;
  status?: string;
  tag?: string;
  minScore?: number;
  maxScore?: number;
  activeSince?: string;
  inactiveSince?: string;
  /** Custom field equality, sent as cf.<key>=<value>. */
  customFields?: Record<string, string>;
}
export type TimelineItem =
  | { kind: 'event'; id: string; at: string; type: string; name: string; properties: Record<string, unknown> }
  | { kind: 'message'; id: string; at: string; subject: string; status: string; toAddress: string; sentAt: string | null }
  | { kind: 'step'; id: string; at: string; campaignId: string; campaignName: string; enrollmentId: string; nodeId: string; outcome: string; detail: Record<string, unknown>; delivery: StepDelivery | null };
/** Where a webhook step's call stands; null on other steps. */
export interface StepDelivery {
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  sentAt: string | null;
  nextAttemptAt: string | null;
}

export type CampaignStatus = 'draft' | 'active' | 'paused' | 'archived';
export type NodeType = 'trigger' | 'email' | 'wait' | 'condition' | 'split' | 'action' | 'exit';
export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  currentVersion: number | null;
  createdAt: string;
  updatedAt: string;
}
export interface CampaignNode {
  id: string;
  type: NodeType;
  name?: string;
  position?: { x: number; y: number };
  config: Record<string, unknown>;
}
export interface CampaignEdge {
  from: string;
  to: string;
  handle?: string;
}
export interface CampaignDefinition {
  entryNodeId: string;
  nodes: CampaignNode[];
  edges: CampaignEdge[];
  settings?: unknown;
}
export interface NodeMetrics {
  entered: number;
  completed: number;
  waiting: number;
  failed: number;
}
export interface CampaignDetail {
  campaign: Campaign;
  definition: CampaignDefinition;
  metrics: { nodes: Record<string, NodeMetrics> };
}

export interface InboxSummary {
  id: string;
  from: string;
  to: string;
  subject: string;
  createdAt: string;
}
export interface InboxMessage extends InboxSummary {
  html: string | null;
  text: string | null;
  headers: Record<string, unknown> | Array<unknown> | null;
}

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'failed', 'suppressed', 'uncertain'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
/** An outbox message with its delivery status (`attempts` counts the sender's tries). */
export interface MessageSummary {
  id: string;
  to: string;
  subject: string;
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  providerMessageId: string | null;
  lastError: string | null;
  sourceType: string;
  sourceId: string | null;
  contactId: string | null;
  topicId: string | null;
  createdAt: string;
  sentAt: string | null;
}
export interface SendAttempt {
  provider: string;
  result: 'sent' | 'transient_error' | 'permanent_error' | 'suppressed' | 'ambiguous' | 'marked_sent';
  latencyMs: number;
  providerMessageId: string | null;
  error: string | null;
  attemptedAt: string;
}
export interface MessageDetail {
  message: MessageSummary & { from: string };
  attempts: SendAttempt[];
  events: Array<{ id: string; name: string; properties: Record<string, unknown>; occurredAt: string }>;
}

/** A subscription topic of the workspace (marketing email belongs to one). */
export interface Topic {
  id: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  optedOut: number;
  createdAt: string;
  updatedAt: string;
}
export interface TopicInput {
  name: string;
  description?: string | null;
  isDefault?: boolean;
}
/** A topic with one contact's state in it. */
export interface ContactTopic {
  id: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  subscribed: boolean;
  optedOutAt: string | null;
  source: string | null;
}

export interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string | null;
  createdAt: string;
  updatedAt: string;
}
export interface TemplateInput {
  name: string;
  subject: string;
  html: string;
  text?: string | null;
}
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}
export const SUPPRESSION_REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'manual'] as const;
export interface Suppression {
  email: string;
  reason: (typeof SUPPRESSION_REASONS)[number];
  source: string | null;
  createdAt: string;
}
export const PROVIDER_KINDS = ['smtp', 'resend', 'postmark', 'sendgrid', 'ses'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  priority: number;
  enabled: boolean;
  ratePerSecond: number | null;
  credentials: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}
export interface ProviderInput {
  name: string;
  kind: ProviderKind;
  priority?: number;
  enabled?: boolean;
  credentials?: Record<string, string>;
  ratePerSecond?: number | null;
}

export interface ImportReport {
  id: string;
  status: 'running' | 'completed' | 'failed';
  source: string;
  filename: string | null;
  mapping: Record<string, string>;
  bytesRead: number;
  rowsProcessed: number;
  rowsCreated: number;
  rowsUpdated: number;
  rowsFailed: number;
  errors: Array<{ row: number; code: string; message: string }>;
  failure: string | null;
  createdAt: string;
  finishedAt: string | null;
}
export type SegmentCondition = Record<string, unknown> & { kind: string };
export interface SegmentDefinition {
  match: 'all' | 'any';
  conditions: SegmentCondition[];
}
export interface Segment {
  id: string;
  name: string;
  kind: 'dynamic' | 'static';
  definition: SegmentDefinition | null;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Per-field messages: a 400 `VALIDATION_FAILED` lists them (`details: [{ path: '/email', message }]`);
 * any other refusal about one field names it (`details: { field: 'customFields.seats' }`) and its
 * message is that field's.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  const named = (error.details as { field?: unknown } | null | undefined)?.field;
  if (!Array.isArray(error.details)) {
    if (typeof named === 'string') out[named] = error.message;
    return out;
  }
  for (const detail of error.details as unknown[]) {
    if (typeof detail !== 'object' || detail === null) continue;
    const { path, field, message } = detail as { path?: unknown; field?: unknown; message?: unknown };
    const name = typeof field === 'string' ? field : typeof path === 'string' ? path.replace(/^\//, '').split('/')[0] : undefined;
    if (name && typeof message === 'string' && !(name in out)) out[name] = message;
  }
  return out;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'The server could not be reached; check your connection and retry.';
  return error instanceof Error ? error.message : String(error);
}

let onUnauthenticated: (() => void) | undefined;
/** The session layer registers how to react when any call answers 401 (back to the login page). */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'uh_csrf') return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // A Blob (a CSV file) is streamed as is; anything else travels as JSON.
  const isBlob = typeof Blob !== 'undefined' && body instanceof Blob;
  if (body !== undefined) headers['content-type'] = isBlob ? 'text/csv' : 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: isBlob ? (body as Blob) : JSON.stringify(body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The server answered ${response.status} ${response.statusText}`,
      error?.details,
    );
    if (response.status === 401 && !path.startsWith('/auth/login') && !path.startsWith('/auth/signup')) onUnauthenticated?.();
    throw apiError;
  }
  return parsed as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

const id = (value: string): string => encodeURIComponent(value);

export const api = {
  auth: {
    signUp: (input: { email: string; password: string; name: string; organizationName: string }) =>
      request<{ user: User; workspace: Workspace; csrfToken: string }>('POST', '/auth/signup', input),
    /** With `invitationToken`, the invitation (for this email) is accepted and the session opens in its workspace. */
    logIn: (input: { email: string; password: string; invitationToken?: string }) => request<{ user: User; csrfToken: string }>('POST', '/auth/login', input),
    logOut: () => request<void>('POST', '/auth/logout'),
    me: () => request<Me>('GET', '/auth/me'),
  },
  apiKeys: {
    list: () => request<{ apiKeys: ApiKey[] }>('GET', '/api-keys'),
    create: (input: { name: string; role: Exclude<Role, 'owner'> }) => request<{ apiKey: ApiKey; key: string }>('POST', '/api-keys', input),
    revoke: (keyId: string) => request<void>('DELETE', `/api-keys/${id(keyId)}`),
  },
  members: {
    list: () => request<{ members: Member[] }>('GET', '/members'),
    changeRole: (userId: string, role: Role) => request<Member>('PATCH', `/members/${id(userId)}`, { role }),
    remove: (userId: string) => request<void>('DELETE', `/members/${id(userId)}`),
  },
  invitations: {
    list: () => request<{ invitations: Invitation[] }>('GET', '/invitations'),
    create: (input: { email: string; role: Role }) => request<Invitation>('POST', '/invitations', input),
    resend: (invitationId: string) => request<Invitation>('POST', `/invitations/${id(invitationId)}/resend`),
    revoke: (invitationId: string) => request<void>('DELETE', `/invitations/${id(invitationId)}`),
    preview: (token: string) => request<InvitationPreview>('POST', '/invitations/accept-info', { token }),
    accept: (token: string) => request<{ workspace: Workspace; role: Role }>('POST', '/invitations/accept', { token }),
    signUp: (input: { token: string; name: string; password: string }) =>
      request<{ user: User; workspace: Workspace; role: Role; csrfToken: string }>('POST', '/invitations/signup', input),
  },
  auditLog: {
    list: (params: { limit?: number; before?: number }) => request<{ entries: AuditEntry[] }>('GET', `/audit-log${query(params)}`),
  },
  contacts: {
    list: ({ customFields, ...params }: ContactListParams) =>
      request<{ contacts: Contact[]; nextCursor: string | null }>('GET', `/contacts${query({ ...params, ...Object.fromEntries(Object.entries(customFields ?? {}).map(([key, value]) => [`cf.${key}`, value])) })}`),
    create: (input: ContactInput) => request<Contact>('POST', '/contacts', input),
    get: (contactId: string) => request<Contact>('GET', `/contacts/${id(contactId)}`),
    update: (contactId: string, input: Partial<ContactInput>) => request<Contact>('PATCH', `/contacts/${id(contactId)}`, input),
    remove: (contactId: string) => request<void>('DELETE', `/contacts/${id(contactId)}`),
    merge: (contactId: string, duplicateId: string) => request<Contact>('POST', `/contacts/${id(contactId)}/merge`, { duplicateId }),
    erase: (contactId: string) => request<{ erasedAt: string }>('POST', `/contacts/${id(contactId)}/erase`),
    timeline: (contactId: string, cursor?: string) => request<{ items: TimelineItem[]; nextCursor: string | null }>('GET', `/contacts/${id(contactId)}/timeline${query({ cursor })}`),
    topics: (contactId: string) => request<{ topics: ContactTopic[] }>('GET', `/contacts/${id(contactId)}/topics`),
    setTopics: (contactId: string, topics: Array<{ topicId: string; subscribed: boolean }>) => request<{ topics: ContactTopic[] }>('PUT', `/contacts/${id(contactId)}/topics`, { topics }),
  },
  customFields: {
    list: () => request<{ fields: CustomFieldDefinition[] }>('GET', '/custom-fields'),
    create: (input: { key: string; label?: string; type: CustomFieldType }) => request<CustomFieldDefinition & { converted: number }>('POST', '/custom-fields', input),
    update: (key: string, input: { label?: string; type?: CustomFieldType }) => request<CustomFieldDefinition & { converted: number }>('PATCH', `/custom-fields/${encodeURIComponent(key)}`, input),
    remove: (key: string) => request<void>('DELETE', `/custom-fields/${encodeURIComponent(key)}`),
  },
  topics: {
    list: () => request<{ topics: Topic[] }>('GET', '/topics'),
    create: (input: TopicInput) => request<Topic>('POST', '/topics', input),
    update: (topicId: string, input: TopicInput) => request<Topic>('PUT', `/topics/${id(topicId)}`, input),
    remove: (topicId: string) => request<void>('DELETE', `/topics/${id(topicId)}`),
  },
  campaigns: {
    list: () => request<{ campaigns: Campaign[] }>('GET', '/campaigns'),
    create: (input: { name: string; definition: CampaignDefinition }) => request<Campaign | { campaign: Campaign }>('POST', '/campaigns', input),
    get: (campaignId: string) => request<CampaignDetail>('GET', `/campaigns/${id(campaignId)}`),
    update: (campaignId: string, input: { name?: string; definition: CampaignDefinition }) => request<{ campaign: Campaign }>('PUT', `/campaigns/${id(campaignId)}`, input),
    publish: (campaignId: string) => request<unknown>('POST', `/campaigns/${id(campaignId)}/publish`),
    enroll: (campaignId: string, contactIds: string[]) => request<unknown>('POST', `/campaigns/${id(campaignId)}/enroll`, { contactIds }),
  },
  segments: {
    list: () => request<{ segments: Segment[] }>('GET', '/segments'),
    get: (segmentId: string) => request<Segment>('GET', `/segments/${id(segmentId)}`),
    create: (input: { name: string; kind: Segment['kind']; definition?: SegmentDefinition }) => request<Segment>('POST', '/segments', input),
    update: (segmentId: string, input: { name?: string; definition?: SegmentDefinition }) => request<Segment>('PATCH', `/segments/${id(segmentId)}`, input),
    remove: (segmentId: string) => request<void>('DELETE', `/segments/${id(segmentId)}`),
    members: (segmentId: string) => request<{ contacts: Contact[]; nextCursor: string | null }>('GET', `/segments/${id(segmentId)}/members?limit=50`),
  },
  imports: {
    start: (file: Blob, filename: string, map: string[]) => {
      const search = new URLSearchParams({ filename });
      for (const pair of map) search.append('map', pair);
      return request<ImportReport>('POST', `/imports?${search.toString()}`, file);
    },
    list: () => request<{ imports: ImportReport[] }>('GET', '/imports'),
    get: (importId: string) => request<ImportReport>('GET', `/imports/${id(importId)}`),
  },
  templates: {
    list: () => request<{ templates: Template[] }>('GET', '/templates'),
    get: (templateId: string) => request<Template>('GET', `/templates/${id(templateId)}`),
    create: (input: TemplateInput) => request<Template>('POST', '/templates', input),
    update: (templateId: string, input: TemplateInput) => request<Template>('PUT', `/templates/${id(templateId)}`, input),
    remove: (templateId: string) => request<void>('DELETE', `/templates/${id(templateId)}`),
    preview: (templateId: string, contactId?: string) => request<RenderedEmail>('POST', `/templates/${id(templateId)}/preview`, contactId ? { contactId } : {}),
    testSend: (templateId: string, to: string) => request<{ messageId: string }>('POST', `/templates/${id(templateId)}/test-send`, { to }),
  },
  suppressions: {
    list: (params: { limit?: number; after?: string; email?: string }) => request<{ suppressions: Suppression[]; nextCursor: string | null }>('GET', `/suppressions${query(params)}`),
    add: (email: string, reason?: Suppression['reason']) => request<Suppression>('POST', '/suppressions', reason ? { email, reason } : { email }),
    remove: (email: string) => request<void>('DELETE', `/suppressions/${id(email)}`),
  },
  providers: {
    list: () => request<{ providers: Provider[] }>('GET', '/providers'),
    create: (input: ProviderInput) => request<Provider>('POST', '/providers', input),
    update: (providerId: string, input: ProviderInput) => request<Provider>('PUT', `/providers/${id(providerId)}`, input),
    remove: (providerId: string) => request<void>('DELETE', `/providers/${id(providerId)}`),
    test: (providerId: string) => request<{ ok: boolean; detail: string }>('POST', `/providers/${id(providerId)}/test`),
  },
  messages: {
    list: (params: { limit?: number; cursor?: string; status?: MessageStatus; contactId?: string }) => request<{ messages: MessageSummary[]; nextCursor: string | null }>('GET', `/messages${query(params)}`),
    get: (messageId: string) => request<MessageDetail>('GET', `/messages/${id(messageId)}`),
    resend: (messageId: string) => request<MessageSummary>('POST', `/messages/${id(messageId)}/resend`),
    markSent: (messageId: string) => request<MessageSummary>('POST', `/messages/${id(messageId)}/mark-sent`),
  },
  ai: {
    settings: () => request<AiSettings>('GET', '/ai/settings'),
    saveSettings: (input: { provider: AiProviderKind; model?: string; baseUrl?: string | null; apiKey?: string }) => request<AiSettings>('PUT', '/ai/settings', input),
    test: () => request<{ ok: boolean; detail: string }>('POST', '/ai/settings/test'),
    policy: () => request<AiPolicy>('GET', '/ai/policy'),
    savePolicy: (input: AiPolicy) => request<AiPolicy>('PUT', '/ai/policy', input),
    budget: () => request<AiBudget>('GET', '/ai/budget'),
    saveBudget: (input: { monthlyLimit: number | null; warnRatio?: number }) => request<AiBudget>('PUT', '/ai/budget', input),
    prices: () => request<{ prices: AiPrice[] }>('GET', '/ai/prices'),
    savePrice: (input: Omit<AiPrice, 'source'>) => request<AiPrice>('PUT', '/ai/prices', input),
    calls: (params: { outcome?: string; operation?: string; from?: string; limit?: number }) => request<{ calls: AiCall[] }>('GET', `/ai/calls${query(params)}`),
    usage: (params: { outcome?: string; operation?: string; from?: string }) => request<{ days: AiSpendDay[] }>('GET', `/ai/usage${query(params)}`),
    reviews: () => request<{ variants: AiVariant[] }>('GET', '/ai/reviews?status=pending'),
    review: (variantId: string, decision: 'approve' | 'reject') => request<AiVariant>('POST', `/ai/reviews/${id(variantId)}/${decision}`),
    personalize: (input: { contactId: string; templateId: string; mode: 'offline' | 'provider' }) => request<AiPersonalized>('POST', '/ai/personalize', input),
  },
  inbox: {
    list: () => request<{ messages: InboxSummary[] }>('GET', '/inbox'),
    get: (messageId: string) => request<InboxMessage>('GET', `/inbox/${id(messageId)}`),
  },
};
