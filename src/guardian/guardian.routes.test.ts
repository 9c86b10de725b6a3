import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOutcomes, seedSends } from '../../test/guardian-helpers.js';
import { createTestApp, joinByInvitation, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { DEFAULT_RULES } from './defaults.js';

const clock = new ManualClock(new Date('2026-03-02T12:00:00Z'));
let t: TestApp;
let owner: Caller;
let analyst: { userId: string; session: Record<string, string> };
let viewer: { userId: string; session: Record<string, string> };
let stranger: Caller;

beforeAll(async () => {
  t = await createTestApp({ clock, config: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  owner = await signUp(t.app);
  analyst = await joinByInvitation(t.app, t.db, owner, { email: `analyst-${Date.now()}@example.com`, role: 'member' });
  viewer = await joinByInvitation(t.app, t.db, owner, { email: `viewer-${Date.now()}@example.com`, role: 'viewer' });
  stranger = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

const rule = { name: 'Bounces', signal: 'bounce_rate', comparison: '>', threshold: 5, windowSeconds: 3600, minVolume: 100, severity: 'high' };

describe('rules', () => {
  it('every new workspace starts with the default rules, editable and disable-able', async () => {
    const list = await t.app.inject({ method: 'GET', url: '/api/guardian/rules', headers: owner.bearer });
    expect(list.statusCode).toBe(200);
    const rules = list.json().rules as Array<{ id: string; defaultKey: string; signal: string; threshold: number; windowSeconds: number; minVolume: number; severity: string; enabled: boolean }>;
    expect(rules.map((r) => r.defaultKey).sort()).toEqual(DEFAULT_RULES.map((r) => r.key).sort());
    const bounce = rules.find((r) => r.defaultKey === 'bounce_rate')!;
    expect(bounce).toMatchObject({ signal: 'bounce_rate', threshold: 5, windowSeconds: 3600, minVolume: 100, severity: 'high', enabled: true });
    expect(rules.find((r) => r.defaultKey === 'complaint_rate')).toMatchObject({ threshold: 0.1, windowSeconds: 86_400, minVolume: 1000, severity: 'critical' });

    const off = await t.app.inject({ method: 'PATCH', url: `/api/guardian/rules/${bounce.id}`, headers: owner.bearer, payload: { enabled: false, threshold: 3 } });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ enabled: false, threshold: 3, windowSeconds: 3600 });
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_id = $2`, [owner.workspaceId, bounce.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['guardian_rule.update']);
  });

  it('creates, reads, updates and deletes a rule, each change audited', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: owner.session, payload: { ...rule, cooldownSeconds: 600 } });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ ...rule, cooldownSeconds: 600, channelIds: [], enabled: true, defaultKey: null, scope: {} });
    const read = await t.app.inject({ method: 'GET', url: `/api/guardian/rules/${body.id}`, headers: owner.bearer });
    expect(read.json().name).toBe('Bounces');
    const changed = await t.app.inject({ method: 'PATCH', url: `/api/guardian/rules/${body.id}`, headers: owner.bearer, payload: { severity: 'critical' } });
    expect(changed.json().severity).toBe('critical');
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/guardian/rules/${body.id}`, headers: owner.bearer });
    expect(deleted.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/guardian/rules/${body.id}`, headers: owner.bearer })).statusCode).toBe(404);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_id = $2 ORDER BY id`, [owner.workspaceId, body.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['guardian_rule.create', 'guardian_rule.update', 'guardian_rule.delete']);
  });

  it('refuses bad rules with a stable code and the field', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ signal: 'nope' }, 'RULE_SIGNAL_UNKNOWN', '/signal'],
      [{ threshold: 150 }, 'RULE_THRESHOLD_INVALID', '/threshold'],
      [{ threshold: -1 }, 'RULE_THRESHOLD_INVALID', '/threshold'],
      [{ windowSeconds: 30 }, 'RULE_WINDOW_INVALID', '/windowSeconds'],
      [{ windowSeconds: 31 * 86_400 }, 'RULE_WINDOW_INVALID', '/windowSeconds'],
      [{ minVolume: -5 }, 'RULE_MIN_VOLUME_INVALID', '/minVolume'],
      [{ signal: 'ai_budget_spent', threshold: 80, minVolume: 10 }, 'RULE_MIN_VOLUME_INVALID', '/minVolume'],
      [{ cooldownSeconds: 8 * 86_400 }, 'RULE_COOLDOWN_INVALID', '/cooldownSeconds'],
      [{ scope: { campaignId: '00000000-0000-4000-8000-000000000000' } }, 'RULE_SCOPE_INVALID', '/scope/campaignId'],
      [{ signal: 'unsubscribe_rate', scope: { campaignId: '00000000-0000-4000-8000-000000000000' } }, 'RULE_SCOPE_INVALID', '/scope/campaignId'],
      [{ channelIds: ['00000000-0000-4000-8000-000000000000'] }, 'RULE_CHANNEL_UNKNOWN', '/channelIds'],
    ];
    for (const [change, code, path] of cases) {
      const response = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: owner.bearer, payload: { ...rule, ...change } });
      expect({ change, status: response.statusCode, code: response.json().error?.code, path: response.json().error?.details?.[0]?.path }).toEqual({ change, status: 400, code, path });
    }
    const badShape = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: owner.bearer, payload: { ...rule, severity: 'urgent' } });
    expect(badShape.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('accepts a channel of the workspace and refuses another workspace\'s', async () => {
    const mine = await t.db.query<{ id: string }>(`INSERT INTO guardian_channels (workspace_id, kind, name) VALUES ($1, 'in_app', 'Bell') RETURNING id`, [owner.workspaceId]);
    const theirs = await t.db.query<{ id: string }>(`INSERT INTO guardian_channels (workspace_id, kind, name) VALUES ($1, 'in_app', 'Bell') RETURNING id`, [stranger.workspaceId]);
    const ok = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: owner.bearer, payload: { ...rule, channelIds: [mine.rows[0]!.id] } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().channelIds).toEqual([mine.rows[0]!.id]);
    const refused = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: owner.bearer, payload: { ...rule, channelIds: [theirs.rows[0]!.id] } });
    expect(refused.json().error.code).toBe('RULE_CHANNEL_UNKNOWN');
  });
});

