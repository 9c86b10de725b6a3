/**
 * The typed client of the Unite Hub API: the shapes it answers and one function per endpoint, over
 * the HTTP client in http.ts (CSRF echo, ApiError). Shapes the server defines in its leaf schema
 * modules are imported from there (`@server/…`, types only), not restated.
 */
import type { ContactStatus, Contact as ServerContact } from '@server/core/contact.schemas.js';
import type { AuditLogEntry } from '@server/identity/audit.schemas.js';
import type { Static } from '@sinclair/typebox';
import type {
  Provider as AiProviderSchema,
  BudgetAnswer,
  BudgetWithAlertsAnswer,
  CallsAnswer,
  PersonalizeAnswer,
  PolicyAnswer,
  PriceAnswer,
  PricesAnswer,
  SettingsAnswer,
  SettingsTestAnswer,
  UsageAnswer,
  VariantAnswer,
  VariantsAnswer,
} from '@server/ai/ai.schemas.js';
import type { CampaignAnswer, CampaignList, CampaignDetailAnswer, CampaignSchema, DefinitionProblemSchema, EnrollAnswer, NodeMetricsSchema, SaveDraftAnswer, UpdateCampaignBody } from '@server/campaigns/campaigns.schemas.js';
import type { CampaignDefinitionSchema, CampaignEdge as CampaignEdgeSchema, CampaignNode as CampaignNodeSchema, NodeType } from '@server/campaigns/definition.schemas.js';
import type { CreateContactBody, StepDelivery, TimelineItemSchema, UpdateContactBody } from '@server/contacts/contacts.schemas.js';
import type { InboxEmail, InboxSummary as InboxSummarySchema, Suppression as SuppressionSchema, SuppressionReason } from '@server/email/email.schemas.js';
import type { MessageDetail as MessageDetailSchema, MessageStatus, MessageSummary as MessageSummarySchema, SendAttempt as SendAttemptSchema } from '@server/email/messages.schemas.js';
import type { ProviderBody, ProviderKind, ProviderSchema } from '@server/email/providers.schemas.js';
import type { Rendered, TemplateBody, TemplateSchema } from '@server/email/templates.schemas.js';
import type { ContactTopic as ContactTopicSchema, ContactTopicList, TopicBody, TopicList, TopicSchema } from '@server/email/topics.schemas.js';
import type { CreateCustomFieldBody, CustomFieldChanged, CustomFieldDefinition as CustomFieldSchema, CustomFieldList, CustomFieldType, UpdateCustomFieldBody } from '@server/contacts/custom-fields.schemas.js';
import type { ImportList, ImportSchema } from '@server/contacts/import.schemas.js';
import type { ApiKey as ApiKeySchema, ApiKeyList, CreatedKey, CreateKeyBody, LogInAnswer, LogInBody, Me as MeSchema, Member as MemberSchema, MemberList, Role, SignUpAnswer, SignUpBody, User as UserSchema, Workspace as WorkspaceSchema } from '@server/identity/identity.schemas.js';
import type { AcceptAnswer, Invitation as InvitationSchema, InvitationList, InvitationPreview as InvitationPreviewSchema, InvitationSignUpAnswer, InvitationSignUpBody, InviteBody } from '@server/identity/invitations.schemas.js';
import type { Condition, CreateSegmentBody, SegmentDefinition, SegmentList, SegmentSchema, UpdateSegmentBody } from '@server/segments/segments.schemas.js';
import type { EraseAnswer, ContactPage, TimelinePage } from '@server/contacts/contacts.schemas.js';
import type { AuditPage, AuditQuery } from '@server/identity/audit.schemas.js';
import type { WorkspacePatch, WorkspaceSettings as WorkspaceSettingsSchema } from '@server/identity/workspace.schemas.js';
import type { InboxList, SuppressionPage } from '@server/email/email.schemas.js';
import type { MessagePage } from '@server/email/messages.schemas.js';
import type { ProviderList, ProviderTestAnswer } from '@server/email/providers.schemas.js';
import type { TemplateList, TestSendAnswer } from '@server/email/templates.schemas.js';

export type { Role };
export type User = Static<typeof UserSchema>;
export type Workspace = Static<typeof WorkspaceSchema>;
/** `GET /api/auth/me`: the caller, its workspace, role and permissions. */
export type Me = Static<typeof MeSchema>;

