/**
 * Guardian roles: who may configure alerting, who may act on alerts and read delivery logs, and
 * who may only look. A member's Guardian role follows their workspace role unless an owner has
 * overridden it (memberships.guardian_role); an API key's follows the key's role.
 *
 *   capability        guardian_admin  analyst  viewer
 *   alerts:read             yes          yes     yes    alerts, incidents, rules, channels (no secrets)
 *   alerts:operate          yes          yes     no     acknowledge, resolve, in-app notifications
 *   logs:read               yes          yes     no     notification delivery logs
 *   config:write            yes          no      no     rules, channels, digests, test sends
 *
 * Routes declare `guardian:read` (every workspace role holds it) for the auth hook, then call
 * `requireGuardian` for the capability they need.
 */
import type { Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import type { Role } from '../identity/permissions.js';

export const GUARDIAN_ROLES = ['guardian_admin', 'analyst', 'viewer'] as const;
export type GuardianRole = (typeof GUARDIAN_ROLES)[number];
export type GuardianCapability = 'alerts:read' | 'alerts:operate' | 'logs:read' | 'config:write';

const CAPABILITIES: Record<GuardianRole, ReadonlySet<GuardianCapability>> = {
  guardian_admin: new Set(['alerts:read', 'alerts:operate', 'logs:read', 'config:write']),
  analyst: new Set(['alerts:read', 'alerts:operate', 'logs:read']),
  viewer: new Set(['alerts:read']),
};

export function isGuardianRole(value: unknown): value is GuardianRole {
  return typeof value === 'string' && (GUARDIAN_ROLES as readonly string[]).includes(value);
}

/** The Guardian role a workspace role maps to when no override is set. */
export function defaultGuardianRole(role: Role): GuardianRole {
  if (role === 'owner' || role === 'admin') return 'guardian_admin';
  if (role === 'member') return 'analyst';
  return 'viewer';
}

export function guardianCan(role: GuardianRole, capability: GuardianCapability): boolean {
  return CAPABILITIES[role].has(capability);
}

export function guardianCapabilities(role: GuardianRole): GuardianCapability[] {
  return [...CAPABILITIES[role]].sort();
}

/** The caller as the auth hook resolved it (a subset of AuthContext). */
export interface GuardianCaller {
  workspaceId: string;
  role: Role;
  userId: string | null;
}

/** The caller's effective Guardian role: the owner's override for a member, else the default. */
export async function guardianRoleOf(q: Queryable, caller: GuardianCaller): Promise<GuardianRole> {
  if (caller.userId === null) return defaultGuardianRole(caller.role);
  const { rows } = await q.query<{ guardian_role: string | null }>(
    'SELECT guardian_role FROM memberships WHERE workspace_id = $1 AND user_id = $2',
    [caller.workspaceId, caller.userId],
  );
  const override = rows[0]?.guardian_role;
  return isGuardianRole(override) ? override : defaultGuardianRole(caller.role);
}

/** Throws FORBIDDEN unless the caller's Guardian role holds `capability`; returns the role. */
export async function requireGuardian(q: Queryable, caller: GuardianCaller, capability: GuardianCapability): Promise<GuardianRole> {
  const role = await guardianRoleOf(q, caller);
  if (!guardianCan(role, capability)) {
    throw new AppError('FORBIDDEN', `Your Guardian role (${role}) does not allow ${capability}`);
  }
  return role;
}
