/**
 * Validates a campaign definition and lists every problem, each naming its node and field, so
 * the builder can mark them on the canvas. Used at save and at publish (CAMPAIGN_INVALID).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { checkContent } from '../email/render.js';
import {
  CampaignEdge,
  CampaignSettings,
  DEFAULT_HANDLE,
  NEXT_HANDLE,
  NODE_CONFIG_SCHEMAS,
  NODE_TYPES,
  TIMEOUT_HANDLE,
  handleOf,
  type CampaignDefinition,
  type DefinitionNode,
  type NodeType,
  type RuleGroup,
} from './definition.js';
import { assertUnreachable } from '../http/errors.js';
import ipaddr from 'ipaddr.js';
import { inQuietHours, isTimeZone } from './schedule.js';
import { isPublicAddress } from './webhooks.js';
import { fieldLabel, formatWords, problemSentence, typeWords, type ProblemCode, type ProblemParams } from './problem-wording.js';

export interface DefinitionIssue {
  /** The node the problem is on; null for the definition as a whole (entry, settings). */
  nodeId: string | null;
  /** The path of the field inside the node (or the definition): `config.subject`, `edges`. */
  field: string;
  /** A stable code from the wording map (problem-wording.ts). */
  code: ProblemCode;
  /** The sentence a marketer reads, from the wording map. */
  message: string;
}

/** A problem with its sentence. */
export function issueOf(nodeId: string | null, field: string, code: ProblemCode, params: ProblemParams = {}): DefinitionIssue {
  return { nodeId, field, code, message: problemSentence(code, params) };
}

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const compiled = new Map<TSchema, ValidateFunction>();
function validatorFor(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One schema error in words: the code and the field it is about. */
function ajvIssue(nodeId: string | null, field: string, e: ErrorObject): DefinitionIssue {
  const params = e.params as Record<string, unknown>;
  const limit = Number(params.limit);
  const label = fieldLabel(field);
  switch (e.keyword) {
    case 'required': {
      const missing = [field, String(params.missingProperty)].filter(Boolean).join('.');
      return issueOf(nodeId, missing, 'field_required', { label: fieldLabel(missing) });
    }
    case 'minLength':
      return issueOf(nodeId, field, limit <= 1 ? 'field_empty' : 'field_too_short', { label, limit });
    case 'maxLength':
      return issueOf(nodeId, field, 'field_too_long', { label, limit });
    case 'minimum':
    case 'exclusiveMinimum':
      return issueOf(nodeId, field, 'field_too_small', { label, limit });
    case 'maximum':
    case 'exclusiveMaximum':
      return issueOf(nodeId, field, 'field_too_large', { label, limit });
    case 'type':
      return issueOf(nodeId, field, 'field_wrong_type', { label, expected: typeWords(String(params.type)) });
    case 'additionalProperties':
      return issueOf(nodeId, field, 'field_not_allowed', { key: String(params.additionalProperty) });
    case 'format':
      return params.format === 'uuid' ? issueOf(nodeId, field, 'field_not_a_choice', { label }) : issueOf(nodeId, field, 'field_bad_format', { label, format: formatWords(String(params.format)) });
    case 'enum':
    case 'const':
      return issueOf(nodeId, field, 'field_not_a_choice', { label });
    case 'minItems':
      return issueOf(nodeId, field, 'list_too_short', { label, limit });
    case 'maxItems':
      return issueOf(nodeId, field, 'list_too_long', { label, limit });
    case 'pattern':
      if (field.endsWith('url')) return issueOf(nodeId, field, 'webhook_bad_url');
      return issueOf(nodeId, field, 'field_invalid', { label });
    default:
      return issueOf(nodeId, field, 'field_invalid', { label });
  }
}

/** The value at a JSON pointer (ajv's instancePath) inside `data`. */
function valueAt(data: unknown, pointer: string): unknown {
  let at = data;
  for (const part of pointer.split('/').slice(1)) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * A union (a rule: tag, field, score… or a nested group) reports the errors of every branch it
 * tried. Only the branch the value meant counts — the rule kind its `kind` names, or the group
 * when it has an `operator`; a `kind` no branch has is one "choose from the list" problem.
 */
function meantBranchErrors(errors: ErrorObject[], data: unknown): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => ({ base: e.instancePath, prefix: `${e.schemaPath}/`, value: valueAt(data, e.instancePath) }));
  const dropped = new Set<ErrorObject>();
  const extra: ErrorObject[] = [];
  for (const union of unions) {
    if (typeof union.value !== 'object' || union.value === null) continue;
    const under = errors.filter((e) => e !== undefined && (e.instancePath === union.base || e.instancePath.startsWith(`${union.base}/`)));
    if ('operator' in union.value) {
      // A group: the rule kinds' complaints about it are beside the point.
      for (const e of under) if (e.schemaPath.startsWith(union.prefix) && (e.instancePath === union.base || e.instancePath === `${union.base}/kind`)) dropped.add(e);
      continue;
    }
    if (!('kind' in union.value)) continue;
    // A rule: the group's complaints (from the recursive schema, outside this union's path) go.
    for (const e of under) if (!e.schemaPath.startsWith(union.prefix) && e.instancePath === union.base && e.keyword !== 'anyOf') dropped.add(e);
    // …and so do the other kinds' branches: those whose `kind` constant did not match.
    const branchOf = (e: ErrorObject) => /^((?:\d+\/anyOf\/)*\d+)\//.exec(e.schemaPath.slice(union.prefix.length))?.[1];
    const inUnion = under.filter((e) => e.schemaPath.startsWith(union.prefix));
    const wrongKind = new Set(inUnion.filter((e) => e.keyword === 'const' && e.instancePath === `${union.base}/kind`).map(branchOf));
    const branches = new Set(inUnion.filter((e) => e.keyword !== 'anyOf').map(branchOf));
    for (const e of inUnion) if (wrongKind.has(branchOf(e)) || e.keyword === 'anyOf') dropped.add(e);
    if (branches.size > 0 && [...branches].every((b) => wrongKind.has(b))) extra.push({ ...inUnion[0]!, keyword: 'enum', instancePath: `${union.base}/kind`, params: {} });
  }
  return [...extra, ...errors.filter((e) => !dropped.has(e) && e.keyword !== 'anyOf' && e.keyword !== 'if')];
}

