/**
 * The one wording map of campaign definition problems: each problem code the validator, the
 * definition checks and the webhook host check can report, and the sentence a marketer reads for
 * it (in the API's `message`, on the node in the builder and in its problems panel). A leaf module
 * (no imports), so the web app may import it as `@server/campaigns/problem-wording.js`.
 */

/** Values a sentence may name: a field label, a count, a list of choices, a branch… */
export type ProblemParams = Readonly<Record<string, string | number>>;

const s = (value: string | number | undefined, fallback = ''): string => (value === undefined ? fallback : String(value));
const q = (value: string | number | undefined): string => `“${s(value)}”`;

export const PROBLEM_WORDING = {
  // The definition as a whole.
  definition_unreadable: () => 'The campaign could not be read: it needs a start step, a list of steps and a list of connections.',
  definition_unknown_field: (p: ProblemParams) => `The campaign has a setting this version does not know (${s(p.key)}); remove it.`,
  entry_missing: () => 'Choose which step the campaign starts from.',
  entry_unknown_node: () => 'The campaign starts from a step that no longer exists. Add a trigger and make it the first step.',
  entry_not_trigger: () => 'A campaign starts with a trigger: add a trigger and connect it to this step.',
  extra_trigger: () => 'A campaign has only one trigger. Remove this one or turn it into another kind of step.',
  // One step.
  node_bad_id: () => 'A step has an invalid id; give it a name made of letters, digits, dots, dashes or underscores.',
  node_duplicate_id: () => 'Two steps share the same id. Delete one of them and add it again.',
  node_unknown_field: (p: ProblemParams) => `This step has a setting the builder does not know (${s(p.key)}); remove it.`,
  node_unknown_type: (p: ProblemParams) => `This step is of an unknown kind (${s(p.type)}). Replace it with one of: ${s(p.choices)}.`,
  node_unreachable: () => 'No path from the trigger leads to this step, so no contact will ever reach it. Connect a step to it or delete it.',
  node_notes_invalid: () => 'A step’s notes must be text of at most 5,000 characters; shorten them.',
  config_missing: () => 'This step has no settings yet. Open it and fill in its settings.',
  config_unknown_kind: (p: ProblemParams) => `Choose what kind of ${s(p.label, 'step')} this is (${s(p.choices)}).`,
  // A field of a step's settings (from the schema).
  field_required: (p: ProblemParams) => `Fill in ${s(p.label)}.`,
  field_empty: (p: ProblemParams) => `Fill in ${s(p.label)}; it cannot be empty.`,
  field_too_short: (p: ProblemParams) => `${capital(s(p.label))} is too short: use at least ${s(p.limit)} characters.`,
  field_too_long: (p: ProblemParams) => `${capital(s(p.label))} is too long: use at most ${s(p.limit)} characters.`,
  field_too_small: (p: ProblemParams) => `${capital(s(p.label))} must be at least ${s(p.limit)}.`,
  field_too_large: (p: ProblemParams) => `${capital(s(p.label))} must be at most ${s(p.limit)}.`,
  field_wrong_type: (p: ProblemParams) => `${capital(s(p.label))} must be ${s(p.expected)}.`,
  field_not_allowed: (p: ProblemParams) => `This step has a setting it does not use (${s(p.key)}); remove it.`,
  field_bad_format: (p: ProblemParams) => `${capital(s(p.label))} is not a valid ${s(p.format)}.`,
  field_not_a_choice: (p: ProblemParams) => `Choose ${s(p.label)} from the list.`,
  list_too_short: (p: ProblemParams) => `Add more ${s(p.label)}: at least ${s(p.limit)} are needed.`,
  list_too_long: (p: ProblemParams) => `There are too many ${s(p.label)}: at most ${s(p.limit)} are allowed.`,
  field_invalid: (p: ProblemParams) => `${capital(s(p.label))} is not valid; check its value.`,
  // Email content and its topic.
  email_content: (p: ProblemParams) => `${capital(s(p.label))} cannot be rendered${p.line ? ` (line ${s(p.line)})` : ''}: ${s(p.reason)}.`,
  email_unknown_variable: (p: ProblemParams) =>
    `${capital(s(p.label))} uses ${q(p.variable)}, which is not a personalization variable${p.line ? ` (line ${s(p.line)})` : ''}. Use contact, workspace, event, campaign or message.`,
  email_topic_transactional: () => 'A transactional campaign’s emails have no subscription topic. Remove the topic, or change the campaign’s priority.',
  topic_missing: () => 'The subscription topic of this step was deleted. Choose another topic.',
  segment_missing: () => 'The segment this refers to was deleted. Choose another segment.',
  // Waits.
  wait_bad_timezone: (p: ProblemParams) => `${q(p.zone)} is not a time zone. Pick one from the list, e.g. Europe/Paris.`,
  wait_in_quiet_hours: () => 'The send time falls within the quiet hours. Choose another hour or change the quiet hours.',
  wait_quiet_hours_empty: () => 'Quiet hours must start and end at different hours.',
  // Webhooks.
  webhook_bad_url: () => 'The webhook address is not a valid web address. It should start with https://.',
  webhook_private_address: (p: ProblemParams) => `The webhook address points to ${s(p.host)}, a private or local address. Webhooks may only call public addresses.`,
  webhook_refused: (p: ProblemParams) => `The webhook address cannot be used: ${s(p.reason)}. Webhooks may only call public addresses.`,
  webhook_unresolvable: (p: ProblemParams) => `The webhook host ${s(p.host)} does not exist. Check the address for typing mistakes.`,
  // Splits and conditions.
  split_weights_total: (p: ProblemParams) => `The A/B split’s shares add up to ${s(p.total)}%; they must add up to 100%.`,
  split_duplicate_variant: () => 'Two variants of the A/B split have the same name. Give each a different name.',
  split_conversion_needs_goal: () => 'The A/B split picks its winner by conversions, but the campaign has no goal. Set a goal in the campaign settings or pick the winner by opens or clicks.',
  condition_duplicate_branch: () => 'Two branches of this condition have the same name. Give each a different name.',
  condition_reserved_default: () => 'A branch may not be called “default”: that name is kept for contacts who match no branch.',
  condition_not_email_step: (p: ProblemParams) => `A rule checks engagement with ${q(p.target)}, which is not an email step of this campaign. Choose an email step from the list.`,
  // Connections.
  edge_bad: () => 'A connection is incomplete. Delete it and draw it again.',
  edge_unknown_step: () => 'A connection leads to or from a step that no longer exists. Delete it and draw it again.',
  edge_from_exit: () => 'An exit ends the campaign, so nothing can follow it. Remove the connection leaving this exit.',
  edge_unknown_path: (p: ProblemParams) => `This step has no path called ${q(p.handle)}. Connect one of its paths instead (${s(p.choices)}).`,
  edge_duplicate_path: (p: ProblemParams) => `The path ${q(p.handle)} is connected to more than one step. Keep one connection.`,
  next_not_connected: () => 'Connect this step to the next step (or to an exit).',
  default_not_connected: () => 'Connect the “everyone else” path: where contacts go when no branch matches.',
  timeout_not_connected: () => 'Connect the “timed out” path: where contacts go when the event does not happen in time.',
  path_not_connected: (p: ProblemParams) => `Connect the path ${q(p.handle)} to a next step.`,
  loop_without_wait: () => 'This step is part of a loop with no wait in it, so a contact would go round forever. Add a wait to the loop.',
} satisfies Record<string, (params: ProblemParams) => string>;

