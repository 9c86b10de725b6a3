/**
 * Guardian rules: list, read, create, update, delete — validated against the signal catalog
 * (signal known, threshold sane for its unit, window 1 min–30 days, volume, cooldown, scope,
 * channels of this workspace) and audited. Disabling or deleting a rule resolves its open alert.
 * The default rules every workspace starts with are defaults.ts.
 */
import type { Database, Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { isSignalKey, MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, SIGNALS, THRESHOLD_MAX } from './signal-catalog.schemas.js';
import type { RuleInput, RulePatchInput, RuleView } from './guardian.schemas.js';
import { resolveOpenAlertOfRule } from './alerts.js';

export interface GuardianDeps {
  db: Database;
  clock: Clock;
}

export const MAX_COOLDOWN_SECONDS = 7 * 86_400;
export const MAX_MIN_VOLUME = 100_000_000;

export interface RuleRow {
  id: string;
  workspace_id: string;
  name: string;
  signal: string;
  scope: Record<string, unknown>;
  comparison: '>' | '>=' | '<' | '<=';
  threshold: number;
  window_seconds: number;
  min_volume: number;
  severity: 'low' | 'medium' | 'high' | 'critical';
  channel_ids: string[];
  cooldown_seconds: number;
  enabled: boolean;
  default_key: string | null;
  next_eval_at: Date;
  last_evaluated_at: Date | null;
  last_value: number | null;
  last_volume: number | null;
  created_at: Date;
  updated_at: Date;
}

export const RULE_COLUMNS = `r.id, r.workspace_id, r.name, r.signal, r.scope, r.comparison, r.threshold, r.window_seconds, r.min_volume, r.severity, r.channel_ids,
  r.cooldown_seconds, r.enabled, r.default_key, s.next_eval_at, s.last_evaluated_at, s.last_value, s.last_volume, r.created_at, r.updated_at`;
/** A rule with the evaluator's state of it (migration 112: a trigger keeps one state row per rule). */
export const RULE_FROM = 'guardian_rules r JOIN guardian_rule_state s ON s.rule_id = r.id';

async function readRuleRow(q: Queryable, workspaceId: string, id: string, lock = false): Promise<RuleRow | undefined> {
  const { rows } = await q.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM ${RULE_FROM} WHERE r.workspace_id = $1 AND r.id = $2${lock ? ' FOR UPDATE OF r' : ''}`, [workspaceId, id]);
  return rows[0];
}

export function ruleView(row: RuleRow): RuleView {
  return {
    id: row.id,
    name: row.name,
    signal: row.signal,
    scope: row.scope,
    comparison: row.comparison,
    threshold: row.threshold,
    windowSeconds: row.window_seconds,
    minVolume: row.min_volume,
    severity: row.severity,
    channelIds: row.channel_ids,
    cooldownSeconds: row.cooldown_seconds,
    enabled: row.enabled,
    defaultKey: row.default_key,
    nextEvalAt: row.next_eval_at.toISOString(),
    lastEvaluatedAt: row.last_evaluated_at?.toISOString() ?? null,
    lastValue: row.last_value,
    lastVolume: row.last_volume,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

type Complete = Required<Omit<RuleInput, 'scope'>> & { scope: Record<string, unknown> };

/** Checks a complete rule; throws the first problem as a 4xx with its code and the field. */
async function validateRule(q: Queryable, workspaceId: string, rule: Complete): Promise<void> {
  const at = (field: string, message: string) => [{ path: `/${field}`, message }];
  if (!isSignalKey(rule.signal)) {
    const message = `There is no signal "${rule.signal}"; GET /api/guardian/signals lists them`;
    throw new AppError('RULE_SIGNAL_UNKNOWN', message, at('signal', message));
  }
  const info = SIGNALS[rule.signal];
  const max = THRESHOLD_MAX[info.unit];
  if (!Number.isFinite(rule.threshold) || rule.threshold < 0 || rule.threshold > max) {
    const unit = info.unit === 'percent' ? 'a percentage from 0 to 100' : info.unit === 'seconds' ? `a number of seconds from 0 to ${max}` : `a count from 0 to ${max}`;
    const message = `${info.label} is measured in ${info.unit}: the threshold must be ${unit}`;
    throw new AppError('RULE_THRESHOLD_INVALID', message, at('threshold', message));
  }
  if (rule.windowSeconds < MIN_WINDOW_SECONDS || rule.windowSeconds > MAX_WINDOW_SECONDS) {
    const message = `The window must be between 1 minute (${MIN_WINDOW_SECONDS} s) and 30 days (${MAX_WINDOW_SECONDS} s)`;
    throw new AppError('RULE_WINDOW_INVALID', message, at('windowSeconds', message));
  }
  if (rule.minVolume < 0 || rule.minVolume > MAX_MIN_VOLUME) {
    const message = `The minimum volume must be between 0 and ${MAX_MIN_VOLUME}`;
    throw new AppError('RULE_MIN_VOLUME_INVALID', message, at('minVolume', message));
  }
  if (rule.minVolume > 0 && info.volume === null) {
    const message = `${info.label} has no volume to compare with; leave the minimum volume at 0`;
    throw new AppError('RULE_MIN_VOLUME_INVALID', message, at('minVolume', message));
  }
  if (rule.cooldownSeconds < 0 || rule.cooldownSeconds > MAX_COOLDOWN_SECONDS) {
    const message = `The cooldown must be between 0 and 7 days (${MAX_COOLDOWN_SECONDS} s)`;
    throw new AppError('RULE_COOLDOWN_INVALID', message, at('cooldownSeconds', message));
  }
  for (const key of Object.keys(rule.scope)) {
    if (!info.scopeKeys.includes(key)) {
      const message = `${info.label} cannot be narrowed by ${key}`;
      throw new AppError('RULE_SCOPE_INVALID', message, at(`scope/${key}`, message));
    }
  }
  if (typeof rule.scope.campaignId === 'string') {
    const found = await q.query('SELECT 1 FROM campaigns WHERE workspace_id = $1 AND id = $2', [workspaceId, rule.scope.campaignId]);
    if (found.rowCount === 0) {
      const message = 'The campaign in scope does not exist in this workspace';
      throw new AppError('RULE_SCOPE_INVALID', message, at('scope/campaignId', message));
    }
  }
  const channels = [...new Set(rule.channelIds)];
  if (channels.length > 0) {
    const found = await q.query<{ id: string }>('SELECT id FROM guardian_channels WHERE workspace_id = $1 AND id = ANY($2::uuid[])', [workspaceId, channels]);
    const known = new Set(found.rows.map((r) => r.id));
    const missing = channels.filter((id) => !known.has(id));
    if (missing.length > 0) {
      const message = `No channel ${missing.join(', ')} in this workspace`;
      throw new AppError('RULE_CHANNEL_UNKNOWN', message, at('channelIds', message));
    }
  }
}

function complete(input: RuleInput): Complete {
  return {
    name: input.name,
    signal: input.signal,
    scope: input.scope ?? {},
    comparison: input.comparison,
    threshold: input.threshold,
    windowSeconds: input.windowSeconds,
    minVolume: input.minVolume ?? 0,
    severity: input.severity,
    channelIds: [...new Set(input.channelIds ?? [])],
    cooldownSeconds: input.cooldownSeconds ?? 3600,
    enabled: input.enabled ?? true,
  };
}

export async function listRules(q: Queryable, workspaceId: string): Promise<RuleView[]> {
  const { rows } = await q.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM ${RULE_FROM} WHERE r.workspace_id = $1 ORDER BY r.created_at, r.id`, [workspaceId]);
  return rows.map(ruleView);
}

