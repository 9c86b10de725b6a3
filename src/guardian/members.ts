/**
 * Guardian roles of members: the caller's own role and capabilities, every member's effective
 * Guardian role (for the Members page), and an owner's override of
 * a member's Guardian role (memberships.guardian_role; null returns to the default mapping from
 * the workspace role, src/guardian/roles.ts). Overrides are audited.
 */
import type { Queryable } from '../db/database.js';
import { notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { isRole, type Role } from '../identity/permissions.js';
import type { GuardianDeps } from './rules.js';
import { defaultGuardianRole, guardianCapabilities, guardianRoleOf, isGuardianRole, type GuardianCaller, type GuardianRole } from './roles.js';

export async function guardianMe(q: Queryable, caller: GuardianCaller) {
  const role = await guardianRoleOf(q, caller);
  return { role, workspaceRole: caller.role, overridden: role !== defaultGuardianRole(caller.role), capabilities: guardianCapabilities(role) };
}

/** Every member's effective Guardian role: the override when one is set, else the default from the workspace role. */
export async function listMemberGuardianRoles(q: Queryable, workspaceId: string) {
  const { rows } = await q.query<{ user_id: string; role: string; guardian_role: string | null }>(
    'SELECT user_id, role, guardian_role FROM memberships WHERE workspace_id = $1 ORDER BY user_id',
    [workspaceId],
  );
  return rows.filter((row) => isRole(row.role)).map((row) => {
    const workspaceRole = row.role as Role;
    const override = isGuardianRole(row.guardian_role) ? row.guardian_role : null;
    return { userId: row.user_id, workspaceRole, guardianRole: override ?? defaultGuardianRole(workspaceRole), defaultRole: defaultGuardianRole(workspaceRole), overridden: override !== null };
  });
}

export async function setMemberGuardianRole(deps: GuardianDeps, workspaceId: string, actor: Actor, userId: string, role: GuardianRole | null) {
  return deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ role: string; guardian_role: string | null }>('SELECT role, guardian_role FROM memberships WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE', [workspaceId, userId]);
    const member = rows[0];
    if (!member || !isRole(member.role)) throw notFound('Member');
    await tx.query('UPDATE memberships SET guardian_role = $3 WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId, role]);
    await recordAudit(tx, { workspaceId, actor, action: 'guardian_role.set', resourceType: 'membership', resourceId: userId, before: { guardianRole: member.guardian_role }, after: { guardianRole: role } });
    const effective = role ?? defaultGuardianRole(member.role);
    return { userId, workspaceRole: member.role, guardianRole: isGuardianRole(effective) ? effective : defaultGuardianRole(member.role), defaultRole: defaultGuardianRole(member.role), overridden: role !== null };
  });
}
