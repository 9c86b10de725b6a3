import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { fireAlert, insertRule } from '../../test/guardian-support.js';
import type { ResolvedAddress } from '../campaigns/webhooks.js';
import { ManualClock } from '../platform/clock.js';

// Saving resolves webhook hosts: hooks.example.com is public, internal.example.com private.
const DNS: Record<string, string> = { 'hooks.example.com': '93.184.216.34', 'internal.example.com': '10.0.0.5' };
let t: TestApp;
let owner: Caller;
let other: Caller;
const keys: Record<'member' | 'viewer', Record<string, string>> = { member: {}, viewer: {} };
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  t = await createTestApp({ clock, dns: { resolve: async (host: string): Promise<ResolvedAddress[]> => (DNS[host] ? [{ address: DNS[host]!, family: 4 }] : []) } });
  owner = await signUp(t.app);
  other = await signUp(t.app, 'Other');
  for (const role of ['member', 'viewer'] as const) {
    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.session, payload: { name: `${role} key`, role } });
    expect(key.statusCode, key.body).toBe(201);
    keys[role] = { authorization: `Bearer ${key.json().key as string}` };
  }
});
afterAll(async () => {
  await t.close();
});

const create = (headers: Record<string, string>, payload: Record<string, unknown>) => {
  // Channels list in creation order: each one a millisecond later.
  clock.advance(1);
  return t.app.inject({ method: 'POST', url: '/api/guardian/channels', headers, payload });
};

