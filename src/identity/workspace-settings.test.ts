import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceTimeZone } from '../core/workspace.js';
import { createTestApp, joinByInvitation, signUp, type TestApp } from '../../test/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('workspace settings (GET/PATCH /api/workspace)', () => {
  it('answers UTC until a zone is set, then the zone every domain reads; audits the change', async () => {
    const owner = await signUp(t.app, 'Ada');
    const first = await t.app.inject({ method: 'GET', url: '/api/workspace', headers: owner.session });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id: owner.workspaceId, timeZone: 'UTC' });

    const changed = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: owner.session, payload: { name: 'Acme EU', timeZone: 'Europe/Berlin' } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ id: owner.workspaceId, name: 'Acme EU', timeZone: 'Europe/Berlin' });
    expect(await workspaceTimeZone(t.db, owner.workspaceId)).toBe('Europe/Berlin');
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: owner.session });
    expect(me.json().workspace.name).toBe('Acme EU');

    const audit = await t.app.inject({ method: 'GET', url: '/api/audit-log', headers: owner.session });
    const entry = audit.json().entries.find((e: { action: string }) => e.action === 'workspace.update');
    expect(entry).toMatchObject({ resourceType: 'workspace', resourceId: owner.workspaceId, before: { timeZone: 'UTC' }, after: { name: 'Acme EU', timeZone: 'Europe/Berlin' } });

    expect(entry.actorName).toBe('Ada');
    // The log's filters: by entity (the action's namespace), by actor, by time.
    const filtered = (query: string) => t.app.inject({ method: 'GET', url: `/api/audit-log?${query}`, headers: owner.session }).then((r) => r.json().entries.map((e: { action: string }) => e.action));
    expect(await filtered('entity=workspace')).toEqual(['workspace.update', 'workspace.create']);
    expect(await filtered(`actorType=user&actorId=${owner.userId}&entity=workspace`)).toEqual(['workspace.update', 'workspace.create']);
    expect(await filtered(`actorType=user&actorId=${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)).toEqual([]);
    expect(await filtered('actorType=api_key&entity=workspace')).toEqual([]);
    expect(await filtered(`entity=api_key&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`)).toEqual(['api_key.create']);
    expect(await filtered(`entity=workspace&to=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).toEqual([]);
    const badEntity = await t.app.inject({ method: 'GET', url: '/api/audit-log?entity=DROP%20TABLE', headers: owner.session });
    expect(badEntity.statusCode).toBe(400);

    // Setting the same values again changes nothing and records nothing.
    await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: owner.session, payload: { timeZone: 'Europe/Berlin' } });
    const again = await t.app.inject({ method: 'GET', url: '/api/audit-log', headers: owner.session });
    expect(again.json().entries.filter((e: { action: string }) => e.action === 'workspace.update')).toHaveLength(1);
  });

  it('refuses an unknown zone with WORKSPACE_TIME_ZONE_INVALID and changes nothing', async () => {
    const owner = await signUp(t.app);
    const bad = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: owner.session, payload: { name: 'Renamed', timeZone: 'Mars/Olympus_Mons' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'WORKSPACE_TIME_ZONE_INVALID', details: { field: 'timeZone' } });
    const now = await t.app.inject({ method: 'GET', url: '/api/workspace', headers: owner.session });
    expect(now.json().timeZone).toBe('UTC');
    expect(now.json().name).not.toBe('Renamed');
    const empty = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: owner.session, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('VALIDATION_FAILED');
    const blank = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: owner.session, payload: { name: '   ' } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error.details).toMatchObject({ field: 'name' });
  });

  it('lets owners and admins change it, members and viewers only read it, and keeps workspaces apart', async () => {
    const owner = await signUp(t.app);
    const admin = await joinByInvitation(t.app, t.db, owner, { email: `admin-${owner.workspaceId}@example.com`, role: 'admin' });
    const member = await joinByInvitation(t.app, t.db, owner, { email: `member-${owner.workspaceId}@example.com`, role: 'member' });
    const viewer = await joinByInvitation(t.app, t.db, owner, { email: `viewer-${owner.workspaceId}@example.com`, role: 'viewer' });
    const byAdmin = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: admin.session, payload: { timeZone: 'America/New_York' } });
    expect(byAdmin.statusCode).toBe(200);
    for (const caller of [member, viewer]) {
      const refused = await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: caller.session, payload: { timeZone: 'Asia/Tokyo' } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('FORBIDDEN');
      const read = await t.app.inject({ method: 'GET', url: '/api/workspace', headers: caller.session });
      expect(read.json().timeZone).toBe('America/New_York');
    }
    const other = await signUp(t.app);
    await t.app.inject({ method: 'PATCH', url: '/api/workspace', headers: other.session, payload: { timeZone: 'Asia/Tokyo' } });
    expect(await workspaceTimeZone(t.db, owner.workspaceId)).toBe('America/New_York');
    const byKey = await t.app.inject({ method: 'GET', url: '/api/workspace', headers: { authorization: `Bearer ${other.apiKey}` } });
    expect(byKey.json()).toMatchObject({ id: other.workspaceId, timeZone: 'Asia/Tokyo' });
  });
});
