/**
 * Guardian's whole path in a real browser (Debian's Chromium via playwright-core), as issue 17's
 * "done when" puts it: a new owner adds a Slack channel (a local Slack stand-in), an email channel
 * and the in-app centre in the web app and names them on the default bounce-rate rule; real signed
 * bounce webhooks arrive through the provider's verified webhook endpoint; the evaluator's next
 * round fires the rule; the notifier tells every channel — the Slack receiver gets the Block Kit
 * message, the email goes through the product's email pipeline into the dev inbox (read in the web
 * app's Inbox), the top bar's notification centre shows it unread; the owner opens the alert from
 * the notification, acknowledges it, and reads who was told when (the alert's "Who was told" and
 * the delivery log with each attempt). axe-core: no serious or critical violation on these pages.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../../src/platform/clock.js';
import { seedSends } from '../guardian-helpers.js';
import { startSlackReceiver, type SlackReceiver } from '../guardian-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations } from './browser.js';

const RULE = 'Bounce rate above 5 %';
const ONCALL = 'oncall@example.com';

describe.skipIf(!browserTestsEnabled)('Guardian from bounce webhooks to Slack, email and in-app, in Chromium', () => {
  let t: TestApp;
  let slack: SlackReceiver;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  const clock = new ManualClock(new Date());
  let browserErrors: string[] = [];
  const secretBytes = randomBytes(24);
  const webhookSecret = `whsec_${secretBytes.toString('base64')}`;

  beforeAll(async () => {
    await ensureWebBuilt();
    slack = await startSlackReceiver();
    // The Slack stand-in listens on this machine: allowed by the operator setting, for tests only.
    t = await createTestApp({ clock, config: { GUARDIAN_SLACK_URL_PREFIXES: slack.prefix } });
    owner = await signUp(t.app, 'Nadia New');
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await slack?.close();
  });

  it('adds Slack, email and in-app channels and names them on the default bounce-rate rule', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Guardian' }).click();
    await page.getByRole('navigation', { name: 'Guardian sections' }).getByRole('link', { name: 'Channels' }).click();
    await page.waitForURL(`${baseUrl}/guardian/channels`);
    const table = page.getByRole('table', { name: 'Notification channels' });

    await page.getByLabel('Kind').selectOption('slack');
    await page.getByLabel('Name').fill('Deliverability Slack');
    await page.getByLabel('Slack incoming-webhook URL').fill(slack.url);
    await page.getByRole('button', { name: 'Add channel' }).click();
    await table.getByRole('cell', { name: 'Deliverability Slack', exact: true }).waitFor();

    await page.getByLabel('Kind').selectOption('email');
    await page.getByLabel('Name').fill('On-call email');
    await page.getByLabel('Recipients').fill(ONCALL);
    await page.getByRole('button', { name: 'Add channel' }).click();
    await table.getByRole('cell', { name: 'On-call email', exact: true }).waitFor();

    await page.getByLabel('Kind').selectOption('in_app');
    await page.getByLabel('Name').fill('Team centre');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await table.getByRole('cell', { name: 'Team centre', exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByRole('navigation', { name: 'Guardian sections' }).getByRole('link', { name: 'Rules' }).click();
    await page.getByRole('table', { name: 'Alert rules' }).getByRole('link', { name: RULE }).click();
    await page.waitForURL(/\/guardian\/rules\/[0-9a-f-]{36}$/);
    for (const name of ['Deliverability Slack', 'On-call email', 'Team centre']) await page.getByRole('checkbox', { name: new RegExp(`^${name}`) }).check();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Save rule' }).click();
    await expect
      .poll(async () => {
        const rules = await t.db.query<{ n: number }>(`SELECT cardinality(channel_ids) AS n FROM guardian_rules WHERE workspace_id = $1 AND default_key = 'bounce_rate'`, [owner.workspaceId]);
        return rules.rows[0]!.n;
      })
      .toBe(3);
  });

  it('fires on real bounce webhooks and tells Slack, the email inbox and the in-app centre', async () => {
    // The workspace's provider, with the webhook signing secret its webhooks are verified with.
    const provider = await t.app.inject({ method: 'POST', url: '/api/providers', headers: owner.bearer, payload: { name: 'Resend', kind: 'resend', enabled: false, credentials: { apiKey: 're_x', webhookSecret } } });
    expect(provider.statusCode).toBe(201);
    const providerId = provider.json().id as string;
    // 200 emails sent in the last minutes, then 20 of them bounce: 10 % over ≥ 100 sends.
    const ids = await seedSends(t.db, owner.workspaceId, 200, new Date(clock.now().getTime() - 5 * 60_000));
    await t.db.query(`UPDATE messages SET provider_message_id = 're_' || id WHERE id = ANY($1::uuid[])`, [ids]);
    clock.advance(10_000);
    for (const id of ids.slice(0, 20)) {
      const body = JSON.stringify({ type: 'email.bounced', created_at: clock.now().toISOString(), data: { email_id: `re_${id}`, to: [`bounce-${id}@example.com`], bounce: { type: 'Permanent', message: 'mailbox unknown' } } });
      const timestamp = Math.floor(clock.now().getTime() / 1000);
      const svixId = `msg_${id}`;
      const signature = `v1,${createHmac('sha256', secretBytes).update(`${svixId}.${timestamp}.${body}`).digest('base64')}`;
      const response = await t.app.inject({ method: 'POST', url: `/webhooks/email/${providerId}`, headers: { 'content-type': 'application/json', 'svix-id': svixId, 'svix-timestamp': String(timestamp), 'svix-signature': signature }, payload: body });
      expect(response.statusCode).toBe(200);
    }

    // Within one interval: the evaluator's round fires the rule, the notifier delivers, the email pipeline sends.
    clock.advance(60_000);
    const round = await t.runtime.guardianEvaluator.runRound();
    expect(round.fired).toBe(1);
    await t.runtime.deps.guardianNotify.runDue();
    while ((await t.runtime.deps.email.sender.runOnce()) > 0) {
      // drain the email outbox into the dev inbox
    }

    // Slack: one Block Kit message with the severity, signal, value and a link back to the alert.
    expect(slack.messages).toHaveLength(1);
    const message = slack.messages[0]!.body;
    expect(message.text).toContain(`Alert firing: ${RULE} (high)`);
    const blocks = JSON.stringify(message.blocks);
    expect(message.blocks[0]).toMatchObject({ type: 'header' });
    expect(blocks).toContain('*Severity*');
    expect(blocks).toContain('bounce_rate');
    expect(blocks).toContain('10 %');
    expect(blocks).toMatch(/\/guardian\/alerts\/[0-9a-f-]{36}/);

    // The top bar's notification centre: one unread, opened from there.
    await page.goto(`${baseUrl}/guardian/alerts`);
    expect((await page.getByTestId('unread-count').textContent())?.trim()).toBe('1 unread');
    const alertLink = page.getByRole('table', { name: 'Alerts' }).getByRole('link', { name: RULE });
    await alertLink.waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: /Notifications/ }).click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByText(`Alert firing: ${RULE} (high)`).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await panel.getByRole('button', { name: `Mark read: Alert firing: ${RULE} (high)` }).click();
    await page.getByTestId('unread-count').waitFor({ state: 'detached' });

    // Email: in the dev inbox, read in the web app.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' }).click();
    await page.waitForURL(`${baseUrl}/inbox`);
    const mail = page.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: new RegExp(`\\[Guardian\\] Alert firing: ${RULE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(high\\)`) });
    await mail.waitFor();
    expect(await mail.textContent()).toContain(`To ${ONCALL}`);
    await mail.click();
    await page.getByRole('tab', { name: 'Text' }).click();
    await expect.poll(() => page.getByRole('tabpanel').textContent()).toContain('Signal bounce_rate: 10 % > threshold 5 % (volume 200)');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('acknowledges the alert and reads who was told when', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Guardian' }).click();
    await page.getByRole('navigation', { name: 'Guardian sections' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('table', { name: 'Alerts' }).getByRole('link', { name: RULE }).click();
    await page.waitForURL(/\/guardian\/alerts\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Alert timeline' }).textContent()).toContain('Acknowledged');

    // Who was told, when: each channel delivered, with its time.
    const told = page.getByRole('table', { name: 'Who was told' });
    await expect.poll(() => told.getByRole('row').count()).toBe(4);
    for (const channel of ['Deliverability Slack', 'On-call email', 'Team centre']) {
      const row = told.getByRole('row').filter({ hasText: channel });
      expect(await row.textContent()).toContain('Delivered');
    }
    expect(await seriousAxeViolations(page)).toEqual([]);

    // The delivery log: the Slack delivery's attempt with its response code.
    await page.getByRole('link', { name: 'Delivery log' }).first().click();
    await page.waitForURL(`${baseUrl}/guardian/deliveries`);
    const log = page.getByRole('table', { name: 'Deliveries' });
    await log.getByRole('cell', { name: 'Deliverability Slack', exact: true }).waitFor();
    await log.getByRole('button', { name: new RegExp(`1 attempt of Alert firing: .* to Deliverability Slack`) }).click();
    await page.getByRole('table', { name: 'Attempts' }).getByRole('cell', { name: '200', exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    const deliveries = await t.db.query<{ channel_kind: string; status: string }>(`SELECT channel_kind, status FROM guardian_deliveries WHERE workspace_id = $1 AND purpose = 'alert'`, [owner.workspaceId]);
    expect(deliveries.rows.map((d) => `${d.channel_kind}:${d.status}`).sort()).toEqual(['email:sent', 'in_app:sent', 'slack:sent']);
    expect(browserErrors).toEqual([]);
  });
});