describe('Guardian channels API', () => {
  it('creates each kind, seals the secrets and shows the webhook signing secret once', async () => {
    const email = await create(owner.bearer, { kind: 'email', name: 'On-call mail', recipients: ['Ops@Example.com', 'ops@example.com', 'deliverability@example.com'] });
    expect(email.statusCode, email.body).toBe(201);
    expect(email.json().channel).toMatchObject({ kind: 'email', recipients: ['ops@example.com', 'deliverability@example.com'], enabled: true, digest: null });

    const slack = await create(owner.bearer, { kind: 'slack', name: '#alerts', url: 'https://hooks.slack.com/services/T000/B000/abcdefSECRET' });
    expect(slack.statusCode, slack.body).toBe(201);
    expect(slack.json().channel).toMatchObject({ kind: 'slack', host: 'hooks.slack.com' });
    expect(slack.body).not.toContain('abcdefSECRET');
    expect(slack.json().signingSecret).toBeUndefined();

    const hook = await create(owner.bearer, { kind: 'webhook', name: 'Pager', url: 'https://hooks.example.com/guardian?token=SEKRIT' });
    expect(hook.statusCode, hook.body).toBe(201);
    const secret = hook.json().signingSecret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook.json().channel).toMatchObject({ kind: 'webhook', host: 'hooks.example.com' });

    // Never again: not in the list, not in one channel, not in the database in clear.
    const list = await t.app.inject({ method: 'GET', url: '/api/guardian/channels', headers: owner.bearer });
    expect(list.statusCode).toBe(200);
    expect(list.json().channels.map((c: { name: string }) => c.name)).toEqual(['On-call mail', '#alerts', 'Pager']);
    for (const body of [list.body, (await t.app.inject({ method: 'GET', url: `/api/guardian/channels/${hook.json().channel.id}`, headers: owner.bearer })).body]) {
      expect(body).not.toContain(secret.slice(6));
      expect(body).not.toContain('SEKRIT');
      expect(body).not.toContain('abcdefSECRET');
    }
    const stored = await t.db.query<{ row: string }>('SELECT row_to_json(c)::text AS row FROM guardian_channels c WHERE workspace_id = $1', [owner.workspaceId]);
    for (const r of stored.rows) {
      expect(r.row).not.toContain('SEKRIT');
      expect(r.row).not.toContain(secret.slice(6));
      expect(r.row).not.toContain('abcdefSECRET');
    }

    const inApp = await create(owner.bearer, { kind: 'in_app', name: 'Notification centre' });
    expect(inApp.statusCode, inApp.body).toBe(201);

    // Every change is audited.
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND action LIKE 'guardian.channel.%'`, [owner.workspaceId]);
    expect(audit.rows.filter((a) => a.action === 'guardian.channel.create')).toHaveLength(4);
  });

  it('refuses bad targets with catalogued codes', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ kind: 'webhook', name: 'Private', url: 'http://internal.example.com/hook' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'webhook', name: 'Loopback', url: 'http://127.0.0.1:8080/hook' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'webhook', name: 'Metadata', url: 'http://169.254.169.254/latest' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'webhook', name: 'Nowhere', url: 'https://nowhere.example.com/hook' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'webhook', name: 'Not a URL', url: 'hooks example' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'webhook', name: 'FTP', url: 'ftp://hooks.example.com/x' }, 400, 'GUARDIAN_WEBHOOK_URL_REFUSED'],
      [{ kind: 'slack', name: 'Not Slack', url: 'https://hooks.example.com/services/T/B/X' }, 400, 'GUARDIAN_SLACK_URL_INVALID'],
      [{ kind: 'slack', name: 'Slack lookalike', url: 'https://hooks.slack.com.evil.example/services/T/B/X' }, 400, 'GUARDIAN_SLACK_URL_INVALID'],
      [{ kind: 'slack', name: 'Slack API', url: 'https://slack.com/api/chat.postMessage' }, 400, 'GUARDIAN_SLACK_URL_INVALID'],
      [{ kind: 'email', name: 'Bad', recipients: ['ops@example.com', 'not an address'] }, 400, 'GUARDIAN_RECIPIENTS_INVALID'],
      [{ kind: 'email', name: 'None', recipients: [] }, 400, 'VALIDATION_FAILED'],
      [{ kind: 'pager', name: 'Unknown kind' }, 400, 'VALIDATION_FAILED'],
      [{ kind: 'slack', name: 'No URL' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [payload, status, code] of cases) {
      const response = await create(owner.bearer, payload);
      expect([response.statusCode, response.json().error?.code], JSON.stringify(payload)).toEqual([status, code]);
    }
    const count = await t.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM guardian_channels WHERE workspace_id = $1 AND name IN ('Private', 'Loopback', 'Not Slack', 'Bad')`, [owner.workspaceId]);
    expect(count.rows[0]!.n).toBe(0);
  });

  it('updates a channel, checks the new target, keeps the signing secret, and deletes it', async () => {
    const hook = await create(owner.bearer, { kind: 'webhook', name: 'To move', url: 'https://hooks.example.com/a' });
    const id = hook.json().channel.id as string;
    const before = await t.db.query<{ secret_ciphertext: string }>('SELECT secret_ciphertext FROM guardian_channels WHERE id = $1', [id]);
    const refused = await t.app.inject({ method: 'PATCH', url: `/api/guardian/channels/${id}`, headers: owner.bearer, payload: { url: 'http://10.1.2.3/x' } });
    expect(refused.json().error.code).toBe('GUARDIAN_WEBHOOK_URL_REFUSED');
    const wrongField = await t.app.inject({ method: 'PATCH', url: `/api/guardian/channels/${id}`, headers: owner.bearer, payload: { recipients: ['a@example.com'] } });
    expect(wrongField.statusCode).toBe(400);
    const moved = await t.app.inject({ method: 'PATCH', url: `/api/guardian/channels/${id}`, headers: owner.bearer, payload: { url: 'https://hooks.example.com/b', name: 'Moved', enabled: false } });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ name: 'Moved', enabled: false, host: 'hooks.example.com' });
    const after = await t.db.query<{ secret_ciphertext: string }>('SELECT secret_ciphertext FROM guardian_channels WHERE id = $1', [id]);
    const vault = t.runtime.deps.guardianNotify.deps.vault;
    expect(vault.decrypt(after.rows[0]!.secret_ciphertext)).toEqual({ ...vault.decrypt(before.rows[0]!.secret_ciphertext), url: 'https://hooks.example.com/b' });
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/guardian/channels/${id}`, headers: owner.bearer });
    expect(deleted.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/guardian/channels/${id}`, headers: owner.bearer })).statusCode).toBe(404);
  });

  it('schedules a digest at an hour of the workspace time zone and refuses an incomplete schedule', async () => {
    await t.db.query(`UPDATE workspaces SET settings = settings || '{"timeZone": "Europe/Paris"}' WHERE id = $1`, [owner.workspaceId]);
    const channel = await create(owner.bearer, { kind: 'in_app', name: 'Digest centre' });
    const id = channel.json().channel.id as string;
    const missing = await t.app.inject({ method: 'PUT', url: `/api/guardian/channels/${id}/digest`, headers: owner.bearer, payload: { frequency: 'weekly', hour: 9 } });
    expect([missing.statusCode, missing.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badHour = await t.app.inject({ method: 'PUT', url: `/api/guardian/channels/${id}/digest`, headers: owner.bearer, payload: { frequency: 'daily', hour: 24 } });
    expect(badHour.statusCode).toBe(400);
    const set = await t.app.inject({ method: 'PUT', url: `/api/guardian/channels/${id}/digest`, headers: owner.bearer, payload: { frequency: 'daily', hour: 9 } });
    expect(set.statusCode, set.body).toBe(200);
    const digest = set.json().digest as { nextAt: string; timeZone: string };
    expect(digest.timeZone).toBe('Europe/Paris');
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(digest.nextAt));
    expect(local).toBe('09:00');
    expect(new Date(digest.nextAt).getTime()).toBeGreaterThan(clock.now().getTime());
    const off = await t.app.inject({ method: 'PUT', url: `/api/guardian/channels/${id}/digest`, headers: owner.bearer, payload: { frequency: null } });
    expect(off.json().digest).toBeNull();
  });
});

