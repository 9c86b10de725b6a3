import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, joinByInvitation, signUp, type TestApp } from '../../test/helpers.js';
import { defaultGuardianRole, guardianCan, guardianRoleOf, requireGuardian } from './roles.js';

describe('Guardian roles', () => {
  it('map workspace roles by default and grant capabilities by the matrix', () => {
    expect(defaultGuardianRole('owner')).toBe('guardian_admin');
    expect(defaultGuardianRole('admin')).toBe('guardian_admin');
    expect(defaultGuardianRole('member')).toBe('analyst');
    expect(defaultGuardianRole('viewer')).toBe('viewer');
    expect(guardianCan('guardian_admin', 'config:write')).toBe(true);
    expect(guardianCan('analyst', 'config:write')).toBe(false);
    expect(guardianCan('analyst', 'logs:read')).toBe(true);
    expect(guardianCan('analyst', 'alerts:operate')).toBe(true);
    expect(guardianCan('viewer', 'logs:read')).toBe(false);
    expect(guardianCan('viewer', 'alerts:operate')).toBe(false);
    expect(guardianCan('viewer', 'alerts:read')).toBe(true);
  });

  describe('on the database', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('an override on the membership wins over the workspace role; API keys follow their role', async () => {
      const owner = await signUp(t.app);
      const member = await joinByInvitation(t.app, t.db, owner, { email: `m-${Date.now()}@example.com`, role: 'member' });
      const caller = { workspaceId: owner.workspaceId, role: 'member' as const, userId: member.userId };
      expect(await guardianRoleOf(t.db, caller)).toBe('analyst');
      await expect(requireGuardian(t.db, caller, 'config:write')).rejects.toMatchObject({ code: 'FORBIDDEN' });

      await t.db.query(`UPDATE memberships SET guardian_role = 'viewer' WHERE workspace_id = $1 AND user_id = $2`, [owner.workspaceId, member.userId]);
      expect(await guardianRoleOf(t.db, caller)).toBe('viewer');
      await expect(requireGuardian(t.db, caller, 'logs:read')).rejects.toMatchObject({ code: 'FORBIDDEN' });

      await t.db.query(`UPDATE memberships SET guardian_role = 'guardian_admin' WHERE workspace_id = $1 AND user_id = $2`, [owner.workspaceId, member.userId]);
      expect(await requireGuardian(t.db, caller, 'config:write')).toBe('guardian_admin');

      expect(await guardianRoleOf(t.db, { workspaceId: owner.workspaceId, role: 'viewer', userId: null })).toBe('viewer');
    });
  });
});