function ajvIssues(nodeId: string | null, prefix: string, errors: ErrorObject[] | null | undefined, data: unknown): DefinitionIssue[] {
  const seen = new Set<string>();
  const out: DefinitionIssue[] = [];
  for (const e of meantBranchErrors(errors ?? [], data)) {
    const path = e.instancePath.split('/').filter(Boolean).join('.');
    const issue = ajvIssue(nodeId, [prefix, path].filter(Boolean).join('.'), e);
    const key = `${issue.field}|${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}

const TYPE_WORDS: Record<NodeType, string> = { trigger: 'trigger', email: 'email', wait: 'wait', condition: 'condition', split: 'A/B split', action: 'action', exit: 'exit' };

/** Kind-discriminated configs are checked against the variant their `kind` names, for precise errors. */
function checkConfig(node: { id: string; type: NodeType; config: unknown }): DefinitionIssue[] {
  const schema = NODE_CONFIG_SCHEMAS[node.type];
  if (!isObject(node.config)) return [issueOf(node.id, 'config', 'config_missing')];
  const single = (schema as { properties?: { kind?: { const?: string } } }).properties?.kind?.const;
  const variants = (schema as { anyOf?: TSchema[] }).anyOf ?? (single === undefined ? undefined : [schema]);
  if (variants) {
    const kinds = variants.map((v) => (v as unknown as { properties: { kind: { const: string } } }).properties.kind.const);
    const variant = variants[kinds.indexOf(String(node.config.kind))];
    if (!variant) return [issueOf(node.id, 'config.kind', 'config_unknown_kind', { label: TYPE_WORDS[node.type], choices: kinds.map((k) => k.replace(/_/g, ' ')).join(', ') })];
    const fn = validatorFor(variant);
    return fn(node.config) ? [] : ajvIssues(node.id, 'config', fn.errors, node.config);
  }
  const fn = validatorFor(schema);
  return fn(node.config) ? [] : ajvIssues(node.id, 'config', fn.errors, node.config);
}

/** The handles a node may leave by, and which of them must be connected. */
function handlesOf(node: DefinitionNode): { allowed: string[]; required: string[] } {
  switch (node.type) {
    case 'trigger':
    case 'email':
    case 'action':
      return { allowed: [NEXT_HANDLE], required: [NEXT_HANDLE] };
    case 'wait':
      return node.config.kind === 'event' ? { allowed: [NEXT_HANDLE, TIMEOUT_HANDLE], required: [NEXT_HANDLE, TIMEOUT_HANDLE] } : { allowed: [NEXT_HANDLE], required: [NEXT_HANDLE] };
    case 'condition': {
      const ids = node.config.branches.map((b) => b.id);
      return { allowed: [...ids, DEFAULT_HANDLE], required: [...ids, DEFAULT_HANDLE] };
    }
    case 'split': {
      const ids = node.config.variants.map((v) => v.id);
      return { allowed: ids, required: ids };
    }
    case 'exit':
      return { allowed: [], required: [] };
    default:
      return assertUnreachable(node);
  }
}

function emailRuleNodeIds(group: RuleGroup, out: string[] = []): string[] {
  for (const rule of group.rules) {
    if ('operator' in rule) emailRuleNodeIds(rule, out);
    else if (rule.kind === 'email') out.push(rule.nodeId);
  }
  return out;
}

/** Returns every problem found; an empty list means the definition can be saved and published. */
export async function validateDefinition(input: unknown): Promise<DefinitionIssue[]> {
  const issues: DefinitionIssue[] = [];
  if (!isObject(input)) return [issueOf(null, 'definition', 'definition_unreadable')];
  for (const key of Object.keys(input)) {
    if (!['entryNodeId', 'nodes', 'edges', 'settings'].includes(key)) issues.push(issueOf(null, key, 'definition_unknown_field', { key }));
  }
  if (typeof input.entryNodeId !== 'string') issues.push(issueOf(null, 'entryNodeId', 'entry_missing'));
  if (!Array.isArray(input.nodes)) issues.push(issueOf(null, 'nodes', 'definition_unreadable'));
  if (!Array.isArray(input.edges)) issues.push(issueOf(null, 'edges', 'definition_unreadable'));
  if (input.settings !== undefined) {
    const fn = validatorFor(CampaignSettings);
    if (!fn(input.settings)) issues.push(...ajvIssues(null, 'settings', fn.errors, input.settings));
  }
  if (!Array.isArray(input.nodes) || !Array.isArray(input.edges)) return issues;

  // 1. Each node on its own: id, known type, config shape, email content.
  const valid = new Map<string, DefinitionNode>();
  const ids = new Set<string>();
  for (const [index, raw] of (input.nodes as unknown[]).entries()) {
    if (!isObject(raw) || typeof raw.id !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(raw.id)) {
      issues.push(issueOf(null, `nodes.${index}.id`, 'node_bad_id'));
      continue;
    }
    const nodeId = raw.id;
    if (ids.has(nodeId)) {
      issues.push(issueOf(nodeId, 'id', 'node_duplicate_id'));
      continue;
    }
    ids.add(nodeId);
    for (const key of Object.keys(raw)) {
      if (!['id', 'type', 'name', 'position', 'notes', 'config'].includes(key)) issues.push(issueOf(nodeId, key, 'node_unknown_field', { key }));
    }
    if (raw.notes !== undefined && (typeof raw.notes !== 'string' || raw.notes.length > 5000)) issues.push(issueOf(nodeId, 'notes', 'node_notes_invalid'));
    if (!(NODE_TYPES as readonly unknown[]).includes(raw.type)) {
      issues.push(issueOf(nodeId, 'type', 'node_unknown_type', { type: String(raw.type), choices: NODE_TYPES.join(', ') }));
      continue;
    }
    const configIssues = checkConfig({ id: nodeId, type: raw.type as NodeType, config: raw.config });
    issues.push(...configIssues);
    if (configIssues.length > 0) continue;
    const node = raw as unknown as DefinitionNode;
    if (node.type === 'email') {
      if (node.config.topicId !== undefined && isObject(input.settings) && input.settings.priority === 'transactional') {
        issues.push(issueOf(nodeId, 'config.topicId', 'email_topic_transactional'));
      }
      for (const issue of await checkContent(node.config)) issues.push(contentIssue(nodeId, issue));
    }
    if (node.type === 'wait' && node.config.kind === 'until_time') {
      const zone = node.config.defaultTimezone;
      if (zone !== undefined && !isTimeZone(zone)) issues.push(issueOf(nodeId, 'config.defaultTimezone', 'wait_bad_timezone', { zone }));
      const quiet = node.config.quietHours;
      if (quiet && node.config.hour !== undefined && inQuietHours(node.config.hour, quiet)) issues.push(issueOf(nodeId, 'config.hour', 'wait_in_quiet_hours'));
      if (quiet && quiet.start === quiet.end) issues.push(issueOf(nodeId, 'config.quietHours', 'wait_quiet_hours_empty'));
    }
    if (node.type === 'action' && node.config.kind === 'webhook') {
      try {
        // A trailing dot is the same host (LOCALHOST. is localhost).
        const host = new URL(node.config.url).hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
        if (ipaddr.isValid(host) && !isPublicAddress(host)) issues.push(issueOf(nodeId, 'config.url', 'webhook_private_address', { host }));
        if (host === 'localhost' || host.endsWith('.localhost')) issues.push(issueOf(nodeId, 'config.url', 'webhook_private_address', { host: 'localhost' }));
      } catch {
        issues.push(issueOf(nodeId, 'config.url', 'webhook_bad_url'));
      }
    }
    if (node.type === 'split') {
      const total = node.config.variants.reduce((sum, v) => sum + v.weight, 0);
      if (total !== 100) issues.push(issueOf(nodeId, 'config.variants', 'split_weights_total', { total }));
      const variantIds = node.config.variants.map((v) => v.id);
      if (new Set(variantIds).size !== variantIds.length) issues.push(issueOf(nodeId, 'config.variants', 'split_duplicate_variant'));
      if (node.config.autoWinner?.metric === 'conversion' && !(isObject(input.settings) && input.settings.goal !== undefined)) {
        issues.push(issueOf(nodeId, 'config.autoWinner.metric', 'split_conversion_needs_goal'));
      }
    }
    if (node.type === 'condition') {
      const branchIds = node.config.branches.map((b) => b.id);
      if (new Set(branchIds).size !== branchIds.length) issues.push(issueOf(nodeId, 'config.branches', 'condition_duplicate_branch'));
      if (branchIds.includes(DEFAULT_HANDLE)) issues.push(issueOf(nodeId, 'config.branches', 'condition_reserved_default'));
    }
    valid.set(nodeId, node);
  }

  // 2. Entry and triggers.
  const entryId = typeof input.entryNodeId === 'string' ? input.entryNodeId : null;
  if (entryId !== null && !ids.has(entryId)) issues.push(issueOf(null, 'entryNodeId', 'entry_unknown_node'));
  const entry = entryId ? valid.get(entryId) : undefined;
  if (entry && entry.type !== 'trigger') issues.push(issueOf(entry.id, 'type', 'entry_not_trigger'));
  for (const node of valid.values()) {
    if (node.type === 'trigger' && node.id !== entryId) issues.push(issueOf(node.id, 'type', 'extra_trigger'));
  }

  // 3. Edges: known ends, allowed handles, one edge per handle.
  const edgeCheck = validatorFor(CampaignEdge);
  const out = new Map<string, Map<string, string>>();
  for (const [index, edge] of (input.edges as unknown[]).entries()) {
    if (!edgeCheck(edge)) {
      issues.push(issueOf(null, `edges.${index}`, 'edge_bad'));
      continue;
    }
    const e = edge as { from: string; to: string; handle?: string };
    if (!ids.has(e.from)) issues.push(issueOf(null, `edges.${index}.from`, 'edge_unknown_step'));
    if (!ids.has(e.to)) issues.push(issueOf(ids.has(e.from) ? e.from : null, `edges.${index}.to`, 'edge_unknown_step'));
    if (!ids.has(e.from) || !ids.has(e.to)) continue;
    const handle = handleOf(e);
    const from = valid.get(e.from);
    if (!from) {
      // The node's own config is invalid (already reported); keep the edge for reachability.
      const handles = out.get(e.from) ?? new Map<string, string>();
      handles.set(handle, e.to);
      out.set(e.from, handles);
      continue;
    }
    const { allowed } = handlesOf(from);
    if (!allowed.includes(handle)) {
      issues.push(allowed.length === 0 ? issueOf(from.id, 'edges', 'edge_from_exit') : issueOf(from.id, 'edges', 'edge_unknown_path', { handle, choices: allowed.join(', ') }));
      continue;
    }
    let handles = out.get(from.id);
    if (!handles) {
      handles = new Map();
      out.set(from.id, handles);
    }
    if (handles.has(handle)) issues.push(issueOf(from.id, 'edges', 'edge_duplicate_path', { handle }));
    handles.set(handle, e.to);
  }
  for (const node of valid.values()) {
    for (const handle of handlesOf(node).required) {
      if (!out.get(node.id)?.has(handle)) {
        const code = handle === DEFAULT_HANDLE ? 'default_not_connected' : handle === NEXT_HANDLE ? 'next_not_connected' : handle === TIMEOUT_HANDLE ? 'timeout_not_connected' : 'path_not_connected';
        issues.push(issueOf(node.id, `edges.${handle}`, code, { handle }));
      }
    }
    if (node.type === 'condition') {
      for (const [b, branch] of node.config.branches.entries()) {
        for (const target of emailRuleNodeIds(branch.match as RuleGroup)) {
          if (valid.get(target)?.type !== 'email') issues.push(issueOf(node.id, `config.branches.${b}.match`, 'condition_not_email_step', { target }));
        }
      }
    }
  }

  // 4. Reachability from the entry.
  if (entry) {
    const reached = new Set<string>([entry.id]);
    const queue = [entry.id];
    while (queue.length > 0) {
      const id = queue.shift()!;
      for (const to of out.get(id)?.values() ?? []) {
        if (!reached.has(to)) {
          reached.add(to);
          queue.push(to);
        }
      }
    }
    for (const id of ids) if (!reached.has(id)) issues.push(issueOf(id, 'id', 'node_unreachable'));
  }

  // 5. A loop must pass through a wait of at least one second, or a contact would spin forever.
  const isPause = (id: string): boolean => {
    const node = valid.get(id);
    return node?.type === 'wait' && !(node.config.kind === 'duration' && node.config.seconds === 0);
  };
  const state = new Map<string, 'visiting' | 'done'>();
  const reportedCycle = new Set<string>();
  const visit = (id: string, path: string[]): void => {
    state.set(id, 'visiting');
    for (const to of out.get(id)?.values() ?? []) {
      if (isPause(to)) continue;
      if (state.get(to) === 'visiting') {
        const cycle = path.slice(path.indexOf(to));
        const key = [...cycle].sort().join(',');
        if (!reportedCycle.has(key)) {
          reportedCycle.add(key);
          issues.push(issueOf(to, 'edges', 'loop_without_wait', { loop: [...cycle, to].join(' → ') }));
        }
      } else if (!state.has(to)) visit(to, [...path, to]);
    }
    state.set(id, 'done');
  };
  for (const id of valid.keys()) if (!state.has(id) && !isPause(id)) visit(id, [id]);

  return issues;
}

/** An email content problem (render.ts) in words. */
function contentIssue(nodeId: string, issue: { field: string; line: number | null; message: string }): DefinitionIssue {
  const field = `config.${issue.field}`;
  const label = fieldLabel(field);
  const line = issue.line ?? '';
  const variable = /^unknown variable "([^"]+)"/.exec(issue.message)?.[1];
  if (variable !== undefined) return issueOf(nodeId, field, 'email_unknown_variable', { label, variable, line });
  if (issue.message === 'must not be empty') return issueOf(nodeId, field, 'field_empty', { label });
  return issueOf(nodeId, field, 'email_content', { label, line, reason: issue.message.replace(/\.$/, '') });
}

/** Narrows a definition that `validateDefinition` accepted. */
export function asDefinition(input: unknown): CampaignDefinition {
  return input as CampaignDefinition;
}