export type AiProviderKind = Static<typeof AiProviderSchema>;
export type AiSettings = Static<typeof SettingsAnswer>;
export type AiPolicy = Static<typeof PolicyAnswer>;
/** `GET /api/ai/budget` answers the recent alerts too; `PUT` answers the status alone (AiBudgetStatus). */
export type AiBudget = Static<typeof BudgetWithAlertsAnswer>;
export type AiBudgetStatus = Static<typeof BudgetAnswer>;
export type AiPrice = Static<typeof PriceAnswer>;
export type AiCall = Static<typeof CallsAnswer>['calls'][number];
export type AiSpendDay = Static<typeof UsageAnswer>['days'][number];
export type AiVariant = Static<typeof VariantAnswer>;
export type AiPersonalized = Static<typeof PersonalizeAnswer>;
export type AiDraft = AiPersonalized['draft'];

/** `GET /api/workspace`: name and time zone (UTC until one is set). */
export type WorkspaceSettings = Static<typeof WorkspaceSettingsSchema>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type Member = Static<typeof MemberSchema>;
/** A pending invitation (`GET /api/invitations`); `expired` ones stay until resent or revoked. */
export type Invitation = Static<typeof InvitationSchema>;
/** What a valid invitation link shows its holder (`POST /api/invitations/accept-info`). */
export type InvitationPreview = Static<typeof InvitationPreviewSchema>;

/** An entry of `GET /api/audit-log`: the server's schema (src/identity/audit.schemas.ts). */
export type AuditEntry = AuditLogEntry;

export const CONTACT_STATUSES = ['prospect', 'lead', 'customer'] as const satisfies readonly ContactStatus[];
export type { ContactStatus };
/** A contact as the API answers it: the server's schema (src/core/contact.schemas.ts). */
export type Contact = ServerContact;
export type ContactInput = Static<typeof CreateContactBody>;
export type ContactUpdate = Static<typeof UpdateContactBody>;
export const CUSTOM_FIELD_TYPES = ['text', 'number', 'boolean', 'date'] as const satisfies readonly CustomFieldType[];
export type { CustomFieldType };
export type CustomFieldDefinition = Static<typeof CustomFieldSchema>;
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
export type TimelineItem = Static<typeof TimelineItemSchema>;
export type Campaign = Static<typeof CampaignSchema>;
export type CampaignStatus = Campaign['status'];
export type { NodeType, StepDelivery };
export type CampaignNode = Static<typeof CampaignNodeSchema>;
export type CampaignEdge = Static<typeof CampaignEdgeSchema>;
export type CampaignDefinition = Static<typeof CampaignDefinitionSchema>;
export type NodeMetrics = Static<typeof NodeMetricsSchema>;
/** A problem of a campaign definition: its sentence, node, field path and code. */
export type DefinitionProblem = Static<typeof DefinitionProblemSchema>;
/** `GET /api/campaigns/:id`: the server types the draft definition `unknown` (it is stored JSON); it is a CampaignDefinition. */
export type CampaignDetail = Omit<Static<typeof CampaignDetailAnswer>, 'definition'> & { definition: CampaignDefinition };

export type InboxSummary = Static<typeof InboxSummarySchema>;
export type InboxMessage = Static<typeof InboxEmail>;

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'failed', 'suppressed', 'uncertain'] as const satisfies readonly MessageStatus[];
export type { MessageStatus };
/** An outbox message with its delivery status (`attempts` counts the sender's tries). */
export type MessageSummary = Static<typeof MessageSummarySchema>;
export type SendAttempt = Static<typeof SendAttemptSchema>;
export type MessageDetail = Static<typeof MessageDetailSchema>;

/** A subscription topic of the workspace (marketing email belongs to one). */
export type Topic = Static<typeof TopicSchema>;
export type TopicInput = Static<typeof TopicBody>;
/** A topic with one contact's state in it. */
export type ContactTopic = Static<typeof ContactTopicSchema>;

