/**
 * The workspace's own settings: its name and its time zone (workspaces.settings.timeZone, read by
 * every domain through core/workspace.ts). Owners and admins change them (`settings:write`); each
 * change is audited with what it was before.
 */
import type { Static } from '@sinclair/typebox';
import type { Queryable } from '../db/database.js';
import { isTimeZone } from '../core/workspace.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from './audit.js';
import type { IdentityDeps } from './identity.js';
import type { WorkspacePatch, WorkspaceSettings } from './workspace.schemas.js';

export type WorkspaceSettingsView = Static<typeof WorkspaceSettings>;
export type WorkspaceSettingsPatch = Static<typeof WorkspacePatch>;

interface Row {
  id: string;
  name: string;
  organization_id: string;
  zone: string | null;
}

function view(row: Row): WorkspaceSettingsView {
  return { id: row.id, name: row.name, organizationId: row.organization_id, timeZone: row.zone && isTimeZone(row.zone) ? row.zone : 'UTC' };
}

export async function getWorkspaceSettings(q: Queryable, workspaceId: string): Promise<WorkspaceSettingsView> {
  const { rows } = await q.query<Row>(`SELECT id, name, organization_id, settings->>'timeZone' AS zone FROM workspaces WHERE id = $1`, [workspaceId]);
  if (!rows[0]) throw notFound('Workspace');
  return view(rows[0]);
}

/** Renames the workspace and/or sets its time zone; an unknown zone is refused before anything changes. */
export async function updateWorkspaceSettings({ db }: IdentityDeps, workspaceId: string, actor: Actor, patch: WorkspaceSettingsPatch): Promise<WorkspaceSettingsView> {
  const name = patch.name?.trim();
  if (patch.name !== undefined && !name) throw new AppError('VALIDATION_FAILED', 'The workspace needs a name', { field: 'name' });
  if (patch.timeZone !== undefined && !isTimeZone(patch.timeZone)) {
    throw new AppError('WORKSPACE_TIME_ZONE_INVALID', `"${patch.timeZone}" is not a time zone this server knows; use an IANA name such as "Europe/Berlin" or "America/New_York"`, { field: 'timeZone' });
  }
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<Row>(`SELECT id, name, organization_id, settings->>'timeZone' AS zone FROM workspaces WHERE id = $1 FOR UPDATE`, [workspaceId]);
    if (!rows[0]) throw notFound('Workspace');
    const before = view(rows[0]);
    const { rows: updated } = await tx.query<Row>(
      `UPDATE workspaces
          SET name = COALESCE($2, name),
              settings = CASE WHEN $3::text IS NULL THEN settings ELSE jsonb_set(settings, '{timeZone}', to_jsonb($3::text)) END
        WHERE id = $1
        RETURNING id, name, organization_id, settings->>'timeZone' AS zone`,
      [workspaceId, name ?? null, patch.timeZone ?? null],
    );
    const after = view(updated[0]!);
    const changed = (['name', 'timeZone'] as const).filter((key) => before[key] !== after[key]);
    if (changed.length > 0) {
      await recordAudit(tx, {
        workspaceId,
        actor,
        action: 'workspace.update',
        resourceType: 'workspace',
        resourceId: workspaceId,
        before: Object.fromEntries(changed.map((key) => [key, before[key]])),
        after: Object.fromEntries(changed.map((key) => [key, after[key]])),
      });
    }
    return after;
  });
}