describe('Guardian roles', () => {
  it('an analyst reads and operates but cannot edit rules; a viewer only reads', async () => {
    const me = await t.app.inject({ method: 'GET', url: '/api/guardian/me', headers: analyst.session });
    expect(me.json()).toEqual({ role: 'analyst', workspaceRole: 'member', overridden: false, capabilities: ['alerts:operate', 'alerts:read', 'logs:read'] });
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/rules', headers: analyst.session })).statusCode).toBe(200);
    const denied = await t.app.inject({ method: 'POST', url: '/api/guardian/rules', headers: analyst.session, payload: rule });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FORBIDDEN');

    await seedSends(t.db, owner.workspaceId, 100, clock.now());
    await seedOutcomes(t.db, owner.workspaceId, 'bounced', 40, clock.now());
    await t.db.query(`UPDATE guardian_rules SET enabled = true, threshold = 5 WHERE workspace_id = $1 AND default_key = 'bounce_rate'`, [owner.workspaceId]);
    await t.runtime.guardianEvaluator.runRound();
    const alerts = await t.app.inject({ method: 'GET', url: '/api/guardian/alerts?status=open', headers: viewer.session });
    expect(alerts.statusCode).toBe(200);
    const alert = alerts.json().alerts[0];
    expect(alert).toMatchObject({ status: 'firing', signal: 'bounce_rate', value: 40 });
    const viewerAck = await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert.id}/acknowledge`, headers: viewer.session });
    expect(viewerAck.statusCode).toBe(403);
    const ack = await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert.id}/acknowledge`, headers: analyst.session });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'acknowledged', acknowledgedBy: analyst.userId });

    const detail = await t.app.inject({ method: 'GET', url: `/api/guardian/alerts/${alert.id}`, headers: viewer.session });
    expect(detail.json().timeline.map((e: { kind: string }) => e.kind)).toEqual(['fired', 'acknowledged']);

    // Another workspace never sees it, by list or by id.
    const theirList = await t.app.inject({ method: 'GET', url: '/api/guardian/alerts', headers: stranger.bearer });
    expect(theirList.json().alerts).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/api/guardian/alerts/${alert.id}`, headers: stranger.bearer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert.id}/resolve`, headers: stranger.bearer })).statusCode).toBe(404);

    const resolved = await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert.id}/resolve`, headers: analyst.session });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolvedBy: analyst.userId });
    const again = await t.app.inject({ method: 'POST', url: `/api/guardian/alerts/${alert.id}/resolve`, headers: analyst.session });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALERT_RESOLVED');
    const filtered = await t.app.inject({ method: 'GET', url: '/api/guardian/alerts?status=resolved&severity=high&signal=bounce_rate', headers: owner.bearer });
    expect(filtered.json().alerts.map((a: { id: string }) => a.id)).toEqual([alert.id]);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/alerts?severity=low', headers: owner.bearer })).json().alerts).toEqual([]);
  });

  it('an owner overrides a member\'s Guardian role (audited); others may not', async () => {
    const promote = await t.app.inject({ method: 'PUT', url: `/api/guardian/members/${viewer.userId}/role`, headers: owner.session, payload: { role: 'analyst' } });
    expect(promote.statusCode).toBe(200);
    expect(promote.json()).toEqual({ userId: viewer.userId, workspaceRole: 'viewer', guardianRole: 'analyst', defaultRole: 'viewer', overridden: true });
    // Every member's effective role, for the Members page: the override, else the default of the workspace role.
    const listed = await t.app.inject({ method: 'GET', url: '/api/guardian/members', headers: viewer.session });
    expect(listed.statusCode).toBe(200);
    const byUser = new Map(listed.json().members.map((m: { userId: string }) => [m.userId, m]));
    expect(byUser.get(viewer.userId)).toEqual({ userId: viewer.userId, workspaceRole: 'viewer', guardianRole: 'analyst', defaultRole: 'viewer', overridden: true });
    expect(byUser.get(owner.userId)).toMatchObject({ workspaceRole: 'owner', guardianRole: 'guardian_admin', overridden: false });
    expect(byUser.has(stranger.userId)).toBe(false);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/me', headers: viewer.session })).json()).toMatchObject({ role: 'analyst', overridden: true });
    const byAnalyst = await t.app.inject({ method: 'PUT', url: `/api/guardian/members/${viewer.userId}/role`, headers: analyst.session, payload: { role: 'guardian_admin' } });
    expect(byAnalyst.statusCode).toBe(403);
    const back = await t.app.inject({ method: 'PUT', url: `/api/guardian/members/${viewer.userId}/role`, headers: owner.session, payload: { role: null } });
    expect(back.json()).toMatchObject({ guardianRole: 'viewer', overridden: false });
    const notMember = await t.app.inject({ method: 'PUT', url: `/api/guardian/members/${stranger.userId}/role`, headers: owner.session, payload: { role: 'viewer' } });
    expect(notMember.statusCode).toBe(404);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND action = 'guardian_role.set'`, [owner.workspaceId]);
    expect(audit.rowCount).toBe(2);
  });
});

