/**
 * The audit log's shapes (leaf module: TypeBox only, shared with the web app): every action the
 * server records (recordAudit takes only these, so the web's sentence per action cannot miss one),
 * one entry camelCased from its audit_log row with its actor's name, the page `GET /api/audit-log`
 * answers and its filters.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Every audit action, persisted strings: never rename one (web/src/activity/sentences.ts words each). */
export const AUDIT_ACTIONS = [
  'workspace.create',
  'workspace.update',
  'member.add',
  'member.role',
  'member.remove',
  'invitation.create',
  'invitation.resend',
  'invitation.revoke',
  'invitation.accept',
  'api_key.create',
  'api_key.revoke',
  'write_key.create',
  'write_key.revoke',
  'contact.create',
  'contact.update',
  'contact.delete',
  'contact.merge',
  'contact.erase',
  'contact.identify',
  'contact.import',
  'contact.topics_update',
  'custom_field.create',
  'custom_field.update',
  'custom_field.delete',
  'segment.create',
  'segment.update',
  'segment.delete',
  'segment.members.add',
  'segment.members.remove',
  'campaign.create',
  'campaign.update',
  'campaign.publish',
  'campaign.pause',
  'campaign.resume',
  'campaign.archive',
  'campaign.enroll',
  'campaign.enrollment.pause',
  'campaign.enrollment.resume',
  'campaign.enrollment.retry',
  'campaign.migrate_enrollments',
  'campaign.frequency_cap',
  'campaign.inbound_secret.rotate',
  'campaign.split_winner',
  'campaign.split_inconclusive',
  'campaign.split_winner_cleared',
  'campaign.duplicate',
  'campaign.enroll_audience',
  'campaign.enrollments.exit',
  'campaign.broadcast.cancel',
  'template.create',
  'template.update',
  'template.delete',
  'template.test_send',
  'topic.create',
  'topic.update',
  'topic.delete',
  'suppression.create',
  'suppression.delete',
  'provider.create',
  'provider.update',
  'provider.delete',
  'message.resend',
  'message.mark_sent',
  'ai.settings.update',
  'ai.policy.update',
  'ai.price.update',
  'ai.budget.update',
  'ai.variant.approve',
  'ai.variant.reject',
  'guardian_rule.create',
  'guardian_rule.update',
  'guardian_rule.delete',
  'guardian_alert.acknowledge',
  'guardian_alert.resolve',
  'guardian_role.set',
  'guardian.channel.create',
  'guardian.channel.update',
  'guardian.channel.delete',
  'guardian.channel.digest',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The campaign an entry concerns (a campaign, one of its journeys, its broadcast or A/B split) and the step, if any. */
export const AuditCampaignContext = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ description: "The campaign's name today" }),
    nodeId: Type.Union([Type.String(), Type.Null()], { description: 'The step the entry is about (an A/B split), null for the whole campaign' }),
    nodeName: Type.Union([Type.String(), Type.Null()], { description: "The step's name in the campaign's current version (or draft); null when it has none" }),
  },
  { additionalProperties: false },
);
export type AuditCampaignContextValue = Static<typeof AuditCampaignContext>;

export const AuditEntrySchema = Type.Object({
  id: Type.Integer({ description: 'Increasing; pass the last one as `before` for older entries' }),
  actorType: Type.String({ description: 'user, api_key or system' }),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorName: Type.Union([Type.String(), Type.Null()], { description: "The user's or API key's name today; null for the system or one since deleted" }),
  action: Type.String({ description: 'e.g. contact.update, api_key.create' }),
  resourceType: Type.String(),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown({ description: 'The resource before the change (null on creation)' }),
  after: Type.Unknown({ description: 'The resource after the change (null on deletion)' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  campaign: Type.Union([AuditCampaignContext, Type.Null()], { description: 'The campaign the entry concerns, null when it concerns none (or the campaign is gone)' }),
});
export type AuditLogEntry = Static<typeof AuditEntrySchema>;

export const AuditPage = Type.Object({ entries: Type.Array(AuditEntrySchema) });

/** `GET /api/audit-log`: a page of `limit` entries with ids below `before`, optionally filtered. */
export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    actorType: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('api_key'), Type.Literal('system')])),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A user id or API key id' })),
    entity: Type.Optional(Type.String({ minLength: 1, maxLength: 60, pattern: '^[a-z_.]+$', description: 'What changed: the action before its last part, e.g. contact, campaign.enrollment, guardian.channel' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time' })),
  },
  { additionalProperties: false },
);
export type AuditFilters = Omit<Static<typeof AuditQuery>, 'limit' | 'before'>;
