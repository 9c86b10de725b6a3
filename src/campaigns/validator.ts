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

export interface DefinitionIssue {
  /** The node the problem is on; null for the definition as a whole (entry, settings). */
  nodeId: string | null;
  field: string;
  message: string;
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

function ajvIssues(nodeId: string | null, prefix: string, errors: ErrorObject[] | null | undefined): DefinitionIssue[] {
  const seen = new Set<string>();
  const out: DefinitionIssue[] = [];
  for (const e of errors ?? []) {
    // Union branches produce one error per branch tried; the summary line says nothing more.
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const path = e.instancePath.split('/').filter(Boolean).join('.');
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    const field = [prefix, path].filter(Boolean).join('.');
    const message = `${e.message ?? 'is invalid'}${extra}`;
    const key = `${field}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ nodeId, field, message });
  }
  return out;
}

/** Kind-discriminated configs are checked against the variant their `kind` names, for precise errors. */
function checkConfig(node: { id: string; type: NodeType; config: unknown }): DefinitionIssue[] {
  const schema = NODE_CONFIG_SCHEMAS[node.type];
  if (!isObject(node.config)) return [{ nodeId: node.id, field: 'config', message: 'must be an object' }];
  const single = (schema as { properties?: { kind?: { const?: string } } }).properties?.kind?.const;
  const variants = (schema as { anyOf?: TSchema[] }).anyOf ?? (single === undefined ? undefined : [schema]);
  if (variants) {
    const kinds = variants.map((v) => (v as unknown as { properties: { kind: { const: string } } }).properties.kind.const);
    const variant = variants[kinds.indexOf(String(node.config.kind))];
    if (!variant) return [{ nodeId: node.id, field: 'config.kind', message: `must be one of ${kinds.join(', ')}` }];
    const fn = validatorFor(variant);
    return fn(node.config) ? [] : ajvIssues(node.id, 'config', fn.errors);
  }
  const fn = validatorFor(schema);
  return fn(node.config) ? [] : ajvIssues(node.id, 'config', fn.errors);
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
  if (!isObject(input)) return [{ nodeId: null, field: 'definition', message: 'must be an object with entryNodeId, nodes and edges' }];
  for (const key of Object.keys(input)) {
    if (!['entryNodeId', 'nodes', 'edges', 'settings'].includes(key)) issues.push({ nodeId: null, field: key, message: 'is not a definition field' });
  }
  if (typeof input.entryNodeId !== 'string') issues.push({ nodeId: null, field: 'entryNodeId', message: 'must be a node id' });
  if (!Array.isArray(input.nodes)) issues.push({ nodeId: null, field: 'nodes', message: 'must be an array' });
  if (!Array.isArray(input.edges)) issues.push({ nodeId: null, field: 'edges', message: 'must be an array' });
  if (input.settings !== undefined) {
    const fn = validatorFor(CampaignSettings);
    if (!fn(input.settings)) issues.push(...ajvIssues(null, 'settings', fn.errors));
  }
  if (!Array.isArray(input.nodes) || !Array.isArray(input.edges)) return issues;

  // 1. Each node on its own: id, known type, config shape, email content.
  const valid = new Map<string, DefinitionNode>();
  const ids = new Set<string>();
  for (const [index, raw] of (input.nodes as unknown[]).entries()) {
    if (!isObject(raw) || typeof raw.id !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(raw.id)) {
      issues.push({ nodeId: null, field: `nodes.${index}.id`, message: 'must be 1–100 letters, digits, _ . -' });
      continue;
    }
    const nodeId = raw.id;
    if (ids.has(nodeId)) {
      issues.push({ nodeId, field: 'id', message: 'is used by another node' });
      continue;
    }
    ids.add(nodeId);
    for (const key of Object.keys(raw)) {
      if (!['id', 'type', 'name', 'position', 'notes', 'config'].includes(key)) issues.push({ nodeId, field: key, message: 'is not a node field' });
    }
    if (raw.notes !== undefined && (typeof raw.notes !== 'string' || raw.notes.length > 5000)) issues.push({ nodeId, field: 'notes', message: 'must be text of at most 5,000 characters' });
    if (!(NODE_TYPES as readonly unknown[]).includes(raw.type)) {
      issues.push({ nodeId, field: 'type', message: `unknown node type ${JSON.stringify(raw.type)}; use one of ${NODE_TYPES.join(', ')}` });
      continue;
    }
    const configIssues = checkConfig({ id: nodeId, type: raw.type as NodeType, config: raw.config });
    issues.push(...configIssues);
    if (configIssues.length > 0) continue;
    const node = raw as unknown as DefinitionNode;
    if (node.type === 'email') {
      if (node.config.topicId !== undefined && isObject(input.settings) && input.settings.priority === 'transactional') {
        issues.push({ nodeId, field: 'config.topicId', message: 'transactional email has no subscription topic: remove it or change the campaign priority' });
      }
      for (const issue of await checkContent(node.config)) {
        issues.push({ nodeId, field: `config.${issue.field}`, message: issue.line === null ? issue.message : `line ${issue.line}: ${issue.message}` });
      }
    }
    if (node.type === 'wait' && node.config.kind === 'until_time') {
      const zone = node.config.defaultTimezone;
      if (zone !== undefined && !isTimeZone(zone)) issues.push({ nodeId, field: 'config.defaultTimezone', message: `"${zone}" is not a time zone` });
      const quiet = node.config.quietHours;
      if (quiet && node.config.hour !== undefined && inQuietHours(node.config.hour, quiet)) issues.push({ nodeId, field: 'config.hour', message: 'falls within the quiet hours' });
      if (quiet && quiet.start === quiet.end) issues.push({ nodeId, field: 'config.quietHours', message: 'start and end must differ' });
    }
    if (node.type === 'action' && node.config.kind === 'webhook') {
      try {
        // A trailing dot is the same host (LOCALHOST. is localhost).
        const host = new URL(node.config.url).hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
        if (ipaddr.isValid(host) && !isPublicAddress(host)) issues.push({ nodeId, field: 'config.url', message: `${host} is not a public address` });
        if (host === 'localhost' || host.endsWith('.localhost')) issues.push({ nodeId, field: 'config.url', message: 'localhost is not allowed' });
      } catch {
        issues.push({ nodeId, field: 'config.url', message: 'is not a valid URL' });
      }
    }
    if (node.type === 'split') {
      const total = node.config.variants.reduce((sum, v) => sum + v.weight, 0);
      if (total !== 100) issues.push({ nodeId, field: 'config.variants', message: `weights add up to ${total}; they must add up to 100` });
      const variantIds = node.config.variants.map((v) => v.id);
      if (new Set(variantIds).size !== variantIds.length) issues.push({ nodeId, field: 'config.variants', message: 'variant ids must be unique' });
    }
    if (node.type === 'condition') {
      const branchIds = node.config.branches.map((b) => b.id);
      if (new Set(branchIds).size !== branchIds.length) issues.push({ nodeId, field: 'config.branches', message: 'branch ids must be unique' });
      if (branchIds.includes(DEFAULT_HANDLE)) issues.push({ nodeId, field: 'config.branches', message: `"${DEFAULT_HANDLE}" is reserved for the default branch` });
    }
    valid.set(nodeId, node);
  }

  // 2. Entry and triggers.
  const entryId = typeof input.entryNodeId === 'string' ? input.entryNodeId : null;
  if (entryId !== null && !ids.has(entryId)) issues.push({ nodeId: null, field: 'entryNodeId', message: `no node has id ${JSON.stringify(entryId)}` });
  const entry = entryId ? valid.get(entryId) : undefined;
  if (entry && entry.type !== 'trigger') issues.push({ nodeId: entry.id, field: 'type', message: 'the entry node must be a trigger' });
  for (const node of valid.values()) {
    if (node.type === 'trigger' && node.id !== entryId) issues.push({ nodeId: node.id, field: 'type', message: 'only the entry node may be a trigger' });
  }

  // 3. Edges: known ends, allowed handles, one edge per handle.
  const edgeCheck = validatorFor(CampaignEdge);
  const out = new Map<string, Map<string, string>>();
  for (const [index, edge] of (input.edges as unknown[]).entries()) {
    if (!edgeCheck(edge)) {
      issues.push(...ajvIssues(null, `edges.${index}`, edgeCheck.errors));
      continue;
    }
    const e = edge as { from: string; to: string; handle?: string };
    if (!ids.has(e.from)) issues.push({ nodeId: null, field: `edges.${index}.from`, message: `no node has id ${JSON.stringify(e.from)}` });
    if (!ids.has(e.to)) issues.push({ nodeId: null, field: `edges.${index}.to`, message: `no node has id ${JSON.stringify(e.to)}` });
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
      issues.push({ nodeId: from.id, field: 'edges', message: allowed.length === 0 ? `an ${from.type} node has no outgoing edges` : `handle "${handle}" is not one of ${allowed.join(', ')}` });
      continue;
    }
    let handles = out.get(from.id);
    if (!handles) {
      handles = new Map();
      out.set(from.id, handles);
    }
    if (handles.has(handle)) issues.push({ nodeId: from.id, field: 'edges', message: `handle "${handle}" has more than one edge` });
    handles.set(handle, e.to);
  }
  for (const node of valid.values()) {
    for (const handle of handlesOf(node).required) {
      if (!out.get(node.id)?.has(handle)) {
        const what = handle === DEFAULT_HANDLE ? 'the default branch' : handle === NEXT_HANDLE ? 'its next step' : `branch "${handle}"`;
        issues.push({ nodeId: node.id, field: 'edges', message: `${what} is not connected` });
      }
    }
    if (node.type === 'condition') {
      for (const [b, branch] of node.config.branches.entries()) {
        for (const target of emailRuleNodeIds(branch.match as RuleGroup)) {
          if (valid.get(target)?.type !== 'email') issues.push({ nodeId: node.id, field: `config.branches.${b}.match`, message: `${JSON.stringify(target)} is not an email node` });
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
    for (const id of ids) if (!reached.has(id)) issues.push({ nodeId: id, field: 'id', message: 'cannot be reached from the entry node' });
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
          issues.push({ nodeId: to, field: 'edges', message: `loop ${[...cycle, to].join(' → ')} has no wait; add a wait to it` });
        }
      } else if (!state.has(to)) visit(to, [...path, to]);
    }
    state.set(id, 'done');
  };
  for (const id of valid.keys()) if (!state.has(id) && !isPause(id)) visit(id, [id]);

  return issues;
}

/** Narrows a definition that `validateDefinition` accepted. */
export function asDefinition(input: unknown): CampaignDefinition {
  return input as CampaignDefinition;
}
