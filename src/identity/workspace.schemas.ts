/**
 * Request and response shapes of the workspace settings routes (workspace.routes.ts): the
 * workspace's name and time zone, which digests, broadcasts and reports read (core/workspace.ts).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

/** `GET`/`PATCH /api/workspace`. `timeZone` is the stored IANA zone, `UTC` when none was set. */
export const WorkspaceSettings = Type.Object({
  id: Type.String(),
  name: Type.String(),
  organizationId: Type.String(),
  timeZone: Type.String({ description: 'IANA time zone name, e.g. "Europe/Berlin"; UTC when never set' }),
});
export const WorkspacePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'An IANA time zone name; an unknown one is 400 WORKSPACE_TIME_ZONE_INVALID' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
