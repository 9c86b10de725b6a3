/**
 * Request and response shapes of the invitation routes (invitations.routes.ts): the pending
 * invitation, the preview a link's holder sees, and the bodies that carry a link's token.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';
import { Email } from '../http/schemas.js';
import { InvitationToken, Password, RoleSchema, User, Workspace } from './identity.schemas.js';

/** A pending invitation (`GET /api/invitations`); `expired` ones stay until resent or revoked. */
export const Invitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  status: Type.Union([Type.Literal('pending'), Type.Literal('expired')]),
  invitedBy: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export const InvitationList = Type.Object({ invitations: Type.Array(Invitation) });
/** What a valid invitation link shows its holder (`POST /api/invitations/accept-info`). */
export const InvitationPreview = Type.Object({
  email: Type.String(),
  role: RoleSchema,
  workspace: Type.Object({ id: Type.String(), name: Type.String() }),
  invitedBy: Type.Union([Type.Object({ name: Type.String() }), Type.Null()]),
  expiresAt: Type.String({ format: 'date-time' }),
});
export const InviteBody = Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false });
export const TokenBody = Type.Object({ token: InvitationToken }, { additionalProperties: false });
export const InvitationSignUpBody = Type.Object({ token: InvitationToken, name: Type.String({ minLength: 1, maxLength: 200 }), password: Password }, { additionalProperties: false });
export const AcceptAnswer = Type.Object({ workspace: Workspace, role: RoleSchema });
export const InvitationSignUpAnswer = Type.Object({ user: User, workspace: Workspace, role: RoleSchema, csrfToken: Type.String() });