describe('Guardian notification roles', () => {
  it('lets analysts and viewers read channels but not change them, and viewers not read the delivery log', async () => {
    for (const role of ['member', 'viewer'] as const) {
      expect((await t.app.inject({ method: 'GET', url: '/api/guardian/channels', headers: keys[role] })).statusCode).toBe(200);
      const denied = await create(keys[role], { kind: 'in_app', name: `${role} channel` });
      expect([denied.statusCode, denied.json().error.code]).toEqual([403, 'FORBIDDEN']);
    }
    const someChannel = (await t.app.inject({ method: 'GET', url: '/api/guardian/channels', headers: owner.bearer })).json().channels[0].id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${someChannel}/test`, headers: keys.member })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: keys.member })).statusCode).toBe(200);
    const viewerLog = await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: keys.viewer });
    expect([viewerLog.statusCode, viewerLog.json().error.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('follows an owner’s Guardian role override of a member', async () => {
    // The owner's own session user, demoted to viewer by an override: the log closes to them.
    await t.db.query('UPDATE memberships SET guardian_role = $3 WHERE workspace_id = $1 AND user_id = $2', [owner.workspaceId, owner.userId, 'viewer']);
    const log = await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: owner.session });
    expect(log.statusCode).toBe(403);
    await t.db.query('UPDATE memberships SET guardian_role = NULL WHERE workspace_id = $1 AND user_id = $2', [owner.workspaceId, owner.userId]);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: owner.session })).statusCode).toBe(200);
  });

  it("never shows another workspace's channels, deliveries or notifications", async () => {
    const mine = await create(owner.bearer, { kind: 'in_app', name: 'Mine only' });
    const channelId = mine.json().channel.id as string;
    const rule = await insertRule(t.db, owner.workspaceId, [channelId]);
    await fireAlert(t.db, owner.workspaceId, rule, clock.now());
    await t.runtime.deps.guardianNotify.runDue();
    const ownLog = (await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: owner.bearer })).json();
    expect(ownLog.deliveries.length).toBeGreaterThan(0);
    const deliveryId = ownLog.deliveries[0].id as string;

    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/channels', headers: other.bearer })).json().channels).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/api/guardian/channels/${channelId}`, headers: other.bearer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PATCH', url: `/api/guardian/channels/${channelId}`, headers: other.bearer, payload: { name: 'Taken' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${channelId}/test`, headers: other.bearer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/guardian/channels/${channelId}`, headers: other.bearer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries', headers: other.bearer })).json().deliveries).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries/${deliveryId}`, headers: other.bearer })).statusCode).toBe(404);
    const theirs = (await t.app.inject({ method: 'GET', url: '/api/guardian/notifications', headers: other.bearer })).json();
    expect(theirs).toEqual({ notifications: [], unreadCount: 0 });
    const mineList = (await t.app.inject({ method: 'GET', url: '/api/guardian/notifications', headers: owner.bearer })).json();
    const notificationId = mineList.notifications[0].id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/guardian/notifications/${notificationId}/read`, headers: other.session })).statusCode).toBe(404);
  });

  it('keeps read state per user and refuses it to API keys', async () => {
    const list = (await t.app.inject({ method: 'GET', url: '/api/guardian/notifications', headers: owner.session })).json();
    expect(list.unreadCount).toBeGreaterThan(0);
    const first = list.notifications[0].id as string;
    const byKey = await t.app.inject({ method: 'POST', url: `/api/guardian/notifications/${first}/read`, headers: owner.bearer });
    expect([byKey.statusCode, byKey.json().error.code]).toEqual([400, 'GUARDIAN_READ_STATE_NEEDS_USER']);
    const marked = await t.app.inject({ method: 'POST', url: `/api/guardian/notifications/${first}/read`, headers: owner.session });
    expect(marked.statusCode, marked.body).toBe(200);
    expect(marked.json()).toEqual({ marked: 1, unreadCount: list.unreadCount - 1 });
    const unread = (await t.app.inject({ method: 'GET', url: '/api/guardian/notifications?unread=true', headers: owner.session })).json();
    expect(unread.notifications.map((n: { id: string }) => n.id)).not.toContain(first);
    const viewerMark = await t.app.inject({ method: 'POST', url: '/api/guardian/notifications/read-all', headers: keys.viewer });
    expect(viewerMark.statusCode).toBe(403);
    const all = await t.app.inject({ method: 'POST', url: '/api/guardian/notifications/read-all', headers: owner.session });
    expect(all.json().unreadCount).toBe(0);
    expect((await t.app.inject({ method: 'GET', url: '/api/guardian/notifications/unread-count', headers: owner.session })).json()).toEqual({ unreadCount: 0 });
  });
});
