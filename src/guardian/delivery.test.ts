import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { fireAlert, insertRule, startSlackReceiver, startWebhookReceiver, type SlackReceiver, type WebhookReceiver } from '../../test/guardian-support.js';
import { ManualClock } from '../platform/clock.js';
import { FAILING_STREAK, reclaimDeadNotifierHolders } from './delivery.js';

let t: TestApp;
let caller: Caller;
let slack: SlackReceiver;
const receivers: WebhookReceiver[] = [];
// Near the wall clock: receivers verify webhook-timestamp against it (5 minutes' tolerance).
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  slack = await startSlackReceiver();
  t = await createTestApp({ clock, config: { GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true', GUARDIAN_SLACK_URL_PREFIXES: slack.prefix, PUBLIC_URL: 'https://app.example.com' } });
  caller = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
  await slack.close();
  for (const r of receivers) await r.close();
});

const runDue = () => t.runtime.deps.guardianNotify.runDue();

async function channel(payload: Record<string, unknown>): Promise<{ id: string; signingSecret?: string }> {
  clock.advance(1);
  const response = await t.app.inject({ method: 'POST', url: '/api/guardian/channels', headers: caller.bearer, payload });
  expect(response.statusCode, response.body).toBe(201);
  return { id: response.json().channel.id, signingSecret: response.json().signingSecret };
}

/** A webhook channel with its own verifying receiver. */
async function webhookChannel(name: string, options: { verifyTimestamp?: boolean } = {}): Promise<{ id: string; receiver: WebhookReceiver }> {
  let secret: string | null = null;
  const receiver = await startWebhookReceiver(() => secret, options);
  receivers.push(receiver);
  const created = await channel({ kind: 'webhook', name, url: receiver.url });
  secret = created.signingSecret!;
  return { id: created.id, receiver };
}

async function deliveries(where = 'TRUE', params: unknown[] = []) {
  const { rows } = await t.db.query<{ id: string; channel_id: string; status: string; attempts: number; last_error: string | null; next_attempt_at: Date; purpose: string }>(
    `SELECT id, channel_id, status, attempts, last_error, next_attempt_at, purpose FROM guardian_deliveries WHERE workspace_id = '${caller.workspaceId}' AND ${where} ORDER BY created_at, id`,
    params,
  );
  return rows;
}

describe('Guardian notification delivery', () => {
  it('fans one alert event out to every channel of its rule, each delivered once', async () => {
    const hook = await webhookChannel('Pager');
    const sl = await channel({ kind: 'slack', name: '#alerts', url: slack.url });
    const mail = await channel({ kind: 'email', name: 'On-call', recipients: ['oncall@example.com', 'lead@example.com'] });
    const inApp = await channel({ kind: 'in_app', name: 'Centre' });
    const rule = await insertRule(t.db, caller.workspaceId, [hook.id, sl.id, mail.id, inApp.id]);
    const { alertId, eventId } = await fireAlert(t.db, caller.workspaceId, rule, clock.now());

    expect(await runDue()).toBe(4);
    expect(await runDue()).toBe(0);

    // Webhook: verified by the standardwebhooks package, once, with the delivery id as webhook-id.
    const rows = await deliveries('alert_event_id = $1', [eventId]);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
      ['sent', 1],
      ['sent', 1],
    ]);
    const hookDelivery = rows.find((r) => r.channel_id === hook.id)!;
    expect([...hook.receiver.accepted]).toEqual([[hookDelivery.id, 1]]);
    expect(hook.receiver.unverified).toBe(0);
    expect(hook.receiver.bodies[0]!.body).toMatchObject({ type: 'guardian.alert.fired', data: { event: 'fired', link: `https://app.example.com/guardian/alerts/${alertId}`, alert: { id: alertId, ruleName: 'Bounce rate', signal: 'bounce_rate', severity: 'high', value: 0.083, threshold: 0.05 } } });

    // Slack: a Block Kit message with severity, signal, value, threshold and the link back.
    expect(slack.messages).toHaveLength(1);
    const message = slack.messages[0]!;
    expect(message.webhookId).toBe(rows.find((r) => r.channel_id === sl.id)!.id);
    const text = JSON.stringify(message.body.blocks);
    for (const part of ['high', 'bounce_rate', '0.083', '> 0.05', `https://app.example.com/guardian/alerts/${alertId}`]) expect(text).toContain(part);
    expect(message.body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'actions']);

    // Email: transactional messages in the product's outbox, one per recipient, no topic.
    const mails = await t.db.query<{ to_address: string; source_type: string; topic_id: string | null; subject: string }>(
      `SELECT to_address, source_type, topic_id, subject FROM messages WHERE workspace_id = $1 AND source_type = 'guardian' ORDER BY to_address`,
      [caller.workspaceId],
    );
    expect(mails.rows).toEqual([
      { to_address: 'lead@example.com', source_type: 'guardian', topic_id: null, subject: '[Guardian] Alert firing: Bounce rate (high)' },
      { to_address: 'oncall@example.com', source_type: 'guardian', topic_id: null, subject: '[Guardian] Alert firing: Bounce rate (high)' },
    ]);
    // … and they go out through the sender as transactional mail (no unsubscribe header).
    await t.runtime.deps.email.sender.runOnce();
    const sent = await t.db.query<{ status: string; headers: Record<string, string> }>(`SELECT status, headers FROM messages WHERE workspace_id = $1 AND source_type = 'guardian'`, [caller.workspaceId]);
    expect(sent.rows.map((r) => r.status)).toEqual(['sent', 'sent']);

    // In-app: one notification for the workspace, unread.
    const centre = (await t.app.inject({ method: 'GET', url: '/api/guardian/notifications', headers: caller.session })).json();
    expect(centre.unreadCount).toBe(1);
    expect(centre.notifications[0]).toMatchObject({ kind: 'alert', alertId, severity: 'high', title: 'Alert firing: Bounce rate (high)', read: false });

    // The outbox row is done.
    const event = await t.db.query<{ fanned_out_at: Date | null }>('SELECT fanned_out_at FROM guardian_alert_events WHERE id = $1', [eventId]);
    expect(event.rows[0]!.fanned_out_at).not.toBeNull();
  });

  it('answers a test send with the delivery outcome', async () => {
    const hook = await webhookChannel('Test target');
    const ok = await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${hook.id}/test`, headers: caller.bearer });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'sent', responseStatus: 204, error: null });
    expect(hook.receiver.accepted.get(ok.json().deliveryId)).toBe(1);
    expect(hook.receiver.bodies[0]!.body.type).toBe('guardian.test');

    hook.receiver.down = 503;
    const down = await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${hook.id}/test`, headers: caller.bearer });
    expect(down.json()).toMatchObject({ status: 'failed', responseStatus: 503, error: 'HTTP 503' });
    hook.receiver.down = null;
    // Test sends are not retried: one attempt, logged.
    const detail = (await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries/${down.json().deliveryId}`, headers: caller.bearer })).json();
    expect(detail).toMatchObject({ purpose: 'test', status: 'failed', attempts: 1, summary: 'Test notification to Test target' });
    expect(detail.attemptLog).toHaveLength(1);

    const sl = await channel({ kind: 'slack', name: '#tests', url: slack.url });
    const slackTest = await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${sl.id}/test`, headers: caller.bearer });
    expect(slackTest.json()).toMatchObject({ status: 'sent', responseStatus: 200 });
    // A Slack webhook that was removed: 404 no_service.
    const gone = await channel({ kind: 'slack', name: '#gone', url: `${slack.prefix}T999/B999/removed` });
    const goneTest = await t.app.inject({ method: 'POST', url: `/api/guardian/channels/${gone.id}/test`, headers: caller.bearer });
    expect(goneTest.json()).toMatchObject({ status: 'failed', responseStatus: 404 });
  });

  it('retries a receiver that is down with backoff, then delivers once', async () => {
    const hook = await webhookChannel('Flaky');
    const rule = await insertRule(t.db, caller.workspaceId, [hook.id], 'Flaky rule');
    hook.receiver.down = 503;
    const { eventId } = await fireAlert(t.db, caller.workspaceId, rule, clock.now());
    await runDue();
    let [row] = await deliveries('alert_event_id = $1', [eventId]);
    expect([row!.status, row!.attempts]).toEqual(['retrying', 1]);
    // Backoff with jitter: between 5 and 10 seconds after the first attempt.
    const wait = row!.next_attempt_at.getTime() - clock.now().getTime();
    expect(wait).toBeGreaterThanOrEqual(5_000);
    expect(wait).toBeLessThanOrEqual(10_000);
    await runDue();
    expect((await deliveries('alert_event_id = $1', [eventId]))[0]!.attempts).toBe(1);

    clock.set(row!.next_attempt_at);
    await runDue();
    [row] = await deliveries('alert_event_id = $1', [eventId]);
    expect([row!.status, row!.attempts]).toEqual(['retrying', 2]);

    hook.receiver.down = null;
    clock.set(row!.next_attempt_at);
    await runDue();
    [row] = await deliveries('alert_event_id = $1', [eventId]);
    expect([row!.status, row!.attempts]).toEqual(['sent', 3]);
    expect([...hook.receiver.accepted]).toEqual([[row!.id, 1]]);
    const detail = (await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries/${row!.id}`, headers: caller.bearer })).json();
    expect(detail.attemptLog.map((a: { outcome: string; responseStatus: number | null }) => [a.outcome, a.responseStatus])).toEqual([
      ['retry', 503],
      ['retry', 503],
      ['sent', 204],
    ]);
    // The channel's failure streak ended with the sent attempt.
    const streak = await t.db.query<{ consecutive_failures: number }>('SELECT consecutive_failures FROM guardian_channels WHERE id = $1', [hook.id]);
    expect(streak.rows[0]!.consecutive_failures).toBe(0);
  });

  it('fails a delivery after its last attempt and reports a channel that keeps failing in-app', async () => {
    const hook = await webhookChannel('Broken');
    hook.receiver.down = 500;
    const rule = await insertRule(t.db, caller.workspaceId, [hook.id], 'Broken rule');
    const { eventId } = await fireAlert(t.db, caller.workspaceId, rule, clock.now());
    const failingNotices = async () =>
      (await t.db.query<{ title: string }>(`SELECT title FROM guardian_notifications WHERE workspace_id = $1 AND kind = 'channel_failing' AND channel_id = $2`, [caller.workspaceId, hook.id])).rows;
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      await runDue();
      const [row] = await deliveries('alert_event_id = $1', [eventId]);
      expect(row!.attempts).toBe(attempt);
      expect(row!.status).toBe(attempt < 6 ? 'retrying' : 'failed');
      expect(await failingNotices()).toHaveLength(attempt < FAILING_STREAK ? 0 : 1);
      clock.set(row!.next_attempt_at);
    }
    expect((await failingNotices())[0]!.title).toBe('Channel “Broken” keeps failing');
    const listed = (await t.app.inject({ method: 'GET', url: '/api/guardian/channels', headers: caller.bearer })).json().channels.find((c: { id: string }) => c.id === hook.id);
    expect(listed.consecutiveFailures).toBe(6);
    expect(hook.receiver.accepted.size).toBe(0);
    clock.set(new Date(Date.now()));
  });

  it('logs a failed delivery for a channel deleted while its alert fires', async () => {
    const doomed = await channel({ kind: 'in_app', name: 'Doomed' });
    const later = await channel({ kind: 'in_app', name: 'Deleted later' });
    const rule = await insertRule(t.db, caller.workspaceId, [doomed.id, later.id], 'Orphan rule');
    expect((await t.app.inject({ method: 'DELETE', url: `/api/guardian/channels/${doomed.id}`, headers: caller.bearer })).statusCode).toBe(204);
    const { eventId } = await fireAlert(t.db, caller.workspaceId, rule, clock.now());
    // Fanned out (the deleted one failed at once), then the other deleted before it is sent.
    const { fanOutAlertEvents } = await import('./fanout.js');
    await fanOutAlertEvents(t.runtime.deps.guardianNotify.deps);
    await t.app.inject({ method: 'DELETE', url: `/api/guardian/channels/${later.id}`, headers: caller.bearer });
    await runDue();
    const rows = await deliveries('alert_event_id = $1', [eventId]);
    expect(rows.map((r) => [r.channel_id, r.status, r.last_error])).toEqual(
      expect.arrayContaining([
        [doomed.id, 'failed', 'the channel was deleted before this alert was sent'],
        [later.id, 'failed', 'the channel was deleted'],
      ]),
    );
    const log = (await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries?channelId=${doomed.id}`, headers: caller.bearer })).json();
    expect(log.deliveries).toHaveLength(1);
    expect(log.deliveries[0]).toMatchObject({ status: 'failed', channelName: null });
  });

  it('releases the deliveries of a dead process: webhooks again with the same id, Slack never twice', async () => {
    const hook = await webhookChannel('Survivor');
    const sl = await channel({ kind: 'slack', name: '#dead', url: slack.url });
    const rule = await insertRule(t.db, caller.workspaceId, [hook.id, sl.id], 'Crash rule');
    const { eventId } = await fireAlert(t.db, caller.workspaceId, rule, clock.now());
    const { fanOutAlertEvents } = await import('./fanout.js');
    await fanOutAlertEvents(t.runtime.deps.guardianNotify.deps);
    // Claimed by a holder id whose process is gone (no advisory lock held for it).
    await t.db.query(`UPDATE guardian_deliveries SET status = 'sending', holder_id = 2147483000, attempts = 1 WHERE alert_event_id = $1`, [eventId]);
    expect(await reclaimDeadNotifierHolders(t.runtime.deps.guardianNotify.deps)).toBe(2);
    const slackBefore = slack.messages.length;
    await runDue();
    const rows = await deliveries('alert_event_id = $1', [eventId]);
    const byChannel = Object.fromEntries(rows.map((r) => [r.channel_id, r]));
    expect([byChannel[hook.id]!.status, byChannel[hook.id]!.attempts]).toEqual(['sent', 2]);
    expect(hook.receiver.accepted.get(byChannel[hook.id]!.id)).toBe(1);
    expect(byChannel[sl.id]!.status).toBe('failed');
    expect(byChannel[sl.id]!.last_error).toMatch(/^outcome unknown/);
    expect(slack.messages.length).toBe(slackBefore);
  });

  it('filters the delivery log by channel, status, alert and time, and pages it', async () => {
    const all = (await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries?limit=200', headers: caller.bearer })).json().deliveries as Array<{ id: string; channelId: string; status: string; alertId: string | null; createdAt: string }>;
    expect(all.length).toBeGreaterThan(8);
    const failed = (await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries?status=failed', headers: caller.bearer })).json().deliveries as typeof all;
    expect(failed.length).toBe(all.filter((d) => d.status === 'failed').length);
    expect(failed.every((d) => d.status === 'failed')).toBe(true);
    const alertId = all.find((d) => d.alertId)!.alertId!;
    const byAlert = (await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries?alertId=${alertId}`, headers: caller.bearer })).json().deliveries as typeof all;
    expect(byAlert.map((d) => d.id).sort()).toEqual(all.filter((d) => d.alertId === alertId).map((d) => d.id).sort());
    const future = (await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries?from=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`, headers: caller.bearer })).json();
    expect(future.deliveries).toEqual([]);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { deliveries: typeof all; nextCursor: string | null } = (
        await t.app.inject({ method: 'GET', url: `/api/guardian/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ''}`, headers: caller.bearer })
      ).json();
      paged.push(...page.deliveries.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.map((d) => d.id));
    const bad = await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries?cursor=nonsense', headers: caller.bearer });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'INVALID_CURSOR']);
    const badStatus = await t.app.inject({ method: 'GET', url: '/api/guardian/deliveries?status=lost', headers: caller.bearer });
    expect(badStatus.statusCode).toBe(400);
  });

  it('sends a daily digest through the delivery path when it is due, once', async () => {
    // A workspace of its own with a known day: 4 sends of one campaign, 1 of another, 1 bounce, 1 alert.
    const owner = await signUp(t.app, 'Digest owner');
    let secret: string | null = null;
    // Its clock is set to the digest hour, up to a day from the wall clock: signature checked, not the age.
    const receiver = await startWebhookReceiver(() => secret, { verifyTimestamp: false });
    receivers.push(receiver);
    const created = await t.app.inject({ method: 'POST', url: '/api/guardian/channels', headers: owner.bearer, payload: { kind: 'webhook', name: 'Digest hook', url: receiver.url } });
    secret = created.json().signingSecret as string;
    const id = created.json().channel.id as string;
    const set = await t.app.inject({ method: 'PUT', url: `/api/guardian/channels/${id}/digest`, headers: owner.bearer, payload: { frequency: 'daily', hour: 7 } });
    expect(set.statusCode, set.body).toBe(200);
    const nextAt = new Date(set.json().digest.nextAt as string);
    const inWindow = new Date(nextAt.getTime() - 3_600_000);
    const campaigns = await t.db.query<{ id: string; name: string }>(
      `INSERT INTO campaigns (workspace_id, name, draft_definition) VALUES ($1, 'Spring sale', '{}'), ($1, 'Welcome', '{}') RETURNING id, name`,
      [owner.workspaceId],
    );
    const [spring, welcome] = campaigns.rows;
    await t.db.query(
      `INSERT INTO messages (workspace_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, sent_at)
       SELECT $1, 'digest:' || i, 'campaign', CASE WHEN i <= 4 THEN $2 ELSE $3 END, 'a@example.com', 'r' || i || '@example.com', 's', 'h', 't', 'sent', $4
         FROM generate_series(1, 5) AS i`,
      [owner.workspaceId, spring!.id, welcome!.id, inWindow],
    );
    await t.db.query(`INSERT INTO events (workspace_id, type, name, occurred_at) VALUES ($1, 'email', 'bounced', $2)`, [owner.workspaceId, inWindow]);
    const rule = await insertRule(t.db, owner.workspaceId, []);
    await fireAlert(t.db, owner.workspaceId, rule, inWindow);

    await runDue();
    expect(receiver.bodies).toHaveLength(0);
    clock.set(nextAt);
    await runDue();
    await runDue();
    expect(receiver.unverified).toBe(0);
    expect(receiver.bodies.map((b) => b.body.type)).toEqual(['guardian.digest']);
    expect(receiver.bodies[0]!.body.data).toMatchObject({
      frequency: 'daily',
      to: nextAt.toISOString(),
      from: new Date(nextAt.getTime() - 86_400_000).toISOString(),
      sends: 5,
      bounces: 1,
      bounceRate: 0.2,
      complaints: 0,
      alertsFired: 1,
      alertsResolved: 0,
      topCampaigns: [
        { id: spring!.id, name: 'Spring sale', sends: 4 },
        { id: welcome!.id, name: 'Welcome', sends: 1 },
      ],
    });
    const after = (await t.app.inject({ method: 'GET', url: `/api/guardian/channels/${id}`, headers: owner.bearer })).json();
    expect(new Date(after.digest.nextAt).getTime() - nextAt.getTime()).toBe(86_400_000);
    clock.set(new Date(Date.now()));
  });
});