export type Template = Static<typeof TemplateSchema>;
export type TemplateInput = Static<typeof TemplateBody>;
export type RenderedEmail = Static<typeof Rendered>;
export const SUPPRESSION_REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'manual'] as const satisfies readonly SuppressionReason[];
export type Suppression = Static<typeof SuppressionSchema>;
export const PROVIDER_KINDS = ['smtp', 'resend', 'postmark', 'sendgrid', 'ses'] as const satisfies readonly ProviderKind[];
export type { ProviderKind };
export type Provider = Static<typeof ProviderSchema>;
export type ProviderInput = Static<typeof ProviderBody>;

/** An import's report (`GET /api/imports/:id`): progress while it runs, counts and row errors when done. */
export type ImportReport = Static<typeof ImportSchema>;
/**
 * A condition as the segment editor holds it while the user types: loose until the server checks it
 * against its schema (`Condition`, src/segments/segments.schemas.ts) and answers 400 per field.
 */
export type SegmentCondition = Record<string, unknown> & { kind: Condition['kind'] };
/** The editor's definition: drafted conditions, sent as they are (the server validates). */
export type DraftDefinition = { match: SegmentDefinition['match']; conditions: SegmentCondition[] };
type WithDraft<Body extends { definition?: SegmentDefinition }> = Omit<Body, 'definition'> & { definition?: DraftDefinition };
export type { SegmentDefinition };
export type Segment = Static<typeof SegmentSchema>;

export { ApiError, errorMessage, fieldErrors, query, request, setUnauthenticatedHandler } from './http';
import { query, request } from './http';

const id = (value: string): string => encodeURIComponent(value);

