/**
 * The activity log in words: one sentence per audit entry ("Ada changed the subject of template
 * 'Welcome'"), the fields an entry changed (before → after) for the diff view, and the entity
 * filter's choices. Pure: no React, no requests. Every action the server records
 * (`AUDIT_ACTIONS`, src/identity/audit.schemas.ts) must have a sentence: SENTENCES is a Record over
 * them, so a new action fails the web typecheck until it is worded here.
 */
import { AUDIT_ACTIONS, type AuditAction, type AuditLogEntry } from '@server/identity/audit.schemas.js';

export interface Change {
  field: string;
  label: string;
  before: unknown;
  after: unknown;
}

interface Context {
  /** Who did it: the person's or key's name, else what they were. */
  who: string;
  /** " 'Welcome'" — the entity's name, quoted, with a leading space; empty when unknown. */
  name: string;
  /** "the subject and the body" — the changed fields, for updates; empty when none are known. */
  changed: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** " in campaign 'Onboarding'" — the campaign the entry concerns (linked by auditParts); empty when none. */
  inCampaign: string;
  /** " 'Subject line'" — the step the entry is about, quoted, with a leading space; empty when none. */
  step: string;
}

const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '');

/** "firstName" → "first name"; "job_title" → "job title". */
export const humanize = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_.-]+/g, ' ').toLowerCase();

/** Fields that say nothing to a reader when they change. */
const NOISE = new Set(['updatedAt', 'updated_at', 'createdAt', 'created_at', 'id', 'workspaceId', 'version']);

/** What an entry changed: every field whose value differs between before and after (JSON-equal fields are not changes). */
export function changesOf(entry: Pick<AuditLogEntry, 'before' | 'after'>): Change[] {
  const before = record(entry.before);
  const after = record(entry.after);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !NOISE.has(key));
  return keys
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => ({ field: key, label: humanize(key), before: before[key], after: after[key] }));
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function actorOf(entry: AuditLogEntry): string {
  if (entry.actorName) return entry.actorName;
  if (entry.actorType === 'system') return 'Unite Hub';
  if (entry.actorType === 'api_key') return 'A deleted API key';
  return 'A former member';
}

const quoted = (value: string) => ` '${value.length > 60 ? `${value.slice(0, 57)}…` : value}'`;

function nameOf(entry: AuditLogEntry): string {
  const after = record(entry.after);
  const before = record(entry.before);
  for (const key of ['name', 'label', 'email', 'key', 'model', 'ruleName']) {
    const value = text(after[key]) || text(before[key]);
    if (value) return quoted(value);
  }
  // A campaign's entry without a name of its own (publish, pause, a broadcast …): the campaign's.
  return entry.campaign ? quoted(entry.campaign.name) : '';
}

/** "Variant B" for a variant id ("b"), as the A/B panel says it. */
const variantName = (id: string) => `Variant ${id.length <= 2 ? id.toUpperCase() : id}`;
const split = (c: Context) => `A/B split${c.step}`;

const count = (value: unknown, one: string, many: string): string => {
  const n = Array.isArray(value) ? value.length : typeof value === 'number' ? value : 0;
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
};

/** "updated template 'Welcome'" or "changed the subject and the body of template 'Welcome'". */
const updated = (thing: string) => (c: Context) => (c.changed ? `${c.who} changed ${c.changed} of ${thing}${c.name}` : `${c.who} updated ${thing}${c.name}`);
const did = (verb: string, thing: string) => (c: Context) => `${c.who} ${verb} ${thing}${c.name}`;