export async function getRule(q: Queryable, workspaceId: string, id: string): Promise<RuleView> {
  const row = await readRuleRow(q, workspaceId, id);
  if (!row) throw notFound('Rule');
  return ruleView(row);
}

export async function createRule(deps: GuardianDeps, workspaceId: string, actor: Actor, input: RuleInput): Promise<RuleView> {
  const rule = complete(input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await validateRule(tx, workspaceId, rule);
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO guardian_rules (workspace_id, name, signal, scope, comparison, threshold, window_seconds, min_volume, severity, channel_ids, cooldown_seconds, enabled, next_eval_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::uuid[], $11, $12, $13, $13, $13) RETURNING id`,
      [workspaceId, rule.name, rule.signal, JSON.stringify(rule.scope), rule.comparison, rule.threshold, rule.windowSeconds, rule.minVolume, rule.severity, rule.channelIds, rule.cooldownSeconds, rule.enabled, now],
    );
    const view = ruleView((await readRuleRow(tx, workspaceId, rows[0]!.id))!);
    await recordAudit(tx, { workspaceId, actor, action: 'guardian_rule.create', resourceType: 'guardian_rule', resourceId: view.id, after: auditable(view) });
    return view;
  });
}

function auditable(view: RuleView): Record<string, unknown> {
  const { nextEvalAt: _n, lastEvaluatedAt: _e, lastValue: _v, lastVolume: _vol, createdAt: _c, updatedAt: _u, ...rest } = view;
  return rest;
}

export async function updateRule(deps: GuardianDeps, workspaceId: string, actor: Actor, id: string, patch: RulePatchInput): Promise<RuleView> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const current = await readRuleRow(tx, workspaceId, id, true);
    if (!current) throw notFound('Rule');
    const before = ruleView(current);
    const rule = complete({
      name: patch.name ?? current.name,
      signal: patch.signal ?? current.signal,
      scope: (patch.scope ?? (patch.signal !== undefined && patch.signal !== current.signal ? {} : current.scope)) as RuleInput['scope'],
      comparison: patch.comparison ?? current.comparison,
      threshold: patch.threshold ?? current.threshold,
      windowSeconds: patch.windowSeconds ?? current.window_seconds,
      minVolume: patch.minVolume ?? current.min_volume,
      severity: patch.severity ?? current.severity,
      channelIds: patch.channelIds ?? current.channel_ids,
      cooldownSeconds: patch.cooldownSeconds ?? current.cooldown_seconds,
      enabled: patch.enabled ?? current.enabled,
    });
    await validateRule(tx, workspaceId, rule);
    // The changed rule is evaluated at the next tick rather than after the rest of the interval.
    await tx.query(
      `UPDATE guardian_rules SET name = $3, signal = $4, scope = $5, comparison = $6, threshold = $7, window_seconds = $8, min_volume = $9,
              severity = $10, channel_ids = $11::uuid[], cooldown_seconds = $12, enabled = $13, next_eval_at = $14, updated_at = $14
        WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, rule.name, rule.signal, JSON.stringify(rule.scope), rule.comparison, rule.threshold, rule.windowSeconds, rule.minVolume, rule.severity, rule.channelIds, rule.cooldownSeconds, rule.enabled, now],
    );
    const view = ruleView((await readRuleRow(tx, workspaceId, id))!);
    if (!rule.enabled && current.enabled) await resolveOpenAlertOfRule(tx, workspaceId, id, actor, now);
    await recordAudit(tx, { workspaceId, actor, action: 'guardian_rule.update', resourceType: 'guardian_rule', resourceId: id, before: auditable(before), after: auditable(view) });
    return view;
  });
}

export async function deleteRule(deps: GuardianDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const row = await readRuleRow(tx, workspaceId, id, true);
    if (!row) throw notFound('Rule');
    await resolveOpenAlertOfRule(tx, workspaceId, id, actor, now);
    await tx.query('DELETE FROM guardian_rules WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    await recordAudit(tx, { workspaceId, actor, action: 'guardian_rule.delete', resourceType: 'guardian_rule', resourceId: id, before: auditable(ruleView(row)) });
  });
}