export const api = {
  auth: {
    signUp: (input: Static<typeof SignUpBody>) =>
      request<Static<typeof SignUpAnswer>>('POST', '/auth/signup', input),
    /** With `invitationToken`, the invitation (for this email) is accepted and the session opens in its workspace. */
    logIn: (input: Static<typeof LogInBody>) => request<Static<typeof LogInAnswer>>('POST', '/auth/login', input),
    logOut: () => request<void>('POST', '/auth/logout'),
    me: () => request<Me>('GET', '/auth/me'),
  },
  workspace: {
    get: () => request<WorkspaceSettings>('GET', '/workspace'),
    update: (input: Static<typeof WorkspacePatch>) => request<WorkspaceSettings>('PATCH', '/workspace', input),
  },
  apiKeys: {
    list: () => request<Static<typeof ApiKeyList>>('GET', '/api-keys'),
    create: (input: Static<typeof CreateKeyBody>) => request<Static<typeof CreatedKey>>('POST', '/api-keys', input),
    revoke: (keyId: string) => request<void>('DELETE', `/api-keys/${id(keyId)}`),
  },
  members: {
    list: () => request<Static<typeof MemberList>>('GET', '/members'),
    changeRole: (userId: string, role: Role) => request<Member>('PATCH', `/members/${id(userId)}`, { role }),
    remove: (userId: string) => request<void>('DELETE', `/members/${id(userId)}`),
  },
  invitations: {
    list: () => request<Static<typeof InvitationList>>('GET', '/invitations'),
    create: (input: Static<typeof InviteBody>) => request<Invitation>('POST', '/invitations', input),
    resend: (invitationId: string) => request<Invitation>('POST', `/invitations/${id(invitationId)}/resend`),
    revoke: (invitationId: string) => request<void>('DELETE', `/invitations/${id(invitationId)}`),
    preview: (token: string) => request<InvitationPreview>('POST', '/invitations/accept-info', { token }),
    accept: (token: string) => request<Static<typeof AcceptAnswer>>('POST', '/invitations/accept', { token }),
    signUp: (input: Static<typeof InvitationSignUpBody>) =>
      request<Static<typeof InvitationSignUpAnswer>>('POST', '/invitations/signup', input),
  },
  auditLog: {
    list: (params: Static<typeof AuditQuery>) => request<Static<typeof AuditPage>>('GET', `/audit-log${query(params)}`),
  },
  contacts: {
    list: ({ customFields, ...params }: ContactListParams) =>
      request<Static<typeof ContactPage>>('GET', `/contacts${query({ ...params, ...Object.fromEntries(Object.entries(customFields ?? {}).map(([key, value]) => [`cf.${key}`, value])) })}`),
    create: (input: ContactInput) => request<Contact>('POST', '/contacts', input),
    get: (contactId: string) => request<Contact>('GET', `/contacts/${id(contactId)}`),
    update: (contactId: string, input: ContactUpdate) => request<Contact>('PATCH', `/contacts/${id(contactId)}`, input),
    remove: (contactId: string) => request<void>('DELETE', `/contacts/${id(contactId)}`),
    merge: (contactId: string, duplicateId: string) => request<Contact>('POST', `/contacts/${id(contactId)}/merge`, { duplicateId }),
    erase: (contactId: string) => request<Static<typeof EraseAnswer>>('POST', `/contacts/${id(contactId)}/erase`),
    timeline: (contactId: string, cursor?: string) => request<Static<typeof TimelinePage>>('GET', `/contacts/${id(contactId)}/timeline${query({ cursor })}`),
    topics: (contactId: string) => request<Static<typeof ContactTopicList>>('GET', `/contacts/${id(contactId)}/topics`),
    setTopics: (contactId: string, topics: Array<{ topicId: string; subscribed: boolean }>) => request<Static<typeof ContactTopicList>>('PUT', `/contacts/${id(contactId)}/topics`, { topics }),
  },
  customFields: {
    list: () => request<Static<typeof CustomFieldList>>('GET', '/custom-fields'),
    create: (input: Static<typeof CreateCustomFieldBody>) => request<Static<typeof CustomFieldChanged>>('POST', '/custom-fields', input),
    update: (key: string, input: Static<typeof UpdateCustomFieldBody>) => request<Static<typeof CustomFieldChanged>>('PATCH', `/custom-fields/${encodeURIComponent(key)}`, input),
    remove: (key: string) => request<void>('DELETE', `/custom-fields/${encodeURIComponent(key)}`),
  },
  topics: {
    list: () => request<Static<typeof TopicList>>('GET', '/topics'),
    create: (input: TopicInput) => request<Topic>('POST', '/topics', input),
    update: (topicId: string, input: TopicInput) => request<Topic>('PUT', `/topics/${id(topicId)}`, input),
    remove: (topicId: string) => request<void>('DELETE', `/topics/${id(topicId)}`),
  },
  campaigns: {
    list: () => request<Static<typeof CampaignList>>('GET', '/campaigns'),
    create: (input: { name: string; definition: CampaignDefinition }) => request<Static<typeof CampaignAnswer>>('POST', '/campaigns', input),
    get: (campaignId: string) => request<CampaignDetail>('GET', `/campaigns/${id(campaignId)}`),
    /** Saves the draft valid or not; answers its problems. A stale `draftRevision` answers 409 CAMPAIGN_EDIT_CONFLICT. */
    update: (campaignId: string, input: Omit<Static<typeof UpdateCampaignBody>, 'definition'> & { definition: CampaignDefinition }) => request<Static<typeof SaveDraftAnswer>>('PUT', `/campaigns/${id(campaignId)}`, input),
    publish: (campaignId: string) => request<Static<typeof CampaignAnswer>>('POST', `/campaigns/${id(campaignId)}/publish`),
    enroll: (campaignId: string, contactIds: string[]) => request<Static<typeof EnrollAnswer>>('POST', `/campaigns/${id(campaignId)}/enroll`, { contactIds }),
  },
  segments: {
    list: () => request<Static<typeof SegmentList>>('GET', '/segments'),
    get: (segmentId: string) => request<Segment>('GET', `/segments/${id(segmentId)}`),
    create: (input: WithDraft<Static<typeof CreateSegmentBody>>) => request<Segment>('POST', '/segments', input),
    update: (segmentId: string, input: WithDraft<Static<typeof UpdateSegmentBody>>) => request<Segment>('PATCH', `/segments/${id(segmentId)}`, input),
    remove: (segmentId: string) => request<void>('DELETE', `/segments/${id(segmentId)}`),
    members: (segmentId: string) => request<Static<typeof ContactPage>>('GET', `/segments/${id(segmentId)}/members?limit=50`),
  },
  imports: {
    start: (file: Blob, filename: string, map: string[]) => {
      const search = new URLSearchParams({ filename });
      for (const pair of map) search.append('map', pair);
      return request<ImportReport>('POST', `/imports?${search.toString()}`, file);
    },
    list: () => request<Static<typeof ImportList>>('GET', '/imports'),
    get: (importId: string) => request<ImportReport>('GET', `/imports/${id(importId)}`),
  },
  templates: {
    list: () => request<Static<typeof TemplateList>>('GET', '/templates'),
    get: (templateId: string) => request<Template>('GET', `/templates/${id(templateId)}`),
    create: (input: TemplateInput) => request<Template>('POST', '/templates', input),
    update: (templateId: string, input: TemplateInput) => request<Template>('PUT', `/templates/${id(templateId)}`, input),
    remove: (templateId: string) => request<void>('DELETE', `/templates/${id(templateId)}`),
    preview: (templateId: string, contactId?: string) => request<RenderedEmail>('POST', `/templates/${id(templateId)}/preview`, contactId ? { contactId } : {}),
    testSend: (templateId: string, to: string) => request<Static<typeof TestSendAnswer>>('POST', `/templates/${id(templateId)}/test-send`, { to }),
  },
  suppressions: {
    list: (params: { limit?: number; after?: string; email?: string }) => request<Static<typeof SuppressionPage>>('GET', `/suppressions${query(params)}`),
    add: (email: string, reason?: Suppression['reason']) => request<Suppression>('POST', '/suppressions', reason ? { email, reason } : { email }),
    remove: (email: string) => request<void>('DELETE', `/suppressions/${id(email)}`),
  },
  providers: {
    list: () => request<Static<typeof ProviderList>>('GET', '/providers'),
    create: (input: ProviderInput) => request<Provider>('POST', '/providers', input),
    update: (providerId: string, input: ProviderInput) => request<Provider>('PUT', `/providers/${id(providerId)}`, input),
    remove: (providerId: string) => request<void>('DELETE', `/providers/${id(providerId)}`),
    test: (providerId: string) => request<Static<typeof ProviderTestAnswer>>('POST', `/providers/${id(providerId)}/test`),
  },
  messages: {
    list: (params: { limit?: number; cursor?: string; status?: MessageStatus; contactId?: string }) => request<Static<typeof MessagePage>>('GET', `/messages${query(params)}`),
    get: (messageId: string) => request<MessageDetail>('GET', `/messages/${id(messageId)}`),
    resend: (messageId: string) => request<MessageSummary>('POST', `/messages/${id(messageId)}/resend`),
    markSent: (messageId: string) => request<MessageSummary>('POST', `/messages/${id(messageId)}/mark-sent`),
  },
  ai: {
    settings: () => request<AiSettings>('GET', '/ai/settings'),
    saveSettings: (input: { provider: AiProviderKind; model?: string; baseUrl?: string | null; apiKey?: string }) => request<AiSettings>('PUT', '/ai/settings', input),
    test: () => request<Static<typeof SettingsTestAnswer>>('POST', '/ai/settings/test'),
    policy: () => request<AiPolicy>('GET', '/ai/policy'),
    savePolicy: (input: AiPolicy) => request<AiPolicy>('PUT', '/ai/policy', input),
    budget: () => request<AiBudget>('GET', '/ai/budget'),
    saveBudget: (input: { monthlyLimit: number | null; warnRatio?: number }) => request<AiBudgetStatus>('PUT', '/ai/budget', input),
    prices: () => request<Static<typeof PricesAnswer>>('GET', '/ai/prices'),
    savePrice: (input: Omit<AiPrice, 'source'>) => request<AiPrice>('PUT', '/ai/prices', input),
    calls: (params: { outcome?: string; operation?: string; from?: string; limit?: number }) => request<Static<typeof CallsAnswer>>('GET', `/ai/calls${query(params)}`),
    usage: (params: { outcome?: string; operation?: string; from?: string }) => request<Static<typeof UsageAnswer>>('GET', `/ai/usage${query(params)}`),
    reviews: () => request<Static<typeof VariantsAnswer>>('GET', '/ai/reviews?status=pending'),
    review: (variantId: string, decision: 'approve' | 'reject') => request<AiVariant>('POST', `/ai/reviews/${id(variantId)}/${decision}`),
    personalize: (input: { contactId: string; templateId: string; mode: 'offline' | 'provider' }) => request<AiPersonalized>('POST', '/ai/personalize', input),
  },
  inbox: {
    list: () => request<Static<typeof InboxList>>('GET', '/inbox'),
    get: (messageId: string) => request<InboxMessage>('GET', `/inbox/${id(messageId)}`),
  },
};