const SENTENCES: Record<AuditAction, (c: Context) => string> = {
  'workspace.create': (c) => `${c.who} created the workspace${c.name}`,
  'workspace.update': (c) => (text(c.after.timeZone) && c.after.timeZone !== c.before.timeZone ? `${c.who} set the workspace's time zone to ${text(c.after.timeZone)}` : updated('the workspace')(c)),
  'member.add': (c) => `${c.who} added${c.name || ' a member'} as ${text(c.after.role) || 'a member'}`,
  'member.role': (c) => `${c.who} changed the role of${c.name || ' a member'} from ${text(c.before.role) || '?'} to ${text(c.after.role) || '?'}`,
  'member.remove': (c) => `${c.who} removed${c.name || ' a member'} (${text(c.before.role) || 'member'}) from the workspace`,
  'invitation.create': (c) => `${c.who} invited${c.name || ' someone'}${text(c.after.role) ? ` as ${text(c.after.role)}` : ''}`,
  'invitation.resend': did('resent the invitation to', 'invitee'),
  'invitation.revoke': did('revoked the invitation of', 'invitee'),
  'invitation.accept': (c) => `${c.who} accepted an invitation and joined${text(c.after.role) ? ` as ${text(c.after.role)}` : ''}`,
  'api_key.create': did('created', 'API key'),
  'api_key.revoke': did('revoked', 'API key'),
  'write_key.create': did('created', 'write key'),
  'write_key.revoke': did('revoked', 'write key'),
  'contact.create': did('added', 'contact'),
  'contact.update': updated('contact'),
  'contact.delete': did('deleted', 'contact'),
  'contact.merge': (c) => `${c.who} merged a duplicate into contact${c.name}`,
  'contact.erase': (c) => `${c.who} erased the personal data of a contact`,
  'contact.identify': (c) => `${c.who} identified contact${c.name} through the tracking API`,
  'contact.import': (c) => `${c.who} imported contacts${text(c.after.filename) ? ` from ${text(c.after.filename)}` : ''}${typeof c.after.rowsProcessed === 'number' ? ` (${count(c.after.rowsProcessed, 'row', 'rows')})` : ''}`,
  'contact.topics_update': (c) => `${c.who} changed the subscription topics of contact${c.name}`,
  'custom_field.create': did('declared', 'custom field'),
  'custom_field.update': updated('custom field'),
  'custom_field.delete': did('removed', 'custom field'),
  'segment.create': did('created', 'segment'),
  'segment.update': updated('segment'),
  'segment.delete': did('deleted', 'segment'),
  'segment.members.add': (c) => `${c.who} added ${count(c.after.contactIds, 'contact', 'contacts')} to a static list`,
  'segment.members.remove': (c) => `${c.who} removed ${count(c.after.contactIds, 'contact', 'contacts')} from a static list`,
  'campaign.create': did('created', 'campaign'),
  'campaign.update': updated('campaign'),
  'campaign.publish': did('published', 'campaign'),
  'campaign.pause': did('paused', 'campaign'),
  'campaign.resume': did('resumed', 'campaign'),
  'campaign.archive': did('archived', 'campaign'),
  'campaign.enroll': (c) => `${c.who} enrolled ${Array.isArray(c.after.enrolled) ? count(c.after.enrolled, 'contact', 'contacts') : 'contacts'}${c.inCampaign || ' in a campaign'}`,
  'campaign.enrollment.pause': (c) => `${c.who} paused one contact's journey${c.inCampaign}`,
  'campaign.enrollment.resume': (c) => `${c.who} resumed one contact's journey${c.inCampaign}`,
  'campaign.enrollment.retry': (c) => `${c.who} retried a failed journey${c.inCampaign} from the step it failed at`,
  'campaign.migrate_enrollments': (c) => `${c.who} moved running journeys to the new version of campaign${c.name}`,
  'campaign.frequency_cap': (c) => `${c.who} changed the workspace's frequency cap on campaign emails`,
  'campaign.inbound_secret.rotate': (c) => `${c.who} rotated the inbound webhook secret of campaign${c.name}`,
  'campaign.split_winner': (c) =>
    `${c.who} picked ${text(c.after.variant) ? variantName(text(c.after.variant)) : 'a variant'} as the winner of ${split(c)}${c.inCampaign}${c.after.decidedBy === 'auto' ? ' (the automatic test)' : ''}`,
  'campaign.split_inconclusive': (c) => `${c.who} ended the A/B test${c.step}${c.inCampaign} without a winner`,
  'campaign.split_winner_cleared': (c) => `${c.who} cleared ${text(c.before.variant) ? variantName(text(c.before.variant)) : 'the winner'} as the winner of ${split(c)}${c.inCampaign}`,
  'campaign.duplicate': (c) => `${c.who} duplicated campaign${c.name}`,
  'campaign.enroll_audience': (c) => `${c.who} enrolled a segment or list of contacts in campaign${c.name}`,
  'campaign.enrollments.exit': (c) => `${c.who} ended journeys in campaign${c.name}`,
  'campaign.broadcast.cancel': (c) => `${c.who} cancelled a scheduled broadcast of campaign${c.name}`,
  'template.create': did('created', 'template'),
  'template.update': updated('template'),
  'template.delete': did('deleted', 'template'),
  'template.test_send': (c) => `${c.who} sent a test of template${c.name}`,
  'topic.create': did('created', 'subscription topic'),
  'topic.update': updated('subscription topic'),
  'topic.delete': did('deleted', 'subscription topic'),
  'suppression.create': (c) => `${c.who} suppressed${c.name || ' an address'}`,
  'suppression.delete': (c) => `${c.who} removed${c.name || ' an address'} from the suppression list`,
  'provider.create': did('added', 'email provider'),
  'provider.update': updated('email provider'),
  'provider.delete': did('removed', 'email provider'),
  'message.resend': (c) => `${c.who} resent an email`,
  'message.mark_sent': (c) => `${c.who} marked an uncertain email as sent`,
  'ai.settings.update': updated('the AI settings'),
  'ai.policy.update': updated('the AI policy'),
  'ai.price.update': (c) => `${c.who} changed the AI price of model${c.name}`,
  'ai.budget.update': updated('the AI budget'),
  'ai.variant.approve': (c) => `${c.who} approved an AI-written variant`,
  'ai.variant.reject': (c) => `${c.who} rejected an AI-written variant`,
  'guardian_rule.create': did('created', 'alert rule'),
  'guardian_rule.update': updated('alert rule'),
  'guardian_rule.delete': did('deleted', 'alert rule'),
  'guardian_alert.acknowledge': (c) => `${c.who} acknowledged an alert`,
  'guardian_alert.resolve': (c) => `${c.who} resolved an alert`,
  'guardian_role.set': (c) => (c.after.guardianRole ? `${c.who} made a member ${humanize(text(c.after.guardianRole))} in Guardian` : `${c.who} returned a member to their default Guardian role`),
  'guardian.channel.create': did('added', 'alert channel'),
  'guardian.channel.update': updated('alert channel'),
  'guardian.channel.delete': did('removed', 'alert channel'),
  'guardian.channel.digest': (c) => (c.after.frequency ? `${c.who} set a ${text(c.after.frequency)} digest on alert channel${c.name}` : `${c.who} stopped the digest of alert channel${c.name}`),
};

