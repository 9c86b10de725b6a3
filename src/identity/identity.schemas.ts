/**
 * Request and response shapes of the identity routes (identity.routes.ts): sign-up and log-in,
 * the caller (`Me`), API keys and members, and the workspace roles they carry.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Email, LiteralUnion } from '../http/schemas.js';

/** Workspace roles, persisted strings: never rename them (permissions.ts holds the matrix). */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = LiteralUnion(ROLES);
/** The roles an API key may have: an owner's power is not delegated to a key. */
export const KeyRole = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);
export const Password = Type.String({ minLength: 10, maxLength: 200, description: 'At least 10 characters' });

// randomToken(32): 43 base64url characters; a little slack, nothing else.
export const InvitationToken = Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' });

export const User = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String() });
export const Workspace = Type.Object({ id: Type.String(), name: Type.String(), organizationId: Type.String() });

export const SignUpBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    organizationName: Type.String({ minLength: 1, maxLength: 200 }),
    workspaceName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export const SignUpAnswer = Type.Object({ user: User, workspace: Workspace, csrfToken: Type.String() });
export const LogInBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 200 }),
    invitationToken: Type.Optional(InvitationToken),
  },
  { additionalProperties: false },
);
export const LogInAnswer = Type.Object({ user: User, csrfToken: Type.String() });
export const SwitchWorkspaceBody = Type.Object({ workspaceId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** `GET /api/auth/me`: the caller, its workspace, role and permissions. */
export const Me = Type.Object({
  user: Type.Union([User, Type.Null()]),
  apiKeyId: Type.Union([Type.String(), Type.Null()]),
  workspace: Workspace,
  role: RoleSchema,
  permissions: Type.Array(Type.String()),
  workspaces: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), organizationId: Type.String(), role: RoleSchema })),
  csrfToken: Type.Union([Type.String(), Type.Null()]),
});
export type MeAnswer = Static<typeof Me>;

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  role: RoleSchema,
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const ApiKeyList = Type.Object({ apiKeys: Type.Array(ApiKey) });
export const CreateKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), role: Type.Optional(KeyRole) }, { additionalProperties: false });
/** The created key: `key` is shown this once. */
export const CreatedKey = Type.Object({ apiKey: ApiKey, key: Type.String() });

export const Member = Type.Object({ userId: Type.String(), email: Type.String(), name: Type.String(), role: RoleSchema, joinedAt: Type.String({ format: 'date-time' }) });
export const MemberList = Type.Object({ members: Type.Array(Member) });
export const UserParams = Type.Object({ userId: Type.String({ format: 'uuid' }) });
export const MemberRoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });
