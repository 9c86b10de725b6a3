/**
 * The permission matrix: every route names one `resource:action`; a role either holds it or not.
 * Roles are persisted strings: never rename them.
 */
import { ROLES, type Role } from './identity.schemas.js';

export { ROLES, type Role };

export const RESOURCES = [
  'contacts',
  'events',
  'segments',
  'campaigns',
  'templates',
  'messages',
  'providers',
  'api_keys',
  'members',
  'settings',
  'guardian',
  'ai',
  'audit',
] as const;
export type Resource = (typeof RESOURCES)[number];
export type Action = 'read' | 'write';
export type Permission = `${Resource}:${Action}`;

const READ_ALL: Permission[] = RESOURCES.filter((r) => r !== 'api_keys' && r !== 'audit').map((r) => `${r}:read` as const);
const MEMBER_WRITES: Permission[] = [
  'contacts:write',
  'events:write',
  'segments:write',
  'campaigns:write',
  'templates:write',
  'messages:write',
  'ai:write',
];

const MATRIX: Record<Role, ReadonlySet<Permission>> = {
  // Only owners manage API keys and members' roles.
  owner: new Set(RESOURCES.flatMap((r) => [`${r}:read`, `${r}:write`] as Permission[])),
  admin: new Set([
    ...READ_ALL,
    ...MEMBER_WRITES,
    'audit:read',
    'providers:write',
    'settings:write',
    'guardian:write',
  ] as Permission[]),
  member: new Set([...READ_ALL, ...MEMBER_WRITES]),
  viewer: new Set(READ_ALL),
};

export function can(role: Role, permission: Permission): boolean {
  return MATRIX[role].has(permission);
}

export function permissionsOf(role: Role): Permission[] {
  return [...MATRIX[role]].sort();
}

/** Whether `role` grants no more than `ceiling` (roles are ordered owner > admin > member > viewer). */
export function roleWithin(role: Role, ceiling: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(ceiling);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