const isKnown = (action: string): action is AuditAction => (AUDIT_ACTIONS as readonly string[]).includes(action);

/** One sentence for one audit entry, naming who did what to which (and in which campaign and step). */
export function auditSentence(entry: AuditLogEntry): string {
  const changes = changesOf(entry).map((change) => `the ${change.label}`);
  const campaign = entry.campaign;
  const step = campaign?.nodeId ? quoted(campaign.nodeName ?? campaign.nodeId) : '';
  const context: Context = {
    who: actorOf(entry),
    name: nameOf(entry),
    changed: changes.length > 0 && changes.length <= 4 ? list(changes) : '',
    before: record(entry.before),
    after: record(entry.after),
    inCampaign: campaign ? ` in campaign${quoted(campaign.name)}` : '',
    step,
  };
  if (isKnown(entry.action)) return SENTENCES[entry.action](context);
  // An action recorded by a newer server than this page: still say who and what.
  return `${context.who} did ${humanize(entry.action)}${context.name}${context.inCampaign}`;
}

/** A piece of a sentence: text, or text linking to a page of the app. */
export interface SentencePart {
  text: string;
  href?: string;
}

/**
 * The sentence in pieces, the campaign's quoted name (its first mention) a link to the campaign,
 * so the log can render it with links; the pieces' text is exactly auditSentence's.
 */
export function auditParts(entry: AuditLogEntry): SentencePart[] {
  const sentence = auditSentence(entry);
  if (!entry.campaign) return [{ text: sentence }];
  const name = quoted(entry.campaign.name).slice(1);
  const at = sentence.indexOf(name);
  if (at < 0) return [{ text: sentence }];
  const parts: SentencePart[] = [{ text: sentence.slice(0, at) }, { text: name, href: `/campaigns/${entry.campaign.id}` }, { text: sentence.slice(at + name.length) }];
  return parts.filter((p) => p.text !== '');
}

/** What an entry is about, for the filter: the action before its last part ("campaign.enrollment.pause" → "campaign.enrollment"). */
export const entityOf = (action: string): string => action.slice(0, action.lastIndexOf('.'));

/** A label for every entity the server records (the unit test checks none is missing). */
export const ENTITY_LABELS: Record<string, string> = {
  workspace: 'Workspace',
  member: 'Members',
  invitation: 'Invitations',
  api_key: 'API keys',
  write_key: 'Write keys',
  contact: 'Contacts',
  custom_field: 'Custom fields',
  segment: 'Segments',
  'segment.members': 'Static list members',
  campaign: 'Campaigns',
  'campaign.enrollments': 'Journeys (bulk)',
  'campaign.broadcast': 'Broadcasts',
  'campaign.enrollment': 'Journeys',
  'campaign.inbound_secret': 'Campaign webhook secrets',
  template: 'Templates',
  topic: 'Subscription topics',
  suppression: 'Suppressions',
  provider: 'Email providers',
  message: 'Emails',
  'ai.settings': 'AI settings',
  'ai.policy': 'AI policy',
  'ai.price': 'AI prices',
  'ai.budget': 'AI budget',
  'ai.variant': 'AI variants',
  guardian_rule: 'Alert rules',
  guardian_alert: 'Alerts',
  guardian_role: 'Guardian roles',
  'guardian.channel': 'Alert channels',
};

/** The entity filter's choices: every entity the server records, with a label people read. */
export const ENTITIES: Array<{ value: string; label: string }> = [...new Set(AUDIT_ACTIONS.map(entityOf))]
  .map((value) => ({ value, label: ENTITY_LABELS[value] ?? humanize(value) }))
  .sort((a, b) => a.label.localeCompare(b.label));

/** A before/after value for the diff view: text as it is, anything else as compact JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value === '' ? '(empty)' : value;
  return JSON.stringify(value);
}