export type ProblemCode = keyof typeof PROBLEM_WORDING;
export const PROBLEM_CODES = Object.keys(PROBLEM_WORDING) as ProblemCode[];

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The sentence for a problem. */
export function problemSentence(code: ProblemCode, params: ProblemParams = {}): string {
  return PROBLEM_WORDING[code](params);
}

/** What a marketer calls a settings field, by its last path segment(s). */
const FIELD_LABELS: Record<string, string> = {
  subject: 'the subject line',
  html: 'the email body',
  text: 'the plain-text version',
  from: 'the sender address',
  topicId: 'the subscription topic',
  templateId: 'the email template',
  tag: 'the tag',
  threshold: 'the score threshold',
  name: 'the event name',
  segmentId: 'the segment',
  at: 'the send date and time',
  seconds: 'the wait time',
  timeoutSeconds: 'how long to wait for the event',
  withinSeconds: 'the time window',
  correlationKey: 'the matching property',
  hour: 'the hour',
  minute: 'the minute',
  weekdays: 'the days of the week',
  defaultTimezone: 'the default time zone',
  quietHours: 'the quiet hours',
  branches: 'branches',
  variants: 'variants',
  weight: 'the share of contacts',
  rules: 'rules',
  field: 'the contact field',
  value: 'the value',
  op: 'the comparison',
  delta: 'the score change',
  url: 'the webhook address',
  secret: 'the webhook secret',
  userId: 'the team member to notify',
  event: 'the email event',
  nodeId: 'the email step',
  property: 'the event property',
  filters: 'event filters',
  reason: 'the exit reason',
  id: 'the name',
  kind: 'the kind',
  priority: 'the priority',
  reentry: 're-entry',
  days: 'the number of days',
  goal: 'the goal',
  eventName: 'the goal event',
  start: 'the start of the quiet hours',
  end: 'the end of the quiet hours',
  present: 'whether it is present',
};

/** Turns a settings path (`config.branches.0.match.rules.1.tag`) into words (`the tag`). */
export function fieldLabel(path: string): string {
  const parts = path.split('.').filter((part) => part !== '' && part !== 'config' && !/^\d+$/.test(part));
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    const label = FIELD_LABELS[parts[i]!];
    if (label) return label;
  }
  return 'this setting';
}

/** What a JSON type is called in a sentence. */
export function typeWords(type: string): string {
  switch (type) {
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'text';
    case 'boolean':
      return 'yes or no';
    case 'array':
      return 'a list';
    case 'object':
      return 'a group of settings';
    default:
      return type;
  }
}

/** What a JSON Schema format is called in a sentence. */
export function formatWords(format: string): string {
  switch (format) {
    case 'uuid':
      return 'choice from the list';
    case 'date-time':
      return 'date and time';
    case 'email':
      return 'email address';
    case 'uri':
      return 'web address';
    default:
      return format;
  }
}
