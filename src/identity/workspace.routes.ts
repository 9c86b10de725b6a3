/**
 * Workspace settings routes: `GET /api/workspace` (everyone in it) and `PATCH /api/workspace`
 * (owners and admins, `settings:write`): the name and the time zone (shapes in workspace.schemas.ts).
 */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { getWorkspaceSettings, updateWorkspaceSettings } from './workspace-settings.js';
import { WorkspacePatch, WorkspaceSettings } from './workspace.schemas.js';

export function workspaceRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain = { db: deps.db, clock: deps.clock };
  app.get('/workspace', { config: { permission: 'settings:read' }, schema: { tags: ['workspace'], summary: "The workspace's name and time zone", response: { 200: WorkspaceSettings, ...apiErrors() } } }, async (request) =>
    getWorkspaceSettings(deps.db, authOf(request).workspaceId),
  );
  app.patch(
    '/workspace',
    { config: { permission: 'settings:write' }, schema: { tags: ['workspace'], summary: 'Rename the workspace or set its time zone (digests, broadcasts and reports use it); audited', body: WorkspacePatch, response: { 200: WorkspaceSettings, ...apiErrors(400) } } },
    async (request) => updateWorkspaceSettings(domain, authOf(request).workspaceId, actorOf(request), request.body),
  );
}