describe('health and metrics', () => {
  it('sending health per provider and hour', async () => {
    const ws = await signUp(t.app);
    await seedSends(t.db, ws.workspaceId, 40, new Date(clock.now().getTime() - 30 * 60_000), { provider: 'postmark' });
    await seedOutcomes(t.db, ws.workspaceId, 'bounced', 2, new Date(clock.now().getTime() - 20 * 60_000), { provider: 'postmark' });
    await seedOutcomes(t.db, ws.workspaceId, 'complained', 1, new Date(clock.now().getTime() - 20 * 60_000), { provider: 'postmark' });
    const health = await t.app.inject({ method: 'GET', url: '/api/guardian/health?range=24h', headers: ws.bearer });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ range: '24h', bucketSeconds: 3600, providers: ['postmark'], points: [{ at: '2026-03-02T11:00:00.000Z', provider: 'postmark', sends: 40, bounces: 2, complaints: 1, bounceRate: 5, complaintRate: 2.5 }] });
    const bad = await t.app.inject({ method: 'GET', url: '/api/guardian/health?range=1y', headers: ws.bearer });
    expect(bad.statusCode).toBe(400);
  });

  it('/metrics shows the queue and Guardian gauges, and needs the bearer token when METRICS_TOKEN is set', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(metrics.statusCode).toBe(200);
    for (const name of ['unite_engine_lag_seconds', 'unite_outbox_age_seconds', 'unite_event_backlog_batches', 'unite_provider_circuits_open', 'unite_uncertain_messages']) expect(metrics.body).toContain(`${name} `);
    expect(metrics.body).toMatch(/unite_guardian_signal_max\{signal="bounce_rate"\} \d/);
    expect(metrics.body).toMatch(/unite_guardian_alerts_open\{severity="high"\} \d/);
  });
});
